package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

const testTemplate = `upstream web {
{{range service "web"}}  server {{.Address}}:{{.Port}};
{{else}}  server 127.0.0.1:65535 down;
{{end}}}
`

// stackFile is a stack with a managed Consul, one service "web" and an LB.
func stackFile(t *testing.T, replicas int, image, order, onFailure string, parallelism int) *spec.Stack {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nginx.ctmpl"), []byte(testTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`version: 1
name: unit
consul:
  image: consul:test
  ports: ["127.0.0.1:18500:8500"]
services:
  web:
    image: %s
    replicas: %d
    port: 5000
    check: {http: /healthz, interval: 1s, timeout: 1s}
    update: {parallelism: %d, order: %s, healthy_deadline: 2s, on_failure: %s}
lb:
  image: nginx:test
  template: nginx.ctmpl
  ports: ["127.0.0.1:18080:80"]
`, image, replicas, parallelism, order, onFailure)
	st, err := spec.Parse(filepath.Join(dir, "stack.yaml"), []byte(src), func(string) (string, bool) { return "", false }, dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testWorld() *world {
	w := newWorld()
	for _, ref := range []string{"consul:test", "nginx:test", "primes:v1", "primes:v2", "primes:bad"} {
		w.addImage(ref)
	}
	return w
}

func (w *world) observe(t *testing.T, s *spec.Stack) *plan.State {
	t.Helper()
	o := &plan.Observer{
		Docker:   fakeDocker{w},
		DockerAt: plan.Endpoint{Address: "fake", Via: "test"},
		Consul:   func(string) (plan.ConsulReader, error) { return fakeConsul{w}, nil },
	}
	st, err := o.Observe(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (w *world) executor(s *spec.Stack, opts Options) *Executor {
	opts.LBSettle = 20 * time.Millisecond
	if opts.Probe == nil {
		opts.Probe = w.probe
	}
	if opts.Holder == "" {
		opts.Holder = "test"
	}
	return New(s, fakeDocker{w}, func(string) (Consul, error) { return fakeConsul{w}, nil }, opts)
}

// apply plans against the world and runs the plan, as the CLI does.
func (w *world) apply(t *testing.T, s *spec.Stack, opts Options) (*Report, *plan.Plan) {
	t.Helper()
	return w.applyFaulty(t, s, opts, faults{})
}

// applyFaulty is apply with failures injected.
func (w *world) applyFaulty(t *testing.T, s *spec.Stack, opts Options, f faults) (*Report, *plan.Plan) {
	t.Helper()
	e := w.executor(s, opts)
	e.faults = f
	state := w.observe(t, s)
	rec, err := e.Prepare(context.Background(), state)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if rec != nil {
		state = w.observe(t, s)
	}
	p := plan.Compute(s, state)
	return e.Run(context.Background(), p, state), p
}

// resetPassing starts counting the fewest passing instances afresh.
func (w *world) resetPassing() {
	w.mu.Lock()
	w.minPassing, w.hadPassing = -1, false
	w.mu.Unlock()
}

func mustApply(t *testing.T, w *world, s *spec.Stack) {
	t.Helper()
	r, _ := w.apply(t, s, Options{Lock: true})
	if !r.OK() {
		var b strings.Builder
		_ = r.Write(&b)
		t.Fatalf("apply failed: %v\n%s", r.Err, b.String())
	}
	if p := plan.Compute(s, w.observe(t, s)); !p.Empty() {
		t.Fatalf("after apply the plan is not empty: %+v", p.Steps)
	}
}

// snapshot is everything a rollback must restore, as sorted lines.
func (w *world) snapshot() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var lines []string
	for _, c := range w.containers {
		var labels []string
		for k, v := range c.Labels {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		lines = append(lines, fmt.Sprintf("container %s %s %s %s %v %v", c.ID[len(c.ID)-6:], c.Name, c.State, c.ImageID[:12], c.Networks, labels))
	}
	for _, r := range w.regs {
		lines = append(lines, fmt.Sprintf("registration %s %s %d %v %s %+v", r.ID, r.Address, r.Port, r.Meta, w.statusLocked(r), *r.Check))
	}
	for k, v := range w.kv {
		if strings.HasSuffix(k, "/lb/status") {
			continue
		}
		lines = append(lines, fmt.Sprintf("kv %s %q", k, v))
	}
	for k := range w.locks {
		lines = append(lines, "lock "+k)
	}
	for ref, img := range w.images {
		lines = append(lines, fmt.Sprintf("image %s %s", ref, img.ID[:12]))
	}
	for name := range w.networks {
		lines = append(lines, "network "+name)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestApplyFromEmptyConvergesAndIsIdempotent(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 5, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	if got := len(w.regs); got != 5 {
		t.Errorf("%d registrations, want 5", got)
	}
	if w.kv["stackctl/unit/journal"] != nil {
		t.Error("journal left behind after a successful apply")
	}
	if len(w.locks) != 0 {
		t.Error("lock still held after apply")
	}
	before := w.snapshot()
	events := len(w.events)
	r, p := w.apply(t, s, Options{Lock: true})
	if !p.Empty() || !r.OK() || len(w.events) != events {
		t.Errorf("second apply changed something: plan %d steps, events %v", len(p.Steps), w.events[events:])
	}
	if after := w.snapshot(); after != before {
		t.Errorf("state changed by a no-op apply:\n%s", diffLines(before, after))
	}
}

// A first apply runs as one group after the network (see mergeCreates),
// yet in dependency order: Consul's container starts before any worker, no
// worker registers before Consul runs, the template is written once Consul
// runs, and the LB starts only once its template is in place.
func TestFirstApplyOverlapsButKeepsDependencies(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 4, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	at := func(prefix string, first bool) int {
		found := -1
		for i, ev := range w.events {
			if strings.HasPrefix(ev, prefix) {
				if first {
					return i
				}
				found = i
			}
		}
		if found < 0 {
			t.Fatalf("no event %q in %v", prefix, w.events)
		}
		return found
	}
	if at("create-network", true) != 0 {
		t.Errorf("the network is not created first: %v", w.events)
	}
	consul := at("start unit-consul", true)
	if first := at("create unit-web-", true); first < consul {
		t.Errorf("a worker is created (event %d) before Consul starts (event %d)", first, consul)
	}
	if reg := at("register unit-web-", true); reg < consul {
		t.Errorf("a worker registers (event %d) before Consul starts (event %d)", reg, consul)
	}
	tmpl := at("kv-put stackctl/unit/lb/template", true)
	if lb := at("create unit-lb", true); lb < tmpl {
		t.Errorf("the LB is created (event %d) before its template is written (event %d)", lb, tmpl)
	}
}

// An update keeps the plan's order: the template is written only after every
// worker was replaced.
func TestUpdateKeepsGroupsInOrder(t *testing.T) {
	w := testWorld()
	mustApply(t, w, stackFile(t, 4, "primes:v1", "start-first", "rollback", 2))
	s2 := stackFile(t, 4, "primes:v2", "start-first", "rollback", 2)
	s2.LB.TemplateSource += "# changed\n"
	from := len(w.events)
	mustApply(t, w, s2)
	lastWorker, tmpl := -1, -1
	for i, ev := range w.events[from:] {
		switch {
		case strings.HasPrefix(ev, "kv-put stackctl/unit/lb/template"):
			tmpl = i
		case strings.HasPrefix(ev, "remove "), strings.HasPrefix(ev, "stop ") && strings.Contains(ev, ".old-"):
			// Old workers drain, stop and are removed in the background
			// and at the end: the template waits for the new ones.
		case strings.Contains(ev, "unit-web-"):
			lastWorker = i
		}
	}
	if tmpl < 0 || lastWorker < 0 || tmpl < lastWorker {
		t.Errorf("template written at event %d, last worker event %d: %v", tmpl, lastWorker, w.events[from:])
	}
}

func TestStartFirstKeepsEveryInstancePassing(t *testing.T) {
	w := testWorld()
	mustApply(t, w, stackFile(t, 5, "primes:v1", "start-first", "rollback", 2))
	w.resetPassing()
	s2 := stackFile(t, 5, "primes:v2", "start-first", "rollback", 2)
	mustApply(t, w, s2)
	if w.minPassing < 5 {
		t.Errorf("passing instances dropped to %d during a start-first update of 5", w.minPassing)
	}
	for _, c := range w.containers {
		if strings.Contains(c.Name, ".old-") || strings.Contains(c.Name, ".new-") || c.ImageRef == "primes:v1" {
			t.Errorf("left behind: %s (%s)", c.Name, c.ImageRef)
		}
	}
}

// A start-first replace changes the LB's membership once per slot: one
// registration of the slot's ID at the new container's address takes the
// old one out and the new one in; no temporary registration, no
// deregistration.
func TestStartFirstChangesMembershipOncePerSlot(t *testing.T) {
	w := testWorld()
	mustApply(t, w, stackFile(t, 5, "primes:v1", "start-first", "rollback", 2))
	from := len(w.events)
	mustApply(t, w, stackFile(t, 5, "primes:v2", "start-first", "rollback", 2))
	registered := map[string]int{}
	for _, ev := range w.events[from:] {
		f := strings.Fields(ev)
		switch {
		case f[0] == "deregister":
			t.Errorf("%s during a start-first update", ev)
		case f[0] == "register":
			registered[f[1]]++
		}
	}
	for slot := 1; slot <= 5; slot++ {
		id := fmt.Sprintf("unit-web-%d", slot)
		if registered[id] != 1 {
			t.Errorf("%s registered %d times, want once", id, registered[id])
		}
		delete(registered, id)
	}
	if len(registered) > 0 {
		t.Errorf("other registrations during the update: %v", registered)
	}
}

func TestStopFirstReplaces(t *testing.T) {
	w := testWorld()
	mustApply(t, w, stackFile(t, 3, "primes:v1", "stop-first", "rollback", 1))
	w.resetPassing()
	mustApply(t, w, stackFile(t, 3, "primes:v2", "stop-first", "rollback", 1))
	if w.minPassing < 2 {
		t.Errorf("stop-first with parallelism 1 dropped to %d passing of 3", w.minPassing)
	}
}

func TestBadImageRollsBackToTheSameContainers(t *testing.T) {
	for _, order := range []string{"start-first", "stop-first"} {
		t.Run(order, func(t *testing.T) {
			w := testWorld()
			mustApply(t, w, stackFile(t, 4, "primes:v1", order, "rollback", 2))
			w.resetPassing()
			before := w.snapshot()
			r, _ := w.apply(t, stackFile(t, 4, "primes:bad", order, "rollback", 2), Options{Lock: true})
			if r.OK() {
				t.Fatal("apply of a never-passing image succeeded")
			}
			var np *NotPassingError
			if !errors.As(r.Err, &np) {
				t.Errorf("error %v, want NotPassingError", r.Err)
			}
			if r.RollbackErr != nil || len(r.RolledBack) == 0 || !r.Restored {
				t.Errorf("rolled back %v, errors %v, restored %t", r.RolledBack, r.RollbackErr, r.Restored)
			}
			if after := w.snapshot(); after != before {
				t.Errorf("state after rollback differs:\n%s", diffLines(before, after))
			}
			if order == "start-first" && w.minPassing < 4 {
				t.Errorf("passing dropped to %d during a failed start-first update", w.minPassing)
			}
		})
	}
}

// A rollback that could not undo a step leaves the stack as it is now,
// not as it was: the report does not call it restored.
func TestRollbackThatFailsIsNotRestored(t *testing.T) {
	w := testWorld()
	mustApply(t, w, stackFile(t, 2, "primes:v1", "stop-first", "rollback", 2))
	w.failOn["register:unit-web-1"] = errors.New("consul says no")
	r, _ := w.apply(t, stackFile(t, 2, "primes:bad", "stop-first", "rollback", 2), Options{Lock: true})
	if r.OK() || r.RollbackErr == nil || r.Restored {
		t.Fatalf("error %v, rollback errors %v, restored %t; want a rollback that failed", r.Err, r.RollbackErr, r.Restored)
	}
	var b strings.Builder
	_ = r.Write(&b)
	if !strings.Contains(b.String(), "Could NOT roll back") || !strings.Contains(b.String(), "consul says no") {
		t.Errorf("report does not say what could not be rolled back:\n%s", b.String())
	}
}

func TestPauseLeavesPartialStateAndSaysSo(t *testing.T) {
	w := testWorld()
	mustApply(t, w, stackFile(t, 4, "primes:v1", "start-first", "pause", 2))
	r, _ := w.apply(t, stackFile(t, 4, "primes:bad", "start-first", "pause", 2), Options{Lock: true})
	if r.OK() || !r.Paused || len(r.RolledBack) != 0 || r.Restored {
		t.Fatalf("report: ok %t paused %t rolled back %v restored %t", r.OK(), r.Paused, r.RolledBack, r.Restored)
	}
	var b strings.Builder
	_ = r.Write(&b)
	if !strings.Contains(b.String(), "pause") {
		t.Errorf("report does not say it paused:\n%s", b.String())
	}
	j := w.kv["stackctl/unit/journal"]
	if !strings.Contains(string(j), `"paused":true`) {
		t.Errorf("journal not kept as paused: %s", j)
	}
	// The next apply starts from the partial state and converges.
	mustApply(t, w, stackFile(t, 4, "primes:v2", "start-first", "pause", 2))
}

// A failure after each step in turn of a scale-up with an image change
// leaves the stack exactly as it was.
func TestFailureAtEveryStepRollsBackExactly(t *testing.T) {
	from := stackFile(t, 20, "primes:v1", "start-first", "rollback", 4)
	to := stackFile(t, 25, "primes:v2", "start-first", "rollback", 4)
	w := testWorld()
	mustApply(t, w, from)
	steps := len(plan.Compute(to, w.observe(t, to)).Steps)
	if steps != 25 {
		t.Fatalf("%d steps, want 25", steps)
	}
	for n := 1; n <= steps; n++ {
		w := testWorld()
		mustApply(t, w, from)
		w.resetPassing()
		before := w.snapshot()
		r, _ := w.applyFaulty(t, to, Options{Lock: true}, faults{failAfter: n})
		if !errors.Is(r.Err, ErrInjected) {
			t.Fatalf("step %d: error %v, want the injected one", n, r.Err)
		}
		if r.RollbackErr != nil || !r.Restored {
			t.Errorf("step %d: rollback errors: %v, restored %t", n, r.RollbackErr, r.Restored)
		}
		if after := w.snapshot(); after != before {
			t.Fatalf("after a failure at step %d the state differs:\n%s", n, diffLines(before, after))
		}
		if w.minPassing < 20 {
			t.Errorf("step %d: passing dropped to %d", n, w.minPassing)
		}
	}
}

// A crash (the process gone, journal left) after any step is rolled back by
// the next apply, which then converges with no orphans.
func TestCrashIsRolledBackByTheNextApply(t *testing.T) {
	from := stackFile(t, 6, "primes:v1", "start-first", "rollback", 2)
	to := stackFile(t, 8, "primes:v2", "start-first", "rollback", 2)
	for n := 1; n <= 8; n++ {
		w := testWorld()
		mustApply(t, w, from)
		before := w.snapshot()
		r, _ := w.applyFaulty(t, to, Options{Lock: true}, faults{crashAfter: n})
		if !errors.Is(r.Err, ErrCrashed) {
			t.Fatalf("crash %d: %v", n, r.Err)
		}
		if w.kv["stackctl/unit/journal"] == nil {
			t.Fatalf("crash %d: no journal left", n)
		}
		e := w.executor(from, Options{Lock: true})
		rec, err := e.Prepare(context.Background(), w.observe(t, from))
		e.Unlock()
		if err != nil || rec == nil || rec.RollbackErr != nil {
			t.Fatalf("crash %d: recovery: %v %+v", n, err, rec)
		}
		if after := w.snapshot(); after != before {
			t.Fatalf("crash %d: state after recovery differs:\n%s", n, diffLines(before, after))
		}
		mustApply(t, w, to)
		for _, c := range w.containers {
			if strings.Contains(c.Name, ".") {
				t.Errorf("crash %d: orphan %s", n, c.Name)
			}
		}
	}
}

// A crash after every step succeeded, while the apply removes the old
// containers it kept stopped, is not rolled back: the journal says the apply
// completed, and the next run finishes the removal, whether none or all of
// them were gone. (Rolling back there failed for ever: the containers to
// restore were already removed.)
func TestCrashWhileRemovingKeptContainersIsFinished(t *testing.T) {
	from := stackFile(t, 6, "primes:v1", "start-first", "rollback", 2)
	to := stackFile(t, 6, "primes:v2", "start-first", "rollback", 2)
	for _, at := range []int{1, 2} {
		w := testWorld()
		mustApply(t, w, from)
		r, _ := w.applyFaulty(t, to, Options{Lock: true}, faults{crashInCleanup: at})
		if !errors.Is(r.Err, ErrCrashed) {
			t.Fatalf("crash %d: %v", at, r.Err)
		}
		if j := w.kv["stackctl/unit/journal"]; j == nil || !strings.Contains(string(j), `"completed":true`) {
			t.Fatalf("crash %d: journal %q, want one marked completed", at, j)
		}
		stopped := 0
		for _, c := range w.containers {
			if !c.Running() {
				stopped++
			}
		}
		if want := map[int]int{1: 6, 2: 0}[at]; stopped != want {
			t.Fatalf("crash %d: %d stopped containers left, want %d", at, stopped, want)
		}
		e := w.executor(to, Options{Lock: true})
		rec, err := e.Prepare(context.Background(), w.observe(t, to))
		e.Unlock()
		if err != nil || rec == nil || rec.Recovered != RecoveredFinished || rec.Err != nil || len(rec.RolledBack) != 0 {
			t.Fatalf("crash %d: recovery: %v %+v", at, err, rec)
		}
		if w.kv["stackctl/unit/journal"] != nil {
			t.Errorf("crash %d: journal still there after the recovery", at)
		}
		for _, c := range w.containers {
			if !c.Running() || c.ImageRef != "primes:v2" && c.Service() == "web" {
				t.Errorf("crash %d: left %s (%s, running %t)", at, c.Name, c.ImageRef, c.Running())
			}
		}
		if p := plan.Compute(to, w.observe(t, to)); len(p.Steps) != 0 {
			t.Errorf("crash %d: plan after the recovery has %d steps: %v", at, len(p.Steps), p.Steps)
		}
	}
}

// A crash of a first apply, after any step, is not rolled back: the next
// apply carries on from what it left (everything there was added by it) and
// converges, with no orphans and no journal left.
func TestCrashedFirstApplyIsResumed(t *testing.T) {
	s := stackFile(t, 6, "primes:v1", "start-first", "rollback", 2)
	steps := len(plan.Compute(s, testWorld().observe(t, s)).Steps)
	resumed := 0
	for n := 1; n < steps; n++ {
		w := testWorld()
		if r, _ := w.applyFaulty(t, s, Options{Lock: true}, faults{crashAfter: n}); !errors.Is(r.Err, ErrCrashed) {
			t.Fatalf("crash %d: %v", n, r.Err)
		}
		hadJournal := w.kv["stackctl/unit/journal"] != nil
		e := w.executor(s, Options{Lock: true})
		state := w.observe(t, s)
		rec, err := e.Prepare(context.Background(), state)
		if err != nil {
			t.Fatalf("crash %d: prepare: %v", n, err)
		}
		if hadJournal {
			if rec == nil || rec.Recovered != RecoveredResumed || len(rec.RolledBack) != 0 {
				t.Fatalf("crash %d: recovery %+v, want the unfinished apply resumed", n, rec)
			}
			resumed++
		}
		// Steps running beside the Nth did their work without recording
		// it: the plan may be empty, and its run then only deletes the
		// journal.
		state = w.observe(t, s)
		p := plan.Compute(s, state)
		for _, st := range p.Steps {
			if st.Action != plan.ActionCreate && st.Kind != plan.KindRegistration {
				t.Errorf("crash %d: the resuming plan %s %s: it should only add what is missing", n, st.Action, st.ID)
			}
		}
		if r := e.Run(context.Background(), p, state); !r.OK() {
			t.Fatalf("crash %d: resuming apply: %v", n, r.Err)
		}
		if p := plan.Compute(s, w.observe(t, s)); !p.Empty() {
			t.Errorf("crash %d: not converged: %+v", n, p.Steps)
		}
		if w.kv["stackctl/unit/journal"] != nil {
			t.Errorf("crash %d: journal left", n)
		}
		for _, c := range w.containers {
			if strings.Contains(c.Name, ".") {
				t.Errorf("crash %d: orphan %s", n, c.Name)
			}
		}
	}
	if resumed == 0 {
		t.Fatal("no crash left a journal: nothing was resumed")
	}
}

// An apply that carries on from a crashed one and then fails rolls back
// both: the stack ends as it was before the first of them.
func TestFailureAfterResumingRollsBackBoth(t *testing.T) {
	from := stackFile(t, 4, "primes:v1", "start-first", "rollback", 2)
	to := stackFile(t, 12, "primes:v1", "start-first", "rollback", 2) // a scale-up only adds
	further := stackFile(t, 14, "primes:v1", "start-first", "rollback", 2)
	for n := 1; n <= 3; n++ {
		w := testWorld()
		mustApply(t, w, from)
		before := w.snapshot()
		// One step at a time, so that most of the scale-up is left to do.
		if r, _ := w.applyFaulty(t, to, Options{Lock: true, Workers: 1}, faults{crashAfter: n}); !errors.Is(r.Err, ErrCrashed) {
			t.Fatalf("crash %d: %v", n, r.Err)
		}
		if w.snapshot() == before {
			t.Fatalf("crash %d: the crashed apply changed nothing", n)
		}
		// The resuming apply goes two workers further, so that it has a
		// step to fail even when the crashed one had done all of its own
		// (steps beside the Nth may finish without recording it).
		r, _ := w.applyFaulty(t, further, Options{Lock: true}, faults{failAfter: 1})
		if !errors.Is(r.Err, ErrInjected) || r.RollbackErr != nil {
			t.Fatalf("crash %d: resuming apply: %v, rollback: %v", n, r.Err, r.RollbackErr)
		}
		if after := w.snapshot(); after != before {
			t.Fatalf("crash %d: after the failed resume the state differs:\n%s", n, diffLines(before, after))
		}
	}
}

// A crashed apply that changed something the stack had (here: replaced
// workers) is not resumable, and a journal that only added is.
func TestOnlyAddingJournalsAreResumable(t *testing.T) {
	step := func(status string, u *Undo) JournalStep {
		js := JournalStep{Undo: u}
		js.Status = status
		return js
	}
	empty := &Undo{Op: UndoContainer, Restore: &Restore{Role: plan.RoleWorker, Name: "w-1"}}
	replaced := &Undo{Op: UndoContainer, Restore: &Restore{Role: plan.RoleWorker, Name: "w-1", OldID: "abc"}}
	old := "old"
	for _, tc := range []struct {
		name string
		j    Journal
		want bool
	}{
		{"adds only", Journal{Operation: "apply", Steps: []JournalStep{
			step(plan.JournalDone, &Undo{Op: UndoNetwork, Name: "n"}), step(plan.JournalRunning, empty),
			step(plan.JournalDone, &Undo{Op: UndoKV, Name: "k"}), step(plan.JournalPending, replaced)}}, true},
		{"replaced a container", Journal{Operation: "apply", Steps: []JournalStep{step(plan.JournalDone, replaced)}}, false},
		{"changed a key", Journal{Operation: "apply", Steps: []JournalStep{step(plan.JournalDone, &Undo{Op: UndoKV, Name: "k", Value: &old})}}, false},
		{"re-registered", Journal{Operation: "apply", Steps: []JournalStep{step(plan.JournalDone, &Undo{Op: UndoRegistration, Registration: &Registration{ID: "w-1"}})}}, false},
		{"started without an undo", Journal{Operation: "apply", Steps: []JournalStep{step(plan.JournalRunning, nil)}}, false},
		{"paused", Journal{Operation: "apply", Paused: true}, false},
		{"a destroy", Journal{Operation: "destroy"}, false},
		{"resumes one that replaced", Journal{Operation: "apply", Resumes: &Journal{Operation: "apply", Steps: []JournalStep{step(plan.JournalDone, replaced)}}}, false},
	} {
		if got := tc.j.resumable(); got != tc.want {
			t.Errorf("%s: resumable %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A start of the LB that a killed apply sent can land after the next apply
// observed the LB as created: the LB runs already when that apply's start
// step starts it, and rendered before the step began. That render counts;
// waiting for a newer one would wait for ever where nothing re-renders.
func TestLBStartedBehindTheApplysBackIsReady(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 3, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	lb := w.byName("unit-lb")
	_ = fakeDocker{w}.StopContainer(context.Background(), lb.ID, 0)
	e := w.executor(s, Options{Lock: true})
	state := w.observe(t, s)
	if _, err := e.Prepare(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	p := plan.Compute(s, state)
	if len(p.Steps) != 1 || p.Steps[0].Action != plan.ActionStart {
		t.Fatalf("plan %+v, want one LB start", p.Steps)
	}
	// The late start lands, and the LB renders, before the step begins.
	if err := (fakeDocker{w}).StartContainer(context.Background(), lb.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r := e.Run(ctx, p, state); !r.OK() {
		t.Fatalf("start of an LB that runs already: %v", r.Err)
	}
}

// The journal a crashed apply leaves is what plan reads to warn about it:
// the shared part (plan.Journal) parses, with the right counts.
func TestCrashJournalIsReadByPlan(t *testing.T) {
	from := stackFile(t, 4, "primes:v1", "start-first", "rollback", 2)
	to := stackFile(t, 4, "primes:v2", "start-first", "rollback", 2)
	w := testWorld()
	mustApply(t, w, from)
	r, p := w.applyFaulty(t, to, Options{Lock: true}, faults{crashAfter: 2})
	if !errors.Is(r.Err, ErrCrashed) {
		t.Fatalf("crash: %v", r.Err)
	}
	var pj plan.Journal
	if err := json.Unmarshal(w.kv["stackctl/unit/journal"], &pj); err != nil || pj.FormatVersion != 1 {
		t.Fatalf("journal does not parse as plan.Journal (version %d): %v", pj.FormatVersion, err)
	}
	done := 0
	for _, st := range pj.Steps {
		if st.Status == plan.JournalDone {
			done++
		}
	}
	if len(pj.Steps) != len(p.Steps) || done != 2 {
		t.Errorf("plan reads %d steps, %d done; want %d and 2", len(pj.Steps), done, len(p.Steps))
	}
	next := plan.Compute(to, w.observe(t, to))
	want := fmt.Sprintf("%d of %d steps were not done", len(p.Steps)-2, len(p.Steps))
	found := false
	for _, warn := range next.Warnings {
		found = found || strings.Contains(warn.Summary, want)
	}
	if !found {
		t.Errorf("plan warnings %+v do not say %q", next.Warnings, want)
	}
}

func TestSecondApplyFailsWithTheLockHolder(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 2, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	first := w.executor(s, Options{Lock: true, Holder: "alice@host pid 1"})
	if _, err := first.Prepare(context.Background(), w.observe(t, s)); err != nil {
		t.Fatal(err)
	}
	defer first.Unlock()
	second := w.executor(s, Options{Lock: true, Holder: "bob@host pid 2"})
	_, err := second.Prepare(context.Background(), w.observe(t, s))
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.Holder != "alice@host pid 1" || le.Holder.Since.IsZero() {
		t.Fatalf("error %v, want LockedError naming alice", err)
	}
	if !strings.Contains(err.Error(), "alice@host pid 1") || !strings.Contains(err.Error(), "since") {
		t.Errorf("message %q does not say who and since when", err)
	}
}

// lockLoser loses the apply's lock when the first worker step finishes.
type lockLoser struct {
	nopProgress
	once sync.Once
	lose func()
}

func (l *lockLoser) StepFinished(step plan.Step, _ time.Duration, _ error) {
	if step.Kind == plan.KindWorker {
		l.once.Do(l.lose)
	}
}

// A lock lost in the middle of an apply stops it; it rolls back once it
// holds the lock again, and leaves the stack as it was.
func TestLostLockStopsAndRollsBack(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 4, "primes:v1", "start-first", "rollback", 1)
	mustApply(t, w, s)
	before := w.snapshot()
	loser := &lockLoser{lose: func() { w.loseLock("stackctl/unit/lock", nil) }}
	r, _ := w.apply(t, stackFile(t, 4, "primes:v2", "start-first", "rollback", 1), Options{Lock: true, Progress: loser})
	if !errors.Is(r.Err, ErrLockLost) || r.RollbackErr != nil || len(r.RolledBack) == 0 || !r.Restored {
		t.Fatalf("error %v, rollback %v (%d undone, restored %t), want ErrLockLost and a rollback", r.Err, r.RollbackErr, len(r.RolledBack), r.Restored)
	}
	if after := w.snapshot(); after != before {
		t.Errorf("after the lost lock the state differs:\n%s", diffLines(before, after))
	}
	var b strings.Builder
	_ = r.Write(&b)
	if !strings.Contains(b.String(), "lock was lost") {
		t.Errorf("report does not say the lock was lost:\n%s", b.String())
	}
}

// When another apply took the lost lock, this one touches nothing more: its
// journal stays for the new holder, who rolls it back.
func TestLostLockTakenByAnotherLeavesTheJournal(t *testing.T) {
	old := relockWait
	relockWait = 50 * time.Millisecond
	defer func() { relockWait = old }()
	w := testWorld()
	s := stackFile(t, 4, "primes:v1", "start-first", "rollback", 1)
	mustApply(t, w, s)
	before := w.snapshot()
	loser := &lockLoser{lose: func() { w.loseLock("stackctl/unit/lock", []byte(`{"holder":"bob"}`)) }}
	r, _ := w.apply(t, stackFile(t, 4, "primes:v2", "start-first", "rollback", 1), Options{Lock: true, Progress: loser})
	if !errors.Is(r.Err, ErrLockLost) || r.RollbackErr == nil || len(r.RolledBack) != 0 || r.Restored {
		t.Fatalf("error %v, rollback %v (%d undone, restored %t), want ErrLockLost and no rollback", r.Err, r.RollbackErr, len(r.RolledBack), r.Restored)
	}
	if !strings.Contains(r.RollbackErr.Error(), "bob") {
		t.Errorf("rollback error %v does not name the new holder", r.RollbackErr)
	}
	if w.kv["stackctl/unit/journal"] == nil {
		t.Fatal("the journal is gone: the new holder could not roll this apply back")
	}
	w.loseLock("stackctl/unit/lock", nil)
	delete(w.locks, "stackctl/unit/lock") // bob finished
	rec, _ := w.apply(t, s, Options{Lock: true})
	if !rec.OK() {
		t.Fatalf("the next apply failed: %v", rec.Err)
	}
	if after := w.snapshot(); after != before {
		t.Errorf("the next apply did not restore the state:\n%s", diffLines(before, after))
	}
}

func TestFirstApplyNameConflictIsAClearRefusal(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 2, "primes:v1", "start-first", "rollback", 2)
	state := w.observe(t, s)
	p := plan.Compute(s, state)
	// Another apply created the network and Consul after this plan was made.
	ctx := context.Background()
	fakeDocker{w}.CreateNetwork(ctx, "unit", map[string]string{spec.LabelStack: "unit", LabelApply: "other"})
	fakeDocker{w}.CreateContainer(ctx, ContainerSpec{Name: "unit-consul", Image: "consul:test", Network: "unit",
		Labels: map[string]string{spec.LabelStack: "unit", spec.LabelRole: plan.RoleConsul, LabelApply: "other"}})
	before := w.snapshot()
	r := w.executor(s, Options{Lock: true}).Run(ctx, p, state)
	if r.OK() || !errors.Is(r.Err, ErrNameConflict) || !strings.Contains(r.Err.Error(), "another apply") {
		t.Fatalf("error %v, want a name conflict naming another apply", r.Err)
	}
	// The other apply's network and Consul are left as they were.
	if after := w.snapshot(); after != before {
		t.Errorf("the refused apply changed what the other made:\n%s", diffLines(before, after))
	}
}

// A network that a killed apply's late create made after the plan saw none
// is the stack's: the next apply uses it, and does not remove it when it
// fails (it did not create it).
func TestNetworkCreatedBehindTheApplysBackIsAdopted(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 2, "primes:v1", "start-first", "rollback", 2)
	state := w.observe(t, s)
	p := plan.Compute(s, state)
	ctx := context.Background()
	killed := plan.NetworkLabels(s)
	killed[LabelApply] = "killed"
	fakeDocker{w}.CreateNetwork(ctx, "unit", killed)
	if r := w.executor(s, Options{Lock: true}).Run(ctx, p, state); !r.OK() {
		t.Fatalf("apply over a network created behind its back: %v", r.Err)
	}
	if p := plan.Compute(s, w.observe(t, s)); !p.Empty() {
		t.Errorf("not converged: %+v\n%s", p.Steps, strings.Join(w.events, "\n"))
	}
	// A failing apply from nothing leaves the adopted network, not more.
	// (The fake's Consul is not in a container: its keys outlive it.)
	w = testWorld()
	fakeDocker{w}.CreateNetwork(ctx, "unit", killed)
	e := w.executor(s, Options{Lock: true})
	e.faults.failAfter = 3
	if r := e.Run(ctx, p, state); r.OK() || r.RollbackErr != nil {
		t.Fatalf("injected failure: %v, rollback: %v", r.Err, r.RollbackErr)
	}
	if len(w.containers) != 0 || len(w.networks) != 1 {
		t.Errorf("after the failure: %s", w.snapshot())
	}
}

func TestDestroyRemovesOnlyWhatTheStackOwns(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 3, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	fakeDocker{w}.CreateContainer(context.Background(), ContainerSpec{Name: "foreign", Image: "primes:v1", Labels: map[string]string{"x": "y"}})
	state := w.observe(t, s)
	e := w.executor(s, Options{Lock: true, Operation: "destroy"})
	if _, err := e.Prepare(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	r := e.Run(context.Background(), plan.ComputeDestroy(s, state), state)
	if !r.OK() {
		t.Fatalf("destroy: %v", r.Err)
	}
	if len(w.containers) != 1 || w.byName("foreign") == nil || len(w.networks) != 0 {
		t.Errorf("left: %s", w.snapshot())
	}
}

// A stack with nothing but its network left (its containers were removed
// by hand) has no Consul: destroy removes the network without asking one.
func TestDestroyOfALoneNetworkNeedsNoConsul(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 1, "primes:v1", "start-first", "rollback", 1)
	if _, err := (fakeDocker{w}).CreateNetwork(context.Background(), s.NetworkName(), plan.NetworkLabels(s)); err != nil {
		t.Fatal(err)
	}
	state := w.observe(t, s)
	e := w.executor(s, Options{Lock: true, Operation: "destroy"})
	if _, err := e.Prepare(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	r := e.Run(context.Background(), plan.ComputeDestroy(s, state), state)
	if !r.OK() || r.Cleanup != nil {
		t.Fatalf("destroy: %v, clean-up: %v", r.Err, r.Cleanup)
	}
	if len(w.networks) != 0 {
		t.Errorf("left: %s", w.snapshot())
	}
}

func diffLines(a, b string) string {
	as, bs := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		as[l] = true
	}
	for _, l := range strings.Split(b, "\n") {
		bs[l] = true
	}
	var out []string
	for l := range as {
		if !bs[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range bs {
		if !as[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// New workers wait for a Consul that is being created; when its creation
// fails they give up at once, and everything is rolled back.
func TestConsulCreateFailureStopsWaitingWorkers(t *testing.T) {
	w := testWorld()
	w.failOn["create:unit-consul"] = errors.New("engine says no")
	s := stackFile(t, 4, "primes:v1", "start-first", "rollback", 2)
	done := make(chan *Report)
	go func() {
		r, _ := w.apply(t, s, Options{Lock: true})
		done <- r
	}()
	select {
	case r := <-done:
		if r.OK() || !strings.Contains(r.Err.Error(), "engine says no") {
			t.Errorf("error %v, want the engine's", r.Err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("apply hung waiting for a Consul that was never created")
	}
	if len(w.containers) != 0 || len(w.networks) != 0 {
		t.Errorf("left behind:\n%s", w.snapshot())
	}
}
