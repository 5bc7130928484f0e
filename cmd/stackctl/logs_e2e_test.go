//go:build e2e

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/images"
)

// writeWithLB writes a stack of replicas primes workers behind the LB,
// every host port picked by Docker. The LB uses the template-mode site
// (nginx-rendered.ctmpl): it renders and reloads as workers come and go, and
// those reloads are what `logs lb` must show. The reference template's
// resolve mode never reloads.
func (s *e2eStack) writeWithLB(replicas int) {
	s.t.Helper()
	s.writeWithLBTemplate("../../stacks/primes/nginx-rendered.ctmpl", replicas)
}

// writeWithLBTemplate is writeWithLB with the LB template read from path.
func (s *e2eStack) writeWithLBTemplate(path string, replicas int) {
	s.t.Helper()
	tmpl, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(s.dir+"/nginx.ctmpl", tmpl, 0o644); err != nil {
		s.t.Fatal(err)
	}
	src := fmt.Sprintf(`version: 1
name: %s
consul:
  image: %s
  ports: ["127.0.0.1::8500"]
services:
  web:
    image: %s
    replicas: %d
    port: 5000
    env: {PRIME_DIGITS: "6"}
    check: {http: /healthz, interval: 1s, timeout: 1s}
    update: {parallelism: 4, healthy_deadline: 60s}
    resources: {memory: 64m, cpus: 0.25}
lb:
  image: %s
  template: nginx.ctmpl
  ports: ["127.0.0.1::80"]
`, s.name, images.Consul, images.PrimesV1, replicas, images.Nginx)
	if err := os.WriteFile(s.file, []byte(src), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// lineCollector is the stdout of a stackctl that keeps running: the test
// reads the lines so far while it writes more.
type lineCollector struct{ syncBuffer }

func (c *lineCollector) lines() []string {
	return strings.SplitAfter(c.String(), "\n")
}

// waitUntil polls the lines until done says yes or the deadline passes.
func (c *lineCollector) waitUntil(deadline time.Time, done func([]string) bool) bool {
	for {
		if done(c.lines()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	workerPrefix = regexp.MustCompile(`^(web-\d+)\s*\| `)
	servedLine   = regexp.MustCompile(`^(web-\d+)\s*\| .*served (\d+) requests? in 1s \(0 failed\)\n$`)
)

// servedTotal adds up the requests the workers' traffic lines say they
// served.
func servedTotal(lines []string) int {
	total := 0
	for _, l := range lines {
		if m := servedLine.FindStringSubmatch(l); m != nil {
			var n int
			fmt.Sscan(m[2], &n)
			total += n
		}
	}
	return total
}

// workersWhere are the workers with a line that matches re.
func workersWhere(lines []string, re *regexp.Regexp) map[string]bool {
	out := map[string]bool{}
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// uiLBURL is the LB URL `stackctl ui` prints.
func (s *e2eStack) uiLBURL() string {
	s.t.Helper()
	out := s.mustRun("ui", "-f", s.file)
	m := regexp.MustCompile(`(?m)^lb +(http://127\.0\.0\.1:\d+/)$`).FindStringSubmatch(out)
	c := regexp.MustCompile(`(?m)^consul +(http://127\.0\.0\.1:(\d+)/ui/) +\(port 8500 published by container ` + s.name + `-consul`).FindStringSubmatch(out)
	if m == nil || c == nil || c[2] == "8500" {
		s.t.Fatalf("stackctl ui does not print the Docker-picked ports of the LB and Consul:\n%s", out)
	}
	res, err := http.Get(strings.TrimSuffix(c[1], "ui/") + "v1/status/leader")
	if err != nil || res.StatusCode != http.StatusOK {
		s.t.Fatalf("Consul at the URL stackctl ui printed, %s: %v %v", c[1], res, err)
	}
	res.Body.Close()
	return m[1]
}

// getN sends n requests through the LB, failing the test on any error.
func getN(t *testing.T, url string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		res, err := http.Get(url)
		if err != nil {
			t.Fatalf("request %d through the LB: %v", i, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("request %d through the LB: %s", i, res.Status)
		}
	}
}

func TestLogsFollowShowsWhichWorkersTakeTraffic(t *testing.T) {
	s := newE2EStack(t)
	s.writeWithLB(4)
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	lb := s.uiLBURL()
	// apply waits for the LB to serve the workers; one request proves it,
	// and is counted with the burst below.
	getN(t, lb, 1)
	const sent = 61

	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	follow := s.command(ctx, "logs", "-f", "--file", s.file, "web")
	var out, errOut lineCollector
	follow.Stdout, follow.Stderr = &out, &errOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- follow.Wait() }()
	stop := func() {
		_ = follow.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("logs --follow did not end cleanly on Ctrl-C: %v; stderr:\n%s", err, errOut.lines())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("logs --follow still runs 30s after Ctrl-C")
			_ = follow.Process.Kill()
			<-exited
		}
	}

	// Every worker's start-up line shows its stream is open.
	listening := regexp.MustCompile(`^(web-\d+)\s*\| .*primes v1 listening on`)
	if !out.waitUntil(time.Now().Add(30*time.Second), func(l []string) bool { return len(workersWhere(l, listening)) == 4 }) {
		stop()
		t.Fatalf("logs --follow web did not show the start-up line of 4 workers:\n%s\nstderr: %s", out.lines(), errOut.lines())
	}

	getN(t, lb, sent-1)
	served := func(l []string) bool { return len(workersWhere(l, servedLine)) >= 3 }
	if !out.waitUntil(time.Now().Add(2*time.Second), served) {
		stop()
		t.Fatalf("within 2s of 60 requests through the LB, fewer than 3 workers logged what they served:\n%s", strings.Join(out.lines(), ""))
	}

	// A worker a later apply creates is picked up while following.
	s.writeWithLB(5)
	lbBefore := s.owned()[1]
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	if lbAfter := s.owned()[1]; lbAfter != lbBefore {
		t.Errorf("scaling the workers replaced the LB: %s, then %s", lbBefore, lbAfter)
	}
	web5 := regexp.MustCompile(`^(web-5)\s*\| .*primes v1 listening on`)
	if !out.waitUntil(time.Now().Add(30*time.Second), func(l []string) bool { return len(workersWhere(l, web5)) == 1 }) {
		stop()
		t.Fatalf("logs --follow did not pick up web-5, created after it started:\n%s", strings.Join(out.lines(), ""))
	}
	// A worker logs what it served once a second: the last of those lines
	// may come a moment after the rest (it did, 1 run in 6).
	out.waitUntil(time.Now().Add(5*time.Second), func(l []string) bool { return servedTotal(l) >= sent })
	stop()

	for _, l := range out.lines() {
		if l != "" && !workerPrefix.MatchString(l) {
			t.Errorf("logs web printed a line that is not a worker's: %q", l)
		}
	}
	if total := servedTotal(out.lines()); total != sent {
		t.Errorf("the workers' lines count %d requests served, want the %d sent (health checks not counted)", total, sent)
	}

	// What lbsync logs on its first start and on every render it installs.
	// The render with the worker the second apply added may come a moment
	// after that apply returned: apply does not wait for the LB to add it.
	wants := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^lb \| stackctl lb: [0-9/]+ [0-9:]+ started nginx -g daemon off;$`),
		regexp.MustCompile(`(?m)^lb \| stackctl lb: [0-9/]+ [0-9:]+ installed /etc/nginx/conf.d/stackctl.conf \(5 instances, sha256 [0-9a-f]{12}\)$`),
		// and nginx's own line for the reload that render caused
		regexp.MustCompile(`(?m)^lb \| stackctl lb: [0-9/]+ [0-9:]+ reloading nginx \(SIGHUP to pid \d+\)$`),
		regexp.MustCompile(`(?m)^lb \| [0-9/]+ [0-9:]+ \[notice\] \d+#\d+: signal 1 \(SIGHUP\) received from \d+, reconfiguring$`),
	}
	matchAll := func(out string) bool {
		for _, w := range wants {
			if !w.MatchString(out) {
				return false
			}
		}
		return true
	}
	var stdout string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		stdout = s.mustRun("logs", "--file", s.file, "lb")
		if matchAll(stdout) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("logs lb lacks one of %q:\n%s", wants, stdout)
			break
		}
	}
	if strings.Contains(stdout, "web-") || strings.Contains(stdout, "consul |") {
		t.Errorf("logs lb shows other containers:\n%s", stdout)
	}

	_, errText, code := s.run("logs", "--file", s.file, "db", "web/9")
	if code != 1 || !strings.Contains(errText, `no containers for "db"; choose from: web, lb, consul`) {
		t.Errorf("logs of an unknown service: exit %d, %q", code, errText)
	}
}
