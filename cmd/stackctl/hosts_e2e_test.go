//go:build e2e

package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
)

// Issue 12's first acceptance check, end to end on three boxes (Docker in
// Docker, docs/boxes.md): a stack of 12 workers over three hosts, a Consul
// server on each, the LB on the first, applied from nothing by the CLI.

// hostsStack is a stack over boxes.
type hostsStack struct {
	*e2eStack
	boxes   []e2e.Box
	token   string // the cluster's management token (CONSUL_HTTP_TOKEN)
	clients map[string]*api.Client
	// consulImage is the stack file's consul.image; images.Consul unless
	// a test changes it.
	consulImage string
}

func newHostsStack(t *testing.T, n int) *hostsStack {
	s := &hostsStack{e2eStack: newE2EStack(t)}
	s.boxes = s.env.StartBoxes(n)
	s.token = newUUID(t)
	s.vars = append(s.vars, "CONSUL_HTTP_TOKEN="+s.token)
	tmpl, err := os.ReadFile(filepath.Join(repoRoot(t), "stacks/primes/nginx.ctmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "nginx.ctmpl"), tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func newUUID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func repoRoot(t *testing.T) string {
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// write writes the stack file over the boxes, without the hosts in skip.
func (s *hostsStack) write(replicas int, image string, skip ...string) {
	s.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: %s\nhosts:\n", s.name)
	for i, box := range s.boxes {
		name := fmt.Sprintf("box%d", i+1)
		if contains(skip, name) {
			continue
		}
		fmt.Fprintf(&b, "  - {name: %s, docker: %q, address: %s, insecure: true}\n", name, box.DockerHost, box.Address)
	}
	fmt.Fprintf(&b, `consul:
  image: %s
  servers: [box1, box2, box3]
services:
  web:
    image: %s
    replicas: %d
    port: 5000
    env: {PRIME_DIGITS: "8"}
    check: {http: /healthz, interval: 1s, timeout: 1s}
    update: {parallelism: 4, order: start-first, healthy_deadline: 30s, on_failure: rollback}
lb:
  image: %s
  template: nginx.ctmpl
  host: box1
  ports: ["%s:8080:80"]
`, cmp.Or(s.consulImage, images.Consul), image, replicas, images.Nginx, s.boxes[0].Address)
	if err := os.WriteFile(s.file, []byte(b.String()), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// workersPerBox counts the running workers of the stack on each box.
func (s *hostsStack) workersPerBox() []int {
	s.t.Helper()
	out := make([]int, len(s.boxes))
	for i, b := range s.boxes {
		cs, err := s.env.BoxClient(b).ContainerList(s.t.Context(), container.ListOptions{Filters: filters.NewArgs(
			filters.Arg("label", "io.stackctl.stack="+s.name), filters.Arg("label", "io.stackctl.role=worker"))})
		if err != nil {
			s.t.Fatalf("list workers on %s: %v", b.Name, err)
		}
		out[i] = len(cs)
	}
	return out
}

// owned counts every container of the stack on every box, running or not.
func (s *hostsStack) ownedOnBoxes() int {
	s.t.Helper()
	n := 0
	for _, b := range s.boxes {
		cs, err := s.env.BoxClient(b).ContainerList(s.t.Context(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", "io.stackctl.stack="+s.name))})
		if err != nil {
			s.t.Fatalf("list containers on %s: %v", b.Name, err)
		}
		n += len(cs)
	}
	return n
}

// consul is a client of box i's agent, with token ("" for none): one per
// agent and token, since Consul limits the connections one address holds.
func (s *hostsStack) consul(i int, token string) *api.Client {
	s.t.Helper()
	key := fmt.Sprintf("%d/%s", i, token)
	if c, ok := s.clients[key]; ok {
		return c
	}
	c, err := api.NewClient(&api.Config{Address: s.boxes[i].Address + ":8500", Token: token})
	if err != nil {
		s.t.Fatal(err)
	}
	if s.clients == nil {
		s.clients = map[string]*api.Client{}
	}
	s.clients[key] = c
	return c
}

// distinctWorkers sends n requests through the LB and counts the workers
// (X-Hostname) that answered; any answer but 200 fails the test.
func (s *hostsStack) distinctWorkers(n int) int {
	s.t.Helper()
	seen := map[string]bool{}
	client := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + s.boxes[0].Address + ":8080/"
	for range n {
		res, err := client.Get(url)
		if err != nil {
			s.t.Fatalf("GET %s: %v", url, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			s.t.Fatalf("GET %s: %s", url, res.Status)
		}
		seen[res.Header.Get("X-Hostname")] = true
	}
	return len(seen)
}

func TestThreeBoxesRunTwelveWorkersBehindOneLB(t *testing.T) {
	s := newHostsStack(t, 3)
	s.write(12, images.PrimesV1)

	out := s.mustRun("plan", "-f", s.file)
	for _, want := range []string{"image copied to host box1", "image copied to host box2", "image copied to host box3",
		"on box1, host port 20000"} {
		if !strings.Contains(out, want) {
			t.Errorf("the first plan does not say %q:\n%s", want, out)
		}
	}

	out = s.mustRun("apply", "-f", s.file, "--auto-approve")
	t.Logf("apply:\n%s", out)
	if got := s.workersPerBox(); fmt.Sprint(got) != "[4 4 4]" {
		t.Errorf("workers per box %v, want [4 4 4]", got)
	}
	s.assertCluster()
	st := s.statusJSON()
	if len(st.Consul.Peers) != 3 || st.Consul.Leader == "" || len(st.Hosts) != 3 {
		t.Errorf("status: %d raft peers, leader %q, %d hosts; want 3, a leader, 3", len(st.Consul.Peers), st.Consul.Leader, len(st.Hosts))
	}
	for _, h := range st.Hosts {
		if !h.Reached || !h.Server || h.Workers != 4 || h.AgentState != "running" {
			t.Errorf("status of %s: %+v; want reached, a running server, 4 workers", h.Name, h)
		}
	}
	human := s.mustRun("status", "-f", s.file)
	t.Logf("status:\n%s", human)
	if n := s.distinctWorkers(200); n != 12 {
		t.Errorf("200 requests through the LB reached %d distinct workers, want 12", n)
	}
	if _, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode"); code != 0 {
		out, errOut, _ := s.run("plan", "-f", s.file)
		t.Errorf("plan after apply exits %d, want 0 (no changes):\n%s%s", code, out, errOut)
	}
	for _, secret := range []string{s.token} {
		if strings.Contains(out, secret) {
			t.Errorf("apply printed the management token")
		}
	}

	s.replaceConsulUnderLoad()

	s.mustRun("destroy", "-f", s.file, "--auto-approve")
	if n := s.ownedOnBoxes(); n != 0 {
		t.Errorf("destroy left %d containers of the stack on the boxes", n)
	}
}

// replaceConsulUnderLoad changes the Consul image (a new tag of the same
// build, as a patch release would be): the three servers are replaced one
// at a time, keeping the quorum and the cluster's data, under wrk.
func (s *hostsStack) replaceConsulUnderLoad() {
	t := s.t
	t.Helper()
	tag := images.Consul + "-" + s.name
	if err := s.env.Docker.ImageTag(t.Context(), images.Consul, tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = s.env.Docker.ImageRemove(context.WithoutCancel(t.Context()), tag, image.RemoveOptions{})
	})
	s.consulImage = tag
	s.write(12, images.PrimesV1)
	out := s.mustRun("plan", "-f", s.file)
	if n := strings.Count(out, "-/+ consul "); n != 3 {
		t.Errorf("a new Consul image replaces %d agents in the plan, want 3:\n%s", n, out)
	}
	keysBefore, err := s.consul(0, s.token).Operator().KeyringList(nil)
	if err != nil {
		t.Fatal(err)
	}
	l := s.startLoad(180 * time.Second)
	out = s.mustRun("apply", "-f", s.file, "--auto-approve")
	report, non2xx, sockErrs := l.end(t)
	t.Logf("apply of a new Consul image:\n%s", tail(out, 12))
	t.Logf("wrk while the Consul servers were replaced one by one:\n%s", report)
	if non2xx != 0 || sockErrs != 0 {
		t.Errorf("%d non-2xx and %d socket errors while Consul was replaced, want 0 and 0", non2xx, sockErrs)
	}
	s.assertCluster()
	keysAfter, err := s.consul(0, s.token).Operator().KeyringList(nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keyNames(keysBefore)) != fmt.Sprint(keyNames(keysAfter)) {
		t.Errorf("the gossip keyring changed with the agents")
	}
	for _, b := range s.boxes {
		c, err := s.env.BoxClient(b).ContainerInspect(t.Context(), s.name+"-consul-"+boxName(s, b))
		if err != nil || c.Config.Image != tag {
			t.Errorf("the agent on %s runs %v (%v), want %s", b.Name, c.Config, err, tag)
		}
	}
	if entries, _, err := s.consul(0, s.token).Health().Service("web", "", true, nil); err != nil || len(entries) != 12 {
		t.Errorf("%d workers pass right after Consul was replaced (%v), want 12: an agent's workers were left failing", len(entries), err)
	}
	s.waitPassing(12, 30*time.Second)
	if n := s.distinctWorkers(200); n != 12 {
		t.Errorf("200 requests reached %d distinct workers after Consul was replaced, want 12", n)
	}
	if _, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after the Consul replacement exits %d, want 0", code)
	}
}

// keyNames are the keys of every keyring, sorted.
func keyNames(rings []*api.KeyringResponse) []string {
	var out []string
	for _, r := range rings {
		for k := range r.Keys {
			out = append(out, r.Datacenter+"/"+k)
		}
	}
	sort.Strings(out)
	return out
}

// boxName is a box's host name in the stack file: box1, box2, ...
func boxName(s *hostsStack, b e2e.Box) string {
	for i, x := range s.boxes {
		if x.Name == b.Name {
			return fmt.Sprintf("box%d", i+1)
		}
	}
	return ""
}

// assertCluster checks that Consul runs as a cluster of three servers with a
// leader, and that it refuses a caller without a token.
func (s *hostsStack) assertCluster() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 30*time.Second)
	defer cancel()
	cfg, err := s.consul(1, s.token).Operator().RaftGetConfiguration((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		s.t.Fatalf("raft configuration: %v", err)
	}
	voters, leaders := 0, 0
	for _, srv := range cfg.Servers {
		if srv.Voter {
			voters++
		}
		if srv.Leader {
			leaders++
		}
	}
	if voters != 3 || leaders != 1 {
		s.t.Errorf("raft has %d voters and %d leaders, want 3 and 1: %+v", voters, leaders, cfg.Servers)
	}
	if _, err := s.consul(2, "").Agent().Self(); err == nil || !strings.Contains(err.Error(), "403") {
		s.t.Errorf("an agent read without a token was not refused with 403: %v", err)
	}
	if _, err := s.consul(2, "").KV().Put(&api.KVPair{Key: "stackctl/" + s.name + "/probe", Value: []byte("x")}, nil); err == nil ||
		!strings.Contains(err.Error(), "403") {
		s.t.Errorf("a KV write without a token was not refused with 403: %v", err)
	}
}

// load is wrk -t2 -c16 --timeout 3s against the LB, as the issue measures,
// in the background.
type load struct {
	cmd  *exec.Cmd
	out  strings.Builder
	stop context.CancelFunc
}

func (s *hostsStack) startLoad(d time.Duration) *load {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), d+30*time.Second)
	l := &load{stop: cancel}
	l.cmd = exec.CommandContext(ctx, "wrk", "-t2", "-c16", "--timeout", "3s", "-d", fmt.Sprintf("%ds", int(d.Seconds())),
		"http://"+s.boxes[0].Address+":8080/")
	l.cmd.Stdout, l.cmd.Stderr = &l.out, &l.out
	if err := l.cmd.Start(); err != nil {
		cancel()
		s.t.Fatal(err)
	}
	return l
}

// end stops wrk (it reports what it did so far on SIGINT) and returns its
// report and the non-2xx responses and socket errors in it.
func (l *load) end(t *testing.T) (report string, non2xx, socketErrors int) {
	t.Helper()
	defer l.stop()
	_ = l.cmd.Process.Signal(os.Interrupt)
	if err := l.cmd.Wait(); err != nil {
		t.Fatalf("wrk: %v\n%s", err, l.out.String())
	}
	report = l.out.String()
	if !strings.Contains(report, "requests in") {
		t.Fatalf("wrk made no requests:\n%s", report)
	}
	for _, line := range strings.Split(report, "\n") {
		line = strings.TrimSpace(line)
		var a, b, c, d int
		if n, _ := fmt.Sscanf(line, "Non-2xx or 3xx responses: %d", &a); n == 1 {
			non2xx = a
		}
		if n, _ := fmt.Sscanf(line, "Socket errors: connect %d, read %d, write %d, timeout %d", &a, &b, &c, &d); n == 4 {
			socketErrors = a + b + c + d
		}
	}
	return report, non2xx, socketErrors
}

// waitPassing waits until Consul's catalog, which the LB follows (its
// nginx re-resolves every second through the LB's own DNS, resolve mode),
// has n passing instances of web, and returns when it saw them. While the
// cluster elects a new leader (its leader's host went down) reads fail for
// a few seconds.
func (s *hostsStack) waitPassing(n int, within time.Duration) time.Time {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		entries, _, err := s.consul(0, s.token).Health().Service("web", "", true, nil)
		if err == nil && len(entries) == n {
			return time.Now()
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("Consul has %d passing instances of web after %s, want %d (%v)", len(entries), within, n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stopBox stops a box as a machine that went down; startBox brings it back
// and waits for its engine.
func (s *hostsStack) stopBox(i int) {
	s.t.Helper()
	if err := s.env.Docker.ContainerStop(s.t.Context(), s.boxes[i].Name, container.StopOptions{}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *hostsStack) startBox(i int) {
	s.t.Helper()
	if err := s.env.Docker.ContainerStart(s.t.Context(), s.boxes[i].Name, container.StartOptions{}); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := s.env.BoxClient(s.boxes[i]).Ping(s.t.Context()); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the engine of %s did not come back", s.boxes[i].Name)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// workerSlots maps each running worker to its box number (1-based).
func (s *hostsStack) workerBoxes() map[string]int {
	s.t.Helper()
	out := map[string]int{}
	for i, b := range s.boxes {
		cs, err := s.env.BoxClient(b).ContainerList(s.t.Context(), container.ListOptions{Filters: filters.NewArgs(
			filters.Arg("label", "io.stackctl.stack="+s.name), filters.Arg("label", "io.stackctl.role=worker"))})
		if err != nil {
			continue // a box that is down
		}
		for _, c := range cs {
			out[strings.TrimPrefix(c.Names[0], "/")] = i + 1
		}
	}
	return out
}

// Issue 12's host-loss checks: a box lost under load, the stack moved off
// it with --exclude-host, the box back and exactly its workers moved home.
func TestAHostLostUnderLoadIsSurvivedAndItsWorkersGoHome(t *testing.T) {
	s := newHostsStack(t, 3)
	s.write(12, images.PrimesV1)
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	home := s.workerBoxes()
	s.waitPassing(12, 30*time.Second)

	l := s.startLoad(60 * time.Second)
	time.Sleep(2 * time.Second)
	lost := time.Now()
	s.stopBox(1)
	dropped := s.waitPassing(8, 60*time.Second)
	t.Logf("box2 stopped; Consul took its 4 workers out %.1fs later (nginx re-resolves within 2s of that)", dropped.Sub(lost).Seconds())
	time.Sleep(2 * time.Second) // nginx's valid=1s, and the lookup after it
	report, non2xx, sockErrs := l.end(t)
	t.Logf("wrk while box2 went down (until its workers left the LB):\n%s", report)
	t.Logf("before the drop: %d non-2xx, %d socket errors", non2xx, sockErrs)

	l = s.startLoad(120 * time.Second)
	out := s.mustRun("plan", "-f", s.file)
	if !strings.Contains(out, "Host box2 is unreachable") {
		t.Errorf("plan does not name box2 unreachable:\n%s", out)
	}
	st := s.statusJSON()
	for _, h := range st.Hosts {
		if h.Name == "box2" && (h.Reached || !strings.Contains(h.Held, "4 instances")) {
			t.Errorf("status of box2 while it is down: %+v; want unreachable, holding 4 instances", h)
		}
	}
	if st.Consul.Leader == "" {
		t.Errorf("status shows no Consul leader with box2 down")
	}
	t.Logf("status with box2 down:\n%s", s.mustRun("status", "-f", s.file))
	_, errOut, code := s.run("apply", "-f", s.file, "--auto-approve")
	if code == 0 || !strings.Contains(errOut, "host box2 is unreachable") || !strings.Contains(errOut, "--exclude-host") {
		t.Errorf("apply with box2 down: exit %d, want a refusal naming box2 and --exclude-host:\n%s", code, errOut)
	}
	out = s.mustRun("apply", "-f", s.file, "--auto-approve", "--exclude-host", "box2")
	t.Logf("apply --exclude-host box2:\n%s", out)
	moved := s.workerBoxes()
	if len(moved) != 12 {
		t.Errorf("%d workers run after apply --exclude-host box2, want 12: %v", len(moved), moved)
	}
	for name, box := range moved {
		if box == 2 {
			t.Errorf("%s runs on box2", name)
		}
	}
	s.waitPassing(12, 30*time.Second)
	report, non2xx, sockErrs = l.end(t)
	t.Logf("wrk from the drop on, through plan and apply --exclude-host box2:\n%s", report)
	if non2xx != 0 {
		t.Errorf("%d non-2xx responses after the LB dropped box2's workers, want 0", non2xx)
	}
	if n := s.distinctWorkers(200); n != 12 {
		t.Errorf("200 requests reached %d distinct workers after the move, want 12", n)
	}
	if leader, err := s.consul(0, s.token).Status().Leader(); err != nil || leader == "" {
		t.Errorf("Consul has no leader with box2 down: %q, %v", leader, err)
	}

	s.startBox(1)
	// Its engine restarts its containers, and its agent, rejoining, has
	// their registrations: Consul (and so the LB) has them beside the ones
	// that stand in for them once their checks pass.
	engineBack := time.Now()
	s.waitPassing(16, 2*time.Minute)
	t.Logf("box2 back: its 4 workers passing and in the LB %.1fs after its engine answered", time.Since(engineBack).Seconds())
	out = s.mustRun("plan", "-f", s.file)
	t.Logf("plan with box2 back:\n%s", out)
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	returned := s.workerBoxes()
	if got := s.workersPerBox(); fmt.Sprint(got) != "[4 4 4]" {
		t.Errorf("workers per box after box2 came back: %v, want [4 4 4]", got)
	}
	for name, box := range home {
		if returned[name] != box {
			t.Errorf("%s runs on box%d, and ran on box%d before box2 went down", name, returned[name], box)
		}
	}
	s.waitPassing(12, 60*time.Second)
	if n := s.distinctWorkers(200); n != 12 {
		t.Errorf("200 requests reached %d distinct workers with box2 back, want 12", n)
	}
}

// secrets reads the cluster's secrets from KV with the management token.
func (s *hostsStack) secrets() []string {
	s.t.Helper()
	out := []string{s.token}
	for _, key := range []string{"gossip_key", "agent_token", "lb_token"} {
		kv, _, err := s.consul(0, s.token).KV().Get("stackctl/"+s.name+"/secrets/"+key, nil)
		if err != nil || kv == nil || len(kv.Value) == 0 {
			s.t.Fatalf("read secret %s: %v", key, err)
		}
		out = append(out, string(kv.Value))
	}
	return out
}

// Issue 12's last checks: a fourth host added under load moves at most 4
// slots; a rolling update across the hosts streams the new image to them and
// serves throughout; gossip is encrypted with the stack's key, and no
// secret appears in any output.
func TestAFourthHostAndARollingUpdateUnderLoad(t *testing.T) {
	s := newHostsStack(t, 4)
	var outputs []string
	run := func(args ...string) string {
		t.Helper()
		out := s.mustRun(args...)
		outputs = append(outputs, out)
		return out
	}
	s.write(12, images.PrimesV1, "box4")
	run("apply", "-f", s.file, "--auto-approve")
	before := s.workerBoxes()
	s.waitPassing(12, 30*time.Second)

	s.write(12, images.PrimesV1)
	out := run("plan", "-f", s.file)
	moves := strings.Count(out, "placement moves it")
	t.Logf("plan with box4 added: %d slots move", moves)
	if moves == 0 || moves > 4 {
		t.Errorf("adding a fourth host moves %d slots, want 1 to 4:\n%s", moves, out)
	}
	l := s.startLoad(120 * time.Second)
	run("apply", "-f", s.file, "--auto-approve")
	report, non2xx, sockErrs := l.end(t)
	t.Logf("wrk during the apply that adds box4:\n%s", report)
	if non2xx != 0 {
		t.Errorf("%d non-2xx responses while box4 was added, want 0", non2xx)
	}
	if sockErrs != 0 {
		t.Errorf("%d socket errors while box4 was added, want 0 (resolve mode: nginx is never reloaded)", sockErrs)
	}
	after := s.workerBoxes()
	changed := 0
	for name, box := range before {
		if after[name] != box {
			changed++
			if after[name] != 4 {
				t.Errorf("%s moved from box%d to box%d, not to the new box4", name, box, after[name])
			}
		}
	}
	if changed != moves {
		t.Errorf("%d workers changed host, the plan said %d", changed, moves)
	}

	s.write(12, images.PrimesV2)
	out = run("plan", "-f", s.file)
	for i := 1; i <= 4; i++ {
		if !strings.Contains(out, fmt.Sprintf("image %s will be copied: image copied to host box%d", images.PrimesV2, i)) {
			t.Errorf("the update's plan does not copy %s to box%d:\n%s", images.PrimesV2, i, out)
		}
	}
	l = s.startLoad(180 * time.Second)
	run("apply", "-f", s.file, "--auto-approve")
	report, non2xx, sockErrs = l.end(t)
	t.Logf("wrk during the rolling update v1 to v2 over four hosts:\n%s", report)
	if non2xx != 0 {
		t.Errorf("%d non-2xx responses during the rolling update, want 0", non2xx)
	}
	if sockErrs != 0 {
		t.Errorf("%d socket errors during the rolling update, want 0", sockErrs)
	}
	s.waitPassing(12, 30*time.Second)
	if n := s.versions(50); n != "v2" {
		t.Errorf("after the update the LB serves versions %s, want v2 only", n)
	}

	// A failing update across the hosts: rolled back, as it was.
	s.write(12, images.PrimesBad)
	l = s.startLoad(180 * time.Second)
	out, errOut, code := s.run("apply", "-f", s.file, "--auto-approve")
	outputs = append(outputs, out, errOut)
	report, non2xx, sockErrs = l.end(t)
	t.Logf("wrk during a failing update that rolls back:\n%s", report)
	if sockErrs != 0 {
		t.Errorf("%d socket errors during the failing update, want 0", sockErrs)
	}
	if code != exitRolledBack {
		t.Errorf("a failing update over hosts exits %d, want %d (rolled back):\n%s%s", code, exitRolledBack, tail(out, 12), errOut)
	}
	if non2xx != 0 {
		t.Errorf("%d non-2xx responses during the failing update, want 0", non2xx)
	}
	s.waitPassing(12, 60*time.Second)
	if n := s.versions(50); n != "v2" {
		t.Errorf("after the rollback the LB serves versions %s, want v2 only", n)
	}
	if got := len(s.workerBoxes()); got != 12 {
		t.Errorf("%d workers run after the rollback, want 12", got)
	}

	secrets := s.secrets()
	keys, err := s.consul(0, s.token).Operator().KeyringList(nil)
	if err != nil {
		t.Fatalf("keyring list: %v", err)
	}
	for _, ring := range keys {
		if len(ring.Keys) != 1 || ring.Keys[secrets[1]] != ring.NumNodes {
			t.Errorf("%s ring (%d nodes) holds %v, want only the stack's key on every node", ring.Datacenter, ring.NumNodes, len(ring.Keys))
		}
	}
	run("destroy", "-f", s.file, "--auto-approve")
	for _, out := range outputs {
		for i, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("secret %d of 4 (0: management token, 1: gossip key) appears in stackctl's output", i)
			}
		}
	}
	if n := s.ownedOnBoxes(); n != 0 {
		t.Errorf("destroy left %d containers of the stack on the boxes", n)
	}
}

// versions sends n requests through the LB and lists the versions that
// answered (X-Version), sorted and joined by commas.
func (s *hostsStack) versions(n int) string {
	s.t.Helper()
	seen := map[string]bool{}
	client := &http.Client{Timeout: 5 * time.Second}
	for range n {
		res, err := client.Get("http://" + s.boxes[0].Address + ":8080/")
		if err != nil {
			s.t.Fatal(err)
		}
		res.Body.Close()
		seen[res.Header.Get("X-Version")] = true
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Crash recovery over hosts: an apply killed (-9) in the middle of a
// rolling update over three boxes; a plain apply takes the lock over,
// rolls the unfinished apply back on every host, applies, and leaves an
// empty plan, with every worker on its host and v2.
func TestAnApplyKilledOverHostsIsRecoveredByAPlainApply(t *testing.T) {
	s := newHostsStack(t, 3)
	s.write(12, images.PrimesV1)
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	placed := s.workerBoxes()
	s.write(12, images.PrimesV2)
	seen := s.killApplyOnceAWorkerPassed()
	if !strings.Contains(seen, "✓") {
		t.Fatalf("the apply was killed before any worker passed:\n%s", seen)
	}
	out := s.mustRun("apply", "-f", s.file, "--auto-approve")
	t.Logf("the apply after the kill:\n%s", out)
	if _, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode"); code != 0 {
		out, errOut, _ := s.run("plan", "-f", s.file)
		t.Errorf("plan after recovery exits %d, want 0:\n%s%s", code, out, errOut)
	}
	after := s.workerBoxes()
	if len(after) != 12 {
		t.Errorf("%d workers run after recovery, want 12: %v", len(after), after)
	}
	for name, box := range placed {
		if after[name] != box {
			t.Errorf("%s runs on box%d after recovery, on box%d before", name, after[name], box)
		}
	}
	s.waitPassing(12, 60*time.Second)
	if v := s.versions(50); v != "v2" {
		t.Errorf("after recovery the LB serves %s, want v2", v)
	}
	if n := s.ownedOnBoxes(); n != 12+3+1 {
		t.Errorf("%d containers of the stack on the boxes after recovery, want 16 (12 workers, 3 agents, the LB): an old one left behind?", n)
	}
}
