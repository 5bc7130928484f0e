//go:build e2e

package lbsync_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
	"github.com/stackctl/stackctl/internal/lbsync"
	"github.com/stackctl/stackctl/internal/tmpl"
)

// lbTemplate is the design's template in a full server block.
const lbTemplate = `upstream web { {{range service "web"}}server {{.Address}}:{{.Port}};{{else}}server 127.0.0.1:65535 down;{{end}} }

server {
    listen 80;
    location / {
        proxy_pass http://web;
        proxy_connect_timeout 1s;
        proxy_next_upstream error timeout http_502 http_503;
    }
}
`

// rejectedTemplate renders a config nginx -t refuses.
const rejectedTemplate = lbTemplate + "server { listen 81; proxy_pass_everything on; }\n"

const (
	workers      = 20
	lbConfigPath = "/etc/nginx/conf.d/stackctl.conf"
	waitLong     = 90 * time.Second
)

// lbStack is a test's Consul server, workers and load balancer container,
// the LB running `stackctl lb run` exactly as a stack's does.
type lbStack struct {
	t       *testing.T
	e       *e2e.Env
	consul  *api.Client
	consulC *e2e.Consul
	workers []*e2e.Container
	lb      *e2e.Container
	prefix  string // stackctl/<stack>/lb
}

func TestLoadBalancer(t *testing.T) {
	s := startLBStack(t)
	t.Run("renders 0, 1 and 20 passing registrations", s.testRenders)
	t.Run("a killed worker leaves the upstream and returns", s.testKillAndReturn)
	t.Run("50 reloads under load fail no request", s.testReloadsUnderLoad)
	t.Run("a config nginx rejects is never loaded", s.testRejectedConfig)
	t.Run("serves through a Consul restart and follows it after", s.testConsulRestart)
}

func startLBStack(t *testing.T) *lbStack {
	e := e2e.New(t)
	c := e.StartConsul()
	s := &lbStack{t: t, e: e, consul: c.Client, consulC: c, prefix: "stackctl/" + e.Stack + "/lb"}
	s.put(s.prefix+"/template", lbTemplate)
	s.lb = e.Start(e2e.ContainerSpec{
		Name:  "lb",
		Image: images.Nginx,
		Cmd: []string{"stackctl", "lb", "run",
			"--consul", "http://" + c.Name + ":8500",
			"--template-key", s.prefix + "/template",
			"--status-key", s.prefix + "/status",
			"--", "nginx", "-g", "daemon off;"},
		Ports: []string{"80"},
	})
	// No worker yet: the template's {{else}} case, a down server, serves 502.
	e.WaitHTTP(s.lb, "80", "/", http.StatusBadGateway)
	for i := 1; i <= workers; i++ {
		s.workers = append(s.workers, e.StartApp(fmt.Sprintf("web-%d", i), images.PrimesV1, "PRIME_DIGITS=6"))
	}
	return s
}

func (s *lbStack) testRenders(t *testing.T) {
	st := s.waitStatus(t, "the empty render", func(st lbsync.Status) bool { return st.OK && st.Instances == 0 })
	s.assertRendered(t, st, nil)

	s.register(t, s.workers[0])
	s.waitPassing(t, 1)
	st = s.waitStatus(t, "1 instance", func(st lbsync.Status) bool { return st.OK && st.Instances == 1 })
	s.assertRendered(t, st, s.workers[:1])

	for _, w := range s.workers[1:] {
		s.register(t, w)
	}
	s.waitPassing(t, workers)
	st = s.waitStatus(t, "20 instances", func(st lbsync.Status) bool { return st.OK && st.Instances == workers })
	s.assertRendered(t, st, s.workers)
	s.e.WaitHTTP(s.lb, "80", "/", http.StatusOK)
}

// assertRendered checks that the LB container's config is the template
// rendered for exactly want, and that `stackctl lb render`'s code path,
// run here against the same Consul, renders the same bytes.
func (s *lbStack) assertRendered(t *testing.T, st lbsync.Status, want []*e2e.Container) {
	t.Helper()
	expected := expectedConfig(want)
	if got := s.lbConfig(t); got != expected {
		t.Errorf("LB config:\n%s\nwant:\n%s", got, expected)
	}
	client, err := consulapi.NewWatcher("http://"+s.consulC.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := tmpl.Parse("nginx.ctmpl", lbTemplate)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := tp.Render(t.Context(), client)
	if err != nil || string(out) != expected {
		t.Errorf("host render = %q, %v; want the LB's config", out, err)
	}
	if st.ConfigSHA256 == "" {
		t.Errorf("status without config_sha256: %+v", st)
	}
}

func expectedConfig(ws []*e2e.Container) string {
	var ips []string
	for _, w := range ws {
		ips = append(ips, w.IP)
	}
	slices.Sort(ips) // all registered on the Consul server's node: ordered by address
	servers := "server 127.0.0.1:65535 down;"
	if len(ips) > 0 {
		servers = "server " + strings.Join(ips, ":5000;server ") + ":5000;"
	}
	return "upstream web { " + servers + " }" + lbTemplate[strings.Index(lbTemplate, "\n"):]
}

// testKillAndReturn kills each worker in turn and starts it again, timing
// how long the LB takes to drop it and to take it back.
func (s *lbStack) testKillAndReturn(t *testing.T) {
	var removal, readd []time.Duration
	for _, w := range s.workers {
		killed := time.Now()
		if err := s.e.Docker.ContainerKill(t.Context(), w.ID, "KILL"); err != nil {
			t.Fatal(err)
		}
		s.waitStatus(t, w.Name+" to leave", func(st lbsync.Status) bool { return st.OK && st.Instances == workers-1 })
		removal = append(removal, time.Since(killed))
		if cfg := s.lbConfig(t); strings.Contains(cfg, w.IP+":") {
			t.Fatalf("killed %s (%s) is still in the LB config:\n%s", w.Name, w.IP, cfg)
		}

		s.restart(t, w)
		s.waitPassing(t, workers)
		passing := time.Now()
		s.waitStatus(t, w.Name+" to return", func(st lbsync.Status) bool { return st.OK && st.Instances == workers })
		readd = append(readd, time.Since(passing))
		if cfg := s.lbConfig(t); !strings.Contains(cfg, w.IP+":") {
			t.Fatalf("restarted %s (%s) is not back in the LB config:\n%s", w.Name, w.IP, cfg)
		}
	}
	t.Logf("kill -> removed from the upstream, %d kills: p50 %s, p95 %s, max %s (check interval 1s, timeout 1s, wait 250ms:2s)",
		len(removal), percentile(removal, 50), percentile(removal, 95), percentile(removal, 100))
	t.Logf("check passing -> back in the upstream, %d starts: p50 %s, p95 %s, max %s",
		len(readd), percentile(readd, 50), percentile(readd, 95), percentile(readd, 100))
}

// restart starts a killed worker again, registering it anew if Docker gave
// it another address.
func (s *lbStack) restart(t *testing.T, w *e2e.Container) {
	t.Helper()
	if err := s.e.Docker.ContainerStart(t.Context(), w.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := s.e.Docker.ContainerInspect(t.Context(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ip := info.NetworkSettings.Networks[s.e.Network].IPAddress; ip != w.IP {
		t.Logf("%s came back at %s (was %s)", w.Name, ip, w.IP)
		w.IP = ip
		s.register(t, w)
	}
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)].Round(time.Millisecond)
}

// testReloadsUnderLoad flaps workers in and out of maintenance, waiting for
// each change to be reloaded, while steady traffic runs through the LB.
func (s *lbStack) testReloadsUnderLoad(t *testing.T) {
	const reloads = 50
	before := s.waitStatus(t, "a settled LB", func(st lbsync.Status) bool { return st.OK && st.Instances == workers })
	load := s.startLoad(t, 4)
	last := before.Reloads
	for i := range reloads {
		w := s.workers[(i/2)%workers]
		var err error
		if i%2 == 0 {
			err = s.consul.Agent().EnableServiceMaintenance(w.Name, "e2e flap")
		} else {
			err = s.consul.Agent().DisableServiceMaintenance(w.Name)
		}
		if err != nil {
			t.Fatal(err)
		}
		st := s.waitStatus(t, fmt.Sprintf("reload %d", i+1), func(st lbsync.Status) bool { return st.Reloads > last })
		last = st.Reloads
	}
	load.stopAndCheck(t)
	if got := last - before.Reloads; got < reloads {
		t.Errorf("%d reloads, want %d", got, reloads)
	}
}

// testRejectedConfig puts a template whose output nginx -t refuses: the
// old config keeps serving and the status says why.
func (s *lbStack) testRejectedConfig(t *testing.T) {
	before := s.waitStatus(t, "a settled LB", func(st lbsync.Status) bool { return st.OK && st.Instances == workers })
	good := s.lbConfig(t)
	load := s.startLoad(t, 2)
	s.put(s.prefix+"/template", rejectedTemplate)
	st := s.waitStatus(t, "the rejection", func(st lbsync.Status) bool { return !st.OK })
	t.Logf("status after the rejection: %+v", st)
	if !strings.Contains(st.Error, "proxy_pass_everything") || !strings.Contains(st.Error, "nginx -t") {
		t.Errorf("status error %q does not carry nginx -t's complaint", st.Error)
	}
	if st.ConfigSHA256 != before.ConfigSHA256 || st.RenderedSHA256 == "" || st.Reloads != before.Reloads {
		t.Errorf("status = %+v, want the old config (%s) kept without a reload", st, before.ConfigSHA256)
	}
	if cfg := s.lbConfig(t); cfg != good {
		t.Errorf("LB config changed to:\n%s", cfg)
	}
	time.Sleep(time.Second) // traffic keeps flowing on the old config
	load.stopAndCheck(t)

	s.put(s.prefix+"/template", lbTemplate)
	s.waitStatus(t, "the good template back", func(st lbsync.Status) bool { return st.OK })
}

// testConsulRestart restarts the Consul container under load. Its server
// keeps its data (-data-dir on the container's file system survives a
// restart), so the registrations come back; with -dev they would be lost and
// the test would have to register the workers again.
func (s *lbStack) testConsulRestart(t *testing.T) {
	s.waitStatus(t, "a settled LB", func(st lbsync.Status) bool { return st.OK && st.Instances == workers })
	load := s.startLoad(t, 4)
	restarted := time.Now()
	if err := s.e.Docker.ContainerRestart(t.Context(), s.consulC.ID, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	s.reconnectConsul(t)
	s.waitPassing(t, workers)
	st := s.waitStatus(t, "a render after the restart", func(st lbsync.Status) bool {
		return st.RenderedAt.After(restarted) && st.OK && st.Instances == workers
	})
	t.Logf("first status after the restart: %+v", st)

	// It follows changes again. Removals wait out --settle (10s) after
	// Consul's return, in case they are restarted checks not yet run.
	w := s.workers[0]
	if err := s.consul.Agent().EnableServiceMaintenance(w.Name, "e2e after restart"); err != nil {
		t.Fatal(err)
	}
	asked := time.Now()
	s.waitStatus(t, w.Name+" to leave", func(st lbsync.Status) bool { return st.OK && st.Instances == workers-1 })
	t.Logf("removal %s after Consul's return took %s", w.Name, time.Since(asked).Round(time.Millisecond))
	if cfg := s.lbConfig(t); strings.Contains(cfg, w.IP+":") {
		t.Errorf("%s in maintenance is still in the LB config", w.Name)
	}
	if err := s.consul.Agent().DisableServiceMaintenance(w.Name); err != nil {
		t.Fatal(err)
	}
	s.waitStatus(t, w.Name+" to return", func(st lbsync.Status) bool { return st.OK && st.Instances == workers })
	if cfg := s.lbConfig(t); !strings.Contains(cfg, w.IP+":") {
		t.Errorf("%s out of maintenance is not back in the LB config", w.Name)
	}
	load.stopAndCheck(t)
	if logs := s.e.Logs(s.lb); !strings.Contains(logs, "consul answers again") {
		t.Errorf("the LB never logged Consul's return:\n%s", logs)
	}
}

// reconnectConsul points the test's client at the restarted Consul, whose
// published port may have changed, and waits for it to lead again.
func (s *lbStack) reconnectConsul(t *testing.T) {
	t.Helper()
	info, err := s.e.Docker.ContainerInspect(t.Context(), s.consulC.ID)
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	for _, b := range info.NetworkSettings.Ports["8500/tcp"] {
		addr = "127.0.0.1:" + b.HostPort
	}
	s.consul, err = api.NewClient(&api.Config{Address: addr, Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	s.consulC.Addr = addr
	deadline := time.Now().Add(waitLong)
	for {
		if leader, err := s.consul.Status().Leader(); err == nil && leader != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted Consul elected no leader")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *lbStack) put(key, value string) {
	s.t.Helper()
	if _, err := s.consul.KV().Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		s.t.Fatalf("put %s: %v", key, err)
	}
}

// register registers a worker as apply does: on the Consul server's agent,
// at the container's address, with an HTTP check Consul runs every second.
func (s *lbStack) register(t *testing.T, w *e2e.Container) {
	t.Helper()
	err := s.consul.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: w.Name, Name: "web", Address: w.IP, Port: 5000,
		Meta: map[string]string{"stackctl_stack": s.e.Stack},
		Check: &api.AgentServiceCheck{
			HTTP: fmt.Sprintf("http://%s:5000/healthz", w.IP), Interval: "1s", Timeout: "1s",
		},
	})
	if err != nil {
		t.Fatalf("register %s: %v", w.Name, err)
	}
}

// waitPassing waits, with blocking queries, for n passing web instances.
func (s *lbStack) waitPassing(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	var index uint64
	for {
		entries, meta, err := s.consul.Health().Service("web", "", true, &api.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second})
		if err == nil && len(entries) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d passing web instances, want %d (%v)", len(entries), n, err)
		}
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			index = 0
			continue
		}
		index = meta.LastIndex
	}
}

// waitStatus waits, with blocking queries on the status key, for a status
// the LB wrote that satisfies ok.
func (s *lbStack) waitStatus(t *testing.T, what string, ok func(lbsync.Status) bool) lbsync.Status {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	var index uint64
	var last lbsync.Status
	for time.Now().Before(deadline) {
		pair, meta, err := s.consul.KV().Get(s.prefix+"/status", &api.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second})
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			index = 0
			continue
		}
		index = meta.LastIndex
		if pair == nil {
			continue
		}
		st, err := lbsync.ParseStatus(pair.Value)
		if err != nil {
			t.Fatalf("status %s: %v", pair.Value, err)
		}
		if ok(st) {
			return st
		}
		last = st
	}
	t.Fatalf("timed out waiting for %s; last status %+v\nLB logs:\n%s", what, last, tail(s.e.Logs(s.lb), 30))
	return last
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// lbConfig reads the config file out of the LB container.
func (s *lbStack) lbConfig(t *testing.T) string {
	t.Helper()
	rc, _, err := s.e.Docker.CopyFromContainer(t.Context(), s.lb.ID, lbConfigPath)
	if err != nil {
		t.Fatalf("read %s from the LB: %v", lbConfigPath, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// load is steady traffic through the LB's published port from a few
// goroutines, bounded in count, until stopped.
type load struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []string
	started  time.Time
}

const maxRequestsPerWorker = 200_000

func (s *lbStack) startLoad(t *testing.T, n int) *load {
	l := &load{stop: make(chan struct{}), started: time.Now()}
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for range maxRequestsPerWorker {
				select {
				case <-l.stop:
					return
				default:
				}
				l.one(t.Context(), s.lb)
			}
		}()
	}
	t.Cleanup(l.halt)
	return l
}

func (l *load) one(ctx context.Context, lb *e2e.Container) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := e2e.Get(ctx, lb, "80", "/")
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d: %q", res.StatusCode, strings.TrimSpace(res.Body))
	}
	if err == nil {
		l.ok.Add(1)
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	l.fail.Add(1)
	l.mu.Lock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, time.Now().Format("15:04:05.000")+" "+err.Error())
	}
	l.mu.Unlock()
}

func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func (l *load) stopAndCheck(t *testing.T) {
	t.Helper()
	l.halt()
	elapsed := time.Since(l.started)
	t.Logf("load: %d ok, %d failed in %s (%.0f req/s)", l.ok.Load(), l.fail.Load(), elapsed.Round(time.Millisecond), float64(l.ok.Load())/elapsed.Seconds())
	if l.fail.Load() > 0 || l.ok.Load() == 0 {
		t.Errorf("%d requests failed (%d ok); first errors:\n%s", l.fail.Load(), l.ok.Load(), strings.Join(l.errs, "\n"))
	}
}
