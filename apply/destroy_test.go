package apply

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// destroy plans the stack's destroy against the world and runs it, as the
// CLI does.
func (w *world) destroy(t *testing.T, s *spec.Stack, opts Options) *Report {
	t.Helper()
	opts.Lock, opts.Operation = true, "destroy"
	e := w.executor(s, opts)
	state := w.observe(t, s)
	if _, err := e.Prepare(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	return e.Run(context.Background(), plan.ComputeDestroy(s, state), state)
}

func (w *world) eventIndex(prefix string) int {
	return slices.IndexFunc(w.events, func(ev string) bool { return strings.HasPrefix(ev, prefix) })
}

// Destroy removes the workers' containers many at once, never more than
// its bound, and touches nothing the stack does not own: not an unlabelled
// container, not another stack's container or registration.
func TestDestroyRemovesContainersConcurrentlyAndOnlyOwned(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 24, "primes:v1", "start-first", "rollback", 4)
	mustApply(t, w, s)
	ctx := context.Background()
	fakeDocker{w}.CreateContainer(ctx, ContainerSpec{Name: "foreign", Image: "primes:v1", Labels: map[string]string{"x": "y"}})
	fakeDocker{w}.CreateContainer(ctx, ContainerSpec{Name: "other-web-1", Image: "primes:v1",
		Labels: map[string]string{spec.LabelStack: "other", spec.LabelRole: plan.RoleWorker, spec.LabelService: "web", spec.LabelSlot: "1"}})
	fakeConsul{w}.Register(ctx, Registration{ID: "other-web-1", Service: "web", Meta: map[string]string{plan.MetaStack: "other"}})
	w.events = nil
	w.slowDocker = 20 * time.Millisecond
	r := w.destroy(t, s, Options{Workers: 8})
	if !r.OK() || r.Cleanup != nil {
		t.Fatalf("destroy: %v, clean-up: %v", r.Err, r.Cleanup)
	}
	if n := w.maxInFlight.Load(); n < 4 || n > 8 {
		t.Errorf("at most %d container stops and removals at once, want 4 to 8", n)
	}
	if len(w.containers) != 2 || w.byName("foreign") == nil || w.byName("other-web-1") == nil || len(w.networks) != 0 {
		t.Errorf("left: %s", w.snapshot())
	}
	// The stack's registrations went with its Consul container (the fake
	// keeps them: its Consul is not in a container); the other stack's
	// stays.
	if _, ok := w.regs["other-web-1"]; !ok {
		t.Errorf("another stack's registration was removed")
	}
	for _, ev := range w.events {
		if strings.Contains(ev, "foreign") || strings.Contains(ev, "other-") {
			t.Errorf("touched what the stack does not own: %s", ev)
		}
	}
	lb, firstWorker, consul := w.eventIndex("remove unit-lb"), w.eventIndex("stop unit-web-"), w.eventIndex("remove unit-consul")
	network := w.eventIndex("remove-network")
	if lb < 0 || firstWorker < lb || consul < firstWorker || network != len(w.events)-1 || consul != network-1 {
		t.Errorf("order: LB removed at %d, first worker stopped at %d, Consul removed at %d, network at %d of %d events",
			lb, firstWorker, consul, network, len(w.events))
	}
}

// A destroy that fails is not rolled back: what went stays gone, what did
// not depend on the failed step still goes, the journal goes, and the next
// destroy removes the rest.
func TestFailedDestroyIsNotRolledBackAndTheNextOneFinishes(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 4, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	w.failOn["remove:unit-web-2"] = errors.New("engine says no")
	r := w.destroy(t, s, Options{})
	if r.OK() || !r.ForwardOnly || len(r.RolledBack) != 0 || r.RollbackErr != nil || r.Restored {
		t.Fatalf("report %+v, want a failure left as it is", r)
	}
	var b strings.Builder
	_ = r.Write(&b)
	if !strings.Contains(b.String(), "destroy again") {
		t.Errorf("report does not say what to do:\n%s", b.String())
	}
	for _, gone := range []string{"unit-lb", "unit-web-1", "unit-web-3", "unit-web-4"} {
		if w.byName(gone) != nil {
			t.Errorf("%s was not removed", gone)
		}
	}
	// Consul's container and the network come after every worker.
	if w.byName("unit-web-2") == nil || w.byName("unit-consul") == nil || len(w.networks) != 1 || w.kv["stackctl/unit/journal"] != nil {
		t.Errorf("after the failed destroy: %s", w.snapshot())
	}
	delete(w.failOn, "remove:unit-web-2")
	if r := w.destroy(t, s, Options{}); !r.OK() {
		t.Fatalf("second destroy: %v", r.Err)
	}
	if len(w.containers) != 0 || len(w.networks) != 0 {
		t.Errorf("left: %s", w.snapshot())
	}
}

// A rollback restores the slots of every batch of a rolling update at once.
func TestUndoBatchesJoinWorkerGroups(t *testing.T) {
	step := func(id, group string) JournalStep {
		js := JournalStep{Group: group}
		js.ID = id
		return js
	}
	steps := []JournalStep{
		step("network/n", plan.GroupNetwork),
		step("worker/w-1", "workers/web/1"), step("worker/w-2", "workers/web/1"),
		step("worker/w-3", "workers/web/2"),
		step("worker/a-1", "workers/api/1"),
		step("registration/w-4", plan.GroupRegistrations),
		step("template/t", plan.GroupTemplate),
		step("worker/w-5", plan.GroupDestroy),
	}
	var got []string
	for _, b := range undoBatches(steps) {
		var ids []string
		for _, st := range b {
			ids = append(ids, st.ID)
		}
		got = append(got, strings.Join(ids, ","))
	}
	want := []string{"network/n", "worker/w-1,worker/w-2,worker/w-3,worker/a-1", "registration/w-4", "template/t", "worker/w-5"}
	if !slices.Equal(got, want) {
		t.Errorf("batches %q, want %q", got, want)
	}
}

// With an external Consul, whose data outlives the stack, destroy
// deregisters the stack's instances and deletes its keys itself.
func TestDestroyWithAnExternalConsulDeregisters(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 3, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	s.Consul = spec.Consul{Address: "127.0.0.1:18500"}
	if r := w.destroy(t, s, Options{}); !r.OK() {
		t.Fatalf("destroy: %v", r.Err)
	}
	if len(w.regs) != 0 || w.kv["stackctl/unit/lb/template"] != nil || len(w.containers) != 0 {
		t.Errorf("left: %s, registrations %v", w.snapshot(), w.regs)
	}
}

// A destroy after a killed update does not roll the update back first (that
// would start old containers only to remove them): it removes all of it.
func TestDestroyAfterACrashRemovesWhatWasLeft(t *testing.T) {
	w := testWorld()
	from := stackFile(t, 4, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, from)
	to := stackFile(t, 4, "primes:v2", "start-first", "rollback", 2)
	if r, _ := w.applyFaulty(t, to, Options{Lock: true}, faults{crashAfter: 2}); !errors.Is(r.Err, ErrCrashed) {
		t.Fatalf("crash: %v", r.Err)
	}
	w.events = nil
	e := w.executor(to, Options{Lock: true, Operation: "destroy"})
	state := w.observe(t, to)
	rec, err := e.Prepare(context.Background(), state)
	if err != nil || rec == nil || rec.Recovered != RecoveredSuperseded || len(rec.RolledBack) != 0 {
		t.Fatalf("recovery: %v %+v", err, rec)
	}
	state = w.observe(t, to)
	if r := e.Run(context.Background(), plan.ComputeDestroy(to, state), state); !r.OK() {
		t.Fatalf("destroy: %v", r.Err)
	}
	if len(w.containers) != 0 || len(w.networks) != 0 {
		t.Errorf("left: %s", w.snapshot())
	}
	for _, ev := range w.events {
		if strings.HasPrefix(ev, "start ") {
			t.Errorf("the destroy started a container: %s", ev)
		}
	}
}
