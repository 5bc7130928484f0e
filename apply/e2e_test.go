//go:build e2e

package apply_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
	"github.com/stackctl/stackctl/internal/lbsync"
	"github.com/stackctl/stackctl/plan"
	stackspec "github.com/stackctl/stackctl/spec"
)

// bin is the stackctl binary the tests run, built once by TestMain.
var bin string

func TestMain(m *testing.M) { e2e.RunWithBinary(m, "../cmd/stackctl", &bin) }

// stack is a stack file of the test: the reference stack under the test's
// unique name, every host port left to Docker so tests never collide.
type stack struct {
	t    *testing.T
	env  *e2e.Env
	dir  string
	file string
	name string
}

func newStack(t *testing.T) *stack {
	e := e2e.NewForApply(t)
	dir := t.TempDir()
	tmpl, err := os.ReadFile("../stacks/primes/nginx.ctmpl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.ctmpl"), tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	return &stack{t: t, env: e, dir: dir, file: filepath.Join(dir, "stack.yaml"), name: e.Stack}
}

// spec of a stack file; zero fields take the reference stack's values.
type spec struct {
	image       string
	replicas    int
	parallelism int
	deadline    string
	order       string
	onFailure   string
}

func (s *stack) write(sp spec) {
	s.t.Helper()
	if sp.image == "" {
		sp.image = images.PrimesV1
	}
	if sp.parallelism == 0 {
		sp.parallelism = 4
	}
	if sp.deadline == "" {
		sp.deadline = "60s"
	}
	if sp.order == "" {
		sp.order = "start-first"
	}
	if sp.onFailure == "" {
		sp.onFailure = "rollback"
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
    env: {PRIME_DIGITS: "8"}
    check: {http: /healthz, interval: 1s, timeout: 1s}
    update: {parallelism: %d, order: %s, healthy_deadline: %s, on_failure: %s}
    resources: {memory: 64m, cpus: 0.25}
lb:
  image: %s
  template: nginx.ctmpl
  ports: ["127.0.0.1::80"]
`, s.name, images.Consul, sp.image, sp.replicas, sp.parallelism, sp.order, sp.deadline, sp.onFailure, images.Nginx)
	if err := os.WriteFile(s.file, []byte(src), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// run runs stackctl with args, returning its output and exit code.
func (s *stack) run(args ...string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			s.t.Fatalf("run stackctl %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

func (s *stack) apply(extra ...string) (string, int) {
	return s.run(append([]string{"apply", "-f", s.file, "--auto-approve"}, extra...)...)
}

func (s *stack) mustApply(extra ...string) string {
	s.t.Helper()
	out, code := s.apply(extra...)
	if code != 0 {
		s.t.Fatalf("apply exited %d:\n%s", code, out)
	}
	return out
}

func (s *stack) docker() *dockerapi.Client {
	d, err := dockerapi.New()
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { d.Close() })
	return d
}

// published is the 127.0.0.1 address a container's port is published on.
func (s *stack) published(container string, port int) string {
	s.t.Helper()
	c, err := s.docker().InspectContainer(s.t.Context(), container)
	if err != nil || c == nil {
		s.t.Fatalf("inspect %s: %v", container, err)
	}
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			return fmt.Sprintf("127.0.0.1:%d", p.HostPort)
		}
	}
	s.t.Fatalf("%s publishes no port %d", container, port)
	return ""
}

func (s *stack) lbAddr() string     { return s.published(s.name+"-lb", 80) }
func (s *stack) consulAddr() string { return s.published(s.name+"-consul", 8500) }

// consul is a client of the stack's Consul, one per address: every client
// keeps its own idle connections, and Consul limits them per client IP.
func (s *stack) consul() *consulapi.Client {
	c, err := cachedConsul(s.consulAddr())
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

var consulClients sync.Map // address → *consulapi.Client

func cachedConsul(addr string) (*consulapi.Client, error) {
	if c, ok := consulClients.Load(addr); ok {
		return c.(*consulapi.Client), nil
	}
	c, err := consulapi.New(addr)
	if err != nil {
		return nil, err
	}
	actual, _ := consulClients.LoadOrStore(addr, c)
	return actual.(*consulapi.Client), nil
}

func cachedDialer(addr string) (apply.Consul, error) { return cachedConsul(addr) }

func cachedReader(addr string) (plan.ConsulReader, error) { return cachedConsul(addr) }

// passing counts the registrations of the stack whose checks pass.
func (s *stack) passing() int {
	s.t.Helper()
	regs, err := s.consul().Registrations(s.t.Context(), s.name)
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, r := range regs {
		if r.Status == plan.CheckPassing {
			n++
		}
	}
	return n
}

// containers maps each of the stack's container names to "ID state image".
func (s *stack) containers() map[string]string {
	s.t.Helper()
	list, err := s.docker().ListContainers(s.t.Context(), s.name)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list {
		out[c.Name] = c.ID + " " + c.State + " " + c.ImageID
	}
	return out
}

// lbConfigSHA is the sha256 of the config nginx serves, as the LB reports it.
func (s *stack) lbConfigSHA() string {
	s.t.Helper()
	return s.lbStatus().ConfigSHA256
}

// waitLB waits until the LB has rendered n instances and nothing changed
// for a second. In resolve mode (the template reads no service) nothing
// renders the instances: it waits until n pass, then for nginx's lookup.
func (s *stack) waitLB(n int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last lbsync.Status
	for time.Now().Before(deadline) {
		b, ok, err := s.consul().KVGet(s.t.Context(), "stackctl/"+s.name+"/lb/status")
		if err == nil && ok {
			if st, err := lbsync.ParseStatus(b); err == nil {
				last = st
				if st.OK && st.Instances == n && time.Since(st.RenderedAt) > time.Second {
					return
				}
				if st.OK && st.Instances == 0 && s.resolveMode() && s.passing() == n {
					time.Sleep(3 * time.Second) // plan.LBResolve.Lag with valid=1s
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("LB never settled on %d instances: last status %+v", n, last)
}

// resolveMode reports whether the stack's template has nginx resolve the
// workers itself.
func (s *stack) resolveMode() bool {
	b, err := os.ReadFile(filepath.Join(s.dir, "nginx.ctmpl"))
	return err == nil && strings.Contains(string(b), " resolve ")
}

// planIsEmpty reports whether `stackctl plan` finds nothing to do.
func (s *stack) planIsEmpty() bool {
	out, code := s.run("plan", "-f", s.file, "--detailed-exitcode")
	if code == 1 {
		s.t.Fatalf("plan failed:\n%s", out)
	}
	return code == 0
}

// load is a steady HTTP load through the LB: a few clients in a loop.
type load struct {
	total, failed atomic.Int64
	mu            sync.Mutex
	errs          []string
	versions      map[string]int
	cancel        context.CancelFunc
	wg            sync.WaitGroup
}

func startLoad(t *testing.T, addr string, clients int) *load {
	ctx, cancel := context.WithCancel(t.Context())
	l := &load{cancel: cancel, versions: map[string]int{}}
	client := &http.Client{Timeout: 10 * time.Second}
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				l.hit(ctx, client, "http://"+addr+"/")
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *load) hit(ctx context.Context, client *http.Client, url string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := client.Do(req)
	if ctx.Err() != nil {
		return // stopped mid-request: not a failure of the stack
	}
	l.total.Add(1)
	if err != nil {
		l.fail(err.Error())
		return
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		l.fail(fmt.Sprintf("status %d: %.80s", res.StatusCode, body))
		return
	}
	if n, ok := new(big.Int).SetString(strings.TrimSpace(string(body)), 10); !ok || !n.ProbablyPrime(10) {
		l.fail(fmt.Sprintf("not a prime: %.80q", body))
		return
	}
	l.mu.Lock()
	l.versions[res.Header.Get("X-Version")]++
	l.mu.Unlock()
}

func (l *load) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, time.Now().Format("15:04:05.000")+" "+msg)
	}
}

func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *load) check(t *testing.T) {
	t.Helper()
	t.Logf("load: %d requests, %d failed, versions %v", l.total.Load(), l.failed.Load(), l.versions)
	if l.total.Load() < 50 {
		t.Errorf("only %d requests made: the load generator did not run", l.total.Load())
	}
	if l.failed.Load() > 0 {
		t.Errorf("%d of %d requests failed: %v", l.failed.Load(), l.total.Load(), l.errs)
	}
}

// versionsNow asks the LB n times and counts the X-Version answers.
func versionsNow(t *testing.T, addr string, n int) map[string]int {
	return headerCounts(t, addr, n, "X-Version")
}

// headerCounts sends n requests through the LB at addr, one after the
// other, and counts the values of a response header the primes app sets.
func headerCounts(t *testing.T, addr string, n int, header string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := range n {
		res, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("request %d through the LB: status %d", i+1, res.StatusCode)
		}
		out[res.Header.Get(header)]++
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestFreshApplyServesAndSecondApplyChangesNothing(t *testing.T) {
	s := newStack(t)
	s.write(spec{replicas: 20})
	out := s.mustApply()
	t.Logf("first apply:\n%s", tail(out, 12))
	if n := s.passing(); n != 20 {
		t.Errorf("%d passing in Consul, want 20", n)
	}
	res, err := http.Get("http://" + s.lbAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	n, ok := new(big.Int).SetString(strings.TrimSpace(string(body)), 10)
	if res.StatusCode != 200 || !ok || !n.ProbablyPrime(10) {
		t.Errorf("LB answered %d %q, want 200 with a prime", res.StatusCode, body)
	}
	before := s.containers()
	out = s.mustApply()
	if !strings.Contains(out, "No changes.") {
		t.Errorf("second apply did not say No changes:\n%s", out)
	}
	after := s.containers()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("second apply changed containers:\nbefore %v\nafter  %v", before, after)
	}
	if len(after) != 22 {
		t.Errorf("%d containers, want 22: %v", len(after), sortedKeys(after))
	}
}

func TestRollingUpdateUnderLoadLosesNoRequest(t *testing.T) {
	s := newStack(t)
	s.write(spec{replicas: 20})
	s.mustApply()
	l := startLoad(t, s.lbAddr(), 4)
	s.write(spec{replicas: 20, image: images.PrimesV2})
	out := s.mustApply()
	time.Sleep(time.Second)
	l.stop()
	t.Logf("update:\n%s", tail(out, 8))
	l.check(t)
	for name, c := range s.containers() {
		if strings.Contains(name, "-web-") && !strings.HasSuffix(c, imageID(t, images.PrimesV2)) {
			t.Errorf("%s runs %s, want %s", name, c, images.PrimesV2)
		}
	}
	if v := versionsNow(t, s.lbAddr(), 40); v["v2"] != 40 {
		t.Errorf("after the update the LB answers %v, want all v2", v)
	}
	if !s.planIsEmpty() {
		t.Error("plan not empty after the update")
	}
}

func TestNeverPassingImageRollsBackToTheSameContainers(t *testing.T) {
	s := newStack(t)
	s.write(spec{replicas: 20})
	s.mustApply()
	before := s.containers()
	sha := s.lbConfigSHA()
	l := startLoad(t, s.lbAddr(), 4)
	s.write(spec{replicas: 20, image: images.PrimesBad, deadline: "5s"})
	out, code := s.apply()
	time.Sleep(time.Second)
	l.stop()
	t.Logf("apply of the bad image:\n%s", tail(out, 14))
	if code != 3 {
		t.Fatalf("apply exited %d, want 3 (failed and rolled back)", code)
	}
	for _, want := range []string{"did not pass its health check", "Rolled back", "as it was before"} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not say %q", want)
		}
	}
	l.check(t)
	if after := s.containers(); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("containers differ after rollback:\nbefore %v\nafter  %v", before, after)
	}
	if got := s.lbConfigSHA(); got != sha {
		t.Errorf("LB config sha256 %s after rollback, was %s", got, sha)
	}
	if n := s.passing(); n != 20 {
		t.Errorf("%d passing after rollback, want 20", n)
	}
}

func TestTwoAppliesAtOnceOneWaitsOrFails(t *testing.T) {
	s := newStack(t)
	s.write(spec{replicas: 4})
	s.mustApply()
	s.write(spec{replicas: 4, image: images.PrimesV2, parallelism: 1})
	type result struct {
		out  string
		code int
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			out, code := s.apply("-lock-timeout", "0") // the loser fails at once rather than waits
			results <- result{out, code}
		}()
	}
	a, b := <-results, <-results
	if a.code == b.code {
		t.Fatalf("both applies exited %d:\n%s\n---\n%s", a.code, a.out, b.out)
	}
	loser := a
	if a.code == 0 {
		loser = b
	}
	t.Logf("the second apply said:\n%s", loser.out)
	if !strings.Contains(loser.out, "is locked by") || !strings.Contains(loser.out, "since") {
		t.Errorf("the failing apply does not name the lock holder")
	}
}

func imageID(t *testing.T, ref string) string {
	d, err := dockerapi.New()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	img, err := d.InspectImage(t.Context(), ref)
	if err != nil || img == nil {
		t.Fatalf("image %s: %v", ref, err)
	}
	return img.ID
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// liveState is what a rollback must restore, as comparable text: every
// container (ID, state, image), every registration (address, status, meta)
// and the LB's served config.
func (s *stack) liveState() string {
	s.t.Helper()
	var lines []string
	for name, c := range s.containers() {
		lines = append(lines, "container "+name+" "+c)
	}
	regs, err := s.consul().Registrations(s.t.Context(), s.name)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, r := range regs {
		lines = append(lines, fmt.Sprintf("registration %s %s:%d %s %v", r.ID, r.Address, r.Port, r.Status, r.Meta))
	}
	lines = append(lines, "lb "+s.lbConfigSHA())
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// A failure after each step in turn of a 20 → 25 scale-up with an image
// change (InjectFailureAfter: the step does its work, then fails) leaves
// the live stack as it was before the apply.
func TestFailureAtEveryStepRestoresTheStack(t *testing.T) {
	// The two long sweeps run side by side: each mostly waits (for checks,
	// for a dead holder's lock to expire), each on its own stack.
	t.Parallel()
	s := newStack(t)
	s.write(spec{replicas: 20})
	s.mustApply()
	s.write(spec{replicas: 25, image: images.PrimesV2})
	desired, err := stackspec.Load(s.file)
	if err != nil {
		t.Fatal(err)
	}
	d := s.docker()
	observer := &plan.Observer{Docker: d, DockerAt: d.Endpoint(), Consul: cachedReader}
	waitPassing(t, s, 20)
	s.waitLB(20)
	before := s.liveState()
	state, err := observer.Observe(t.Context(), desired)
	if err != nil {
		t.Fatal(err)
	}
	steps := len(plan.Compute(desired, state).Steps)
	if steps != 25 {
		t.Fatalf("the plan has %d steps, want 25", steps)
	}
	for n := 1; n <= steps; n++ {
		state, err := observer.Observe(t.Context(), desired)
		if err != nil {
			t.Fatal(err)
		}
		p := plan.Compute(desired, state)
		e := apply.InjectFailureAfter(apply.New(desired, d, cachedDialer, apply.Options{Lock: true}), n)
		if _, err := e.Prepare(t.Context(), state); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r := e.Run(t.Context(), p, state)
		if !errors.Is(r.Err, apply.ErrInjected) || r.RollbackErr != nil {
			t.Fatalf("failure after step %d: error %v, rollback errors %v", n, r.Err, r.RollbackErr)
		}
		waitPassing(t, s, 20)
		s.waitLB(20)
		if after := s.liveState(); after != before {
			t.Fatalf("after a failure at step %d the live state differs:\n--- before\n%s\n--- after\n%s", n, before, after)
		}
		t.Logf("failure after step %2d: %d steps rolled back in %s; live state as before", n, len(r.RolledBack), time.Since(start).Round(100*time.Millisecond))
	}
}

// waitPassing waits (briefly) until n registrations pass: a restarted old
// worker passes its check within an interval.
func waitPassing(t *testing.T, s *stack, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.passing() != n {
		if time.Now().After(deadline) {
			regs, _ := s.consul().Registrations(t.Context(), s.name)
			for _, r := range regs {
				t.Logf("registration %s %s:%d %s %s", r.ID, r.Address, r.Port, r.Status, r.Output)
			}
			t.Logf("containers %v", s.containers())
			t.Fatalf("%d passing, want %d", s.passing(), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill -9 of stackctl at random points of a rolling update: the next apply
// (waiting for the dead holder's lock to expire) converges, leaving no
// orphan, no duplicate, nothing but the 20 desired workers passing.
func TestKilledApplyConvergesOnTheNextApply(t *testing.T) {
	t.Parallel() // see TestFailureAtEveryStepRestoresTheStack
	s := newStack(t)
	s.write(spec{replicas: 20})
	s.mustApply()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	kills := 10
	if v := os.Getenv("STACKCTL_E2E_KILLS"); v != "" {
		fmt.Sscan(v, &kills)
	}
	for i := range kills {
		image := images.PrimesV2
		if i%2 == 1 {
			image = images.PrimesV1
		}
		s.write(spec{replicas: 20, image: image})
		delay := time.Duration(300+rng.IntN(7000)) * time.Millisecond
		cmd := exec.Command(bin, "apply", "-f", s.file, "--auto-approve", "-lock-timeout", "60s")
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Kill() // SIGKILL: no cleanup of any kind
		_ = cmd.Wait()
		start := time.Now()
		res, code := s.apply("-lock-timeout", "60s")
		if code != 0 {
			t.Fatalf("kill %d (after %s): the next apply exited %d:\n%s\n--- killed apply:\n%s", i, delay, code, res, tail(out.String(), 15))
		}
		if !s.planIsEmpty() {
			t.Fatalf("kill %d: plan not empty after the next apply", i)
		}
		names := s.containers()
		for name := range names {
			if strings.Contains(name, ".old-") || strings.Contains(name, ".new-") || strings.Contains(name, ".rollback-") {
				t.Errorf("kill %d: orphan container %s", i, name)
			}
		}
		if len(names) != 22 {
			t.Errorf("kill %d: %d containers, want 22: %v", i, len(names), sortedKeys(names))
		}
		waitPassing(t, s, 20)
		if v := versionsNow(t, s.lbAddr(), 20); v[strings.TrimPrefix(image, "stackctl.local/primes:")] != 20 {
			t.Errorf("kill %d: LB answers %v, want all %s", i, v, image)
		}
		t.Logf("kill %d after %s; next apply converged in %s (%s)", i, delay, time.Since(start).Round(100*time.Millisecond),
			firstMatch(res, "Rolled back the unfinished", "No changes.", "Apply complete"))
	}
}

func firstMatch(s string, subs ...string) string {
	for _, line := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(line, sub) {
				return strings.TrimSpace(line)
			}
		}
	}
	return ""
}

// BenchmarkApplyEmptyTo20 times `stackctl apply` of the reference stack from
// nothing to 20 workers passing their checks (interval 1s) and served by the
// LB; each iteration destroys the stack first, untimed. bench/apply.sh and
// bench/compose.sh measure the same side by side with docker-compose.
func BenchmarkApplyEmptyTo20(b *testing.B) {
	e := e2e.NewForApply(b)
	dir := b.TempDir()
	tmpl, err := os.ReadFile("../stacks/primes/nginx.ctmpl")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.ctmpl"), tmpl, 0o644); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(dir, "stack.yaml")
	src, err := os.ReadFile("../stacks/primes/stack.yaml")
	if err != nil {
		b.Fatal(err)
	}
	text := strings.NewReplacer("name: primes", "name: "+e.Stack, "127.0.0.1:8500:8500", "127.0.0.1::8500",
		"127.0.0.1:8080:80", "127.0.0.1::80").Replace(string(src))
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			b.Fatalf("stackctl %v: %v\n%s", args, err, out)
		}
	}
	var times []time.Duration
	for b.Loop() {
		b.StopTimer()
		run("destroy", "-f", file, "--auto-approve")
		b.StartTimer()
		start := time.Now()
		run("apply", "-f", file, "--auto-approve")
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(times[len(times)/2].Seconds(), "median-s")
	run("destroy", "-f", file, "--auto-approve")
}

// sessionBreaker destroys the session holding the stack's lock in the real
// Consul once the first worker step of an update finished, as an operator
// breaking the lock (or a TTL running out) would.
type sessionBreaker struct {
	t      *testing.T
	s      *stack
	once   sync.Once
	broken atomic.Bool
}

func (b *sessionBreaker) StepStarted(plan.Step)                   {}
func (b *sessionBreaker) StepUndone(string, time.Duration, error) {}
func (b *sessionBreaker) Note(string)                             {}
func (b *sessionBreaker) StepFinished(step plan.Step, _ time.Duration, _ error) {
	if step.Kind != plan.KindWorker {
		return
	}
	b.once.Do(func() {
		base := "http://" + b.s.consulAddr()
		res, err := http.Get(base + "/v1/kv/stackctl/" + b.s.name + "/" + apply.LockKey)
		if err != nil {
			b.t.Errorf("read the lock: %v", err)
			return
		}
		var pairs []struct{ Session string }
		err = json.NewDecoder(res.Body).Decode(&pairs)
		res.Body.Close()
		if err != nil || len(pairs) != 1 || pairs[0].Session == "" {
			b.t.Errorf("the lock key holds no session (%v): %+v", err, pairs)
			return
		}
		req, _ := http.NewRequest(http.MethodPut, base+"/v1/session/destroy/"+pairs[0].Session, nil)
		res, err = http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.t.Errorf("destroy session: %v %v", err, res)
			return
		}
		res.Body.Close()
		b.broken.Store(true)
	})
}

// A lock whose session ends in the middle of a rolling update stops the
// apply: no further step starts, it takes the lock again and rolls back, and
// the stack is exactly as before.
func TestLostLockStopsTheApplyAndRollsBack(t *testing.T) {
	s := newStack(t)
	s.write(spec{replicas: 4})
	s.mustApply()
	s.write(spec{replicas: 4, image: images.PrimesV2, parallelism: 1})
	desired, err := stackspec.Load(s.file)
	if err != nil {
		t.Fatal(err)
	}
	d := s.docker()
	observer := &plan.Observer{Docker: d, DockerAt: d.Endpoint(), Consul: cachedReader}
	s.waitLB(4)
	before := s.liveState()
	state, err := observer.Observe(t.Context(), desired)
	if err != nil {
		t.Fatal(err)
	}
	breaker := &sessionBreaker{t: t, s: s}
	e := apply.New(desired, d, cachedDialer, apply.Options{Lock: true, Progress: breaker})
	if _, err := e.Prepare(t.Context(), state); err != nil {
		t.Fatal(err)
	}
	r := e.Run(t.Context(), plan.Compute(desired, state), state)
	var b strings.Builder
	_ = r.Write(&b)
	t.Logf("report:\n%s", b.String())
	if !breaker.broken.Load() {
		t.Fatal("the session was never destroyed")
	}
	if !errors.Is(r.Err, apply.ErrLockLost) || r.RollbackErr != nil || len(r.RolledBack) == 0 {
		t.Fatalf("error %v, rollback errors %v, %d undone; want ErrLockLost and a full rollback", r.Err, r.RollbackErr, len(r.RolledBack))
	}
	if len(r.Done) != 0 {
		t.Errorf("steps reported done after the lock was lost: %v", r.Done)
	}
	waitPassing(t, s, 4)
	s.waitLB(4)
	if after := s.liveState(); after != before {
		t.Fatalf("after the lost lock the live state differs:\n--- before\n%s\n--- after\n%s", before, after)
	}
}
