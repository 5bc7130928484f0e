package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// results lists the results of entries, for compact comparisons.
func results(entries []plan.ReconcileEntry) string {
	var out []string
	for _, e := range entries {
		out = append(out, string(e.Trigger)+":"+string(e.Result))
	}
	return strings.Join(out, ", ")
}

func TestANewCommitIsApplied(t *testing.T) {
	r := newRig()
	a := r.agent()
	first := r.repo.commit("web: 2 replicas", stackYAML(2, "app:v1"))

	p := a.Once(context.Background())
	if got := results(p.Entries); got != "commit:applied" {
		t.Fatalf("first pass: %s; want commit:applied\n%s", got, r.logged())
	}
	if r.deploy.workers() != 2 {
		t.Errorf("%d workers run, want 2", r.deploy.workers())
	}
	if a := r.kv.applied(t); a == nil || a.Commit != first.Hash || a.Subject != "web: 2 replicas" || a.Ref != "main" || a.FormatVersion != 1 {
		t.Errorf("applied record %+v, want the first commit", a)
	}

	second := r.repo.commit("web: 3 replicas", stackYAML(3, "app:v1"))
	p = a.Once(context.Background())
	if got := results(p.Entries); got != "commit:applied" {
		t.Fatalf("second pass: %s; want commit:applied", got)
	}
	if r.deploy.workers() != 3 {
		t.Errorf("%d workers run, want 3", r.deploy.workers())
	}
	if a := r.kv.applied(t); a.Commit != second.Hash {
		t.Errorf("applied record at %s, want %s", a.Short, second.Short())
	}
	e := r.kv.history(t)[1]
	if e.Short != second.Short() || e.Changes != "1 to add, 0 to change, 0 to replace, 0 to destroy" || e.Time.IsZero() {
		t.Errorf("history entry %+v", e)
	}

	if p := a.Once(context.Background()); len(p.Entries) != 0 {
		t.Errorf("a pass with nothing new recorded %s", results(p.Entries))
	}
	if n := len(r.deploy.applied()); n != 2 {
		t.Errorf("%d applies, want 2: a pass with nothing new must not apply", n)
	}
}

func TestACommitThatChangesNothingLiveIsRecordedAsNoChanges(t *testing.T) {
	r := newRig()
	a := r.agent()
	r.repo.commit("web", stackYAML(2, "app:v1"))
	a.Once(context.Background())
	r.repo.commit("README only", stackYAML(2, "app:v1")) // same stack file, another commit

	if got := results(a.Once(context.Background()).Entries); got != "commit:no changes" {
		t.Errorf("pass: %s; want commit:no changes", got)
	}
}

func TestDriftIsHealed(t *testing.T) {
	r := newRig()
	a := r.agent()
	r.repo.commit("web", stackYAML(3, "app:v1"))
	a.Once(context.Background())

	r.deploy.world.Docker.RemoveContainer("t-web-2") // docker rm -f
	p := a.Once(context.Background())
	if got := results(p.Entries); got != "drift:applied" {
		t.Fatalf("pass after a worker was removed: %s; want drift:applied\n%s", got, r.logged())
	}
	if r.deploy.workers() != 3 {
		t.Errorf("%d workers run after the heal, want 3", r.deploy.workers())
	}
	e := p.Entries[0]
	if len(e.Drift) != 1 || !strings.HasPrefix(e.Drift[0], "create worker/t-web-2: ") {
		t.Errorf("drift recorded %q; want the missing worker", e.Drift)
	}
	if h := r.kv.history(t); len(h) != 2 || h[1].Trigger != plan.TriggerDrift {
		t.Errorf("history %s; want the heal recorded", results(h))
	}

	r.deploy.world.Docker.UpdateContainer("t-web-1", func(c *plan.Container) { c.State = plan.ContainerExited })
	if got := results(a.Once(context.Background()).Entries); got != "drift:applied" {
		t.Errorf("pass after a worker stopped: %s; want drift:applied", got)
	}
	r.deploy.world.Consul.SetStatus("t-web-3", plan.CheckCritical, "connection refused")
	if got := results(a.Once(context.Background()).Entries); got != "drift:applied" {
		t.Errorf("pass after a worker went critical: %s; want drift:applied", got)
	}
	if got := results(a.Once(context.Background()).Entries); got != "" {
		t.Errorf("pass once healed: %s; want nothing", got)
	}
}

func TestAnInvalidCommitIsRefusedAndTheLastGoodOneKeepsRunning(t *testing.T) {
	r := newRig()
	a := r.agent()
	good := r.repo.commit("web: 2", stackYAML(2, "app:v1"))
	a.Once(context.Background())

	bad := r.repo.commit("web: typo", strings.Replace(stackYAML(5, "app:v1"), "replicas:", "replica:", 1))
	p := a.Once(context.Background())
	if got := results(p.Entries); got != "commit:invalid" {
		t.Fatalf("pass at an invalid commit: %s; want commit:invalid\n%s", got, r.logged())
	}
	e := p.Entries[0]
	if e.Short != bad.Short() || !strings.HasPrefix(e.Error, "stack.yaml:8:5: unknown field \"replica\"") {
		t.Errorf("invalid entry of %s with error %q; want the problem at stack.yaml:8:5 (the file as the repository names it)", e.Short, e.Error)
	}
	if n := len(r.deploy.applied()); n != 1 {
		t.Errorf("%d applies; the invalid commit must not be applied", n)
	}
	if ap := r.kv.applied(t); ap.Commit != good.Hash {
		t.Errorf("applied record moved to %s", ap.Short)
	}
	if h := r.kv.history(t); len(h) != 2 || h[1].Result != plan.ResultInvalid {
		t.Errorf("history %s; want the refusal recorded", results(h))
	}

	// The refusal is recorded once; drift is healed against the last good
	// commit's stack file meanwhile.
	r.deploy.world.Docker.RemoveContainer("t-web-1")
	p = a.Once(context.Background())
	if got := results(p.Entries); got != "drift:applied" || p.Held == nil || p.Held.Result != plan.ResultInvalid {
		t.Fatalf("pass while the head is invalid: %s, held %+v; want drift:applied and the head held", got, p.Held)
	}
	if got := r.deploy.applied(); got[len(got)-1].replicas != 2 || r.deploy.workers() != 2 {
		t.Errorf("drift healed with %d replicas (%d run); want the last good commit's 2", got[len(got)-1].replicas, r.deploy.workers())
	}

	r.repo.commit("web: 4", stackYAML(4, "app:v1"))
	if got := results(a.Once(context.Background()).Entries); got != "commit:applied" {
		t.Fatalf("pass at the next good commit: %s; want commit:applied", got)
	}
	if r.deploy.workers() != 4 {
		t.Errorf("%d workers, want the next good commit's 4", r.deploy.workers())
	}
}

func TestARewindIsRefused(t *testing.T) {
	r := newRig()
	a := r.agent()
	first := r.repo.commit("v1", stackYAML(2, "app:v1"))
	a.Once(context.Background())
	second := r.repo.commit("v2", stackYAML(2, "app:v2"))
	a.Once(context.Background())

	rewound := r.repo.commitOn(first.Hash, "v1 again", stackYAML(2, "app:v1")) // a force-push on top of v1
	p := a.Once(context.Background())
	if got := results(p.Entries); got != "commit:refused" {
		t.Fatalf("pass after a force-push: %s; want commit:refused\n%s", got, r.logged())
	}
	if e := p.Entries[0].Error; !strings.Contains(e, rewound.Short()+" does not descend from "+second.Short()) || !strings.Contains(e, "--allow-rewind") {
		t.Errorf("refusal says %q", e)
	}
	if got := r.deploy.applied(); got[len(got)-1].image != "app:v2" {
		t.Errorf("the stack was moved to %s; it must stay at v2", got[len(got)-1].image)
	}

	// An agent started again reads the applied commit from the records and
	// refuses the rewind as well, without recording it a second time.
	again := r.agent()
	if p := again.Once(context.Background()); len(p.Entries) != 0 || p.Held == nil || p.Held.Result != plan.ResultRefused {
		t.Errorf("restarted agent: %s, held %+v; want the rewind held, not recorded again", results(p.Entries), p.Held)
	}

	allowed := r.agent(func(c *Config) { c.AllowRewind = true })
	if got := results(allowed.Once(context.Background()).Entries); got != "commit:applied" {
		t.Errorf("with AllowRewind: %s; want commit:applied", got)
	}
	if ap := r.kv.applied(t); ap.Commit != rewound.Hash {
		t.Errorf("applied record at %s, want the rewound commit", ap.Short)
	}
}

// TestAFailedApplyBacksOff runs the loop on a fake clock: a commit whose
// apply rolls back is tried again after 1, 2, 4 intervals, capped at
// MaxBackoff, and never sooner; a new commit is tried at once.
func TestAFailedApplyBacksOff(t *testing.T) {
	r := newRig()
	r.deploy.failImage = "app:bad"
	a := r.agent(func(c *Config) { c.MaxBackoff = 3 * time.Minute })
	r.repo.commit("v1", stackYAML(2, "app:v1"))
	a.Once(context.Background())
	r.repo.commit("bad image", stackYAML(2, "app:bad"))
	start := r.clock.Now()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	sleeps := 1
	r.clock.waitSleeps(t, sleeps)
	// Step the clock a minute at a time for 12 minutes: tries at 0 (the
	// first pass), then 1, 3 (1+2), 6 (3+3, the cap), 9 and 12 minutes.
	for range 12 {
		r.clock.Advance(time.Minute)
		sleeps++
		r.clock.waitSleeps(t, sleeps)
	}
	var tries []time.Duration
	for _, ap := range r.deploy.applied()[1:] {
		tries = append(tries, ap.at.Sub(start))
	}
	want := []time.Duration{0, time.Minute, 3 * time.Minute, 6 * time.Minute, 9 * time.Minute, 12 * time.Minute}
	if len(tries) != len(want) {
		t.Fatalf("tries at %v; want %v\n%s", tries, want, r.logged())
	}
	for i := range want {
		if tries[i] != want[i] {
			t.Fatalf("tries at %v; want %v", tries, want)
		}
	}
	if got := results(r.kv.history(t)[1:]); got != strings.Repeat("commit:rolled back, ", 5)+"commit:rolled back" {
		t.Errorf("history %s", got)
	}

	// A new commit resets the backoff: it is tried at the next pass.
	r.repo.commit("back to v1", stackYAML(2, "app:v1"))
	r.clock.Advance(time.Minute)
	sleeps++
	r.clock.waitSleeps(t, sleeps)
	if h := r.kv.history(t); h[len(h)-1].Result != plan.ResultNoChanges || h[len(h)-1].Subject != "back to v1" {
		t.Errorf("last entry %+v; want the new commit applied (no changes: v1 still runs)", h[len(h)-1])
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run ended with %v, want nil after cancellation", err)
	}
}

// TestAnAgentStartedAgainWaitsOutTheBackoffItEarned: the backoff is in the
// history, so a restarted agent (or a --once from cron) does not retry a
// failing commit sooner than the one before it would have.
func TestAnAgentStartedAgainWaitsOutTheBackoffItEarned(t *testing.T) {
	r := newRig()
	r.deploy.failImage = "app:bad"
	first := r.agent()
	r.repo.commit("v1", stackYAML(2, "app:v1"))
	first.Once(context.Background())
	r.repo.commit("bad image", stackYAML(2, "app:bad"))
	first.Once(context.Background()) // fails: next try in 1m
	r.clock.Advance(time.Minute)
	first.Once(context.Background()) // fails again: next try in 2m

	r.clock.Advance(time.Minute)
	again := r.agent()
	p := again.Once(context.Background())
	if len(p.Entries) != 0 || p.Held == nil || p.Held.Result != plan.ResultRolledBack {
		t.Fatalf("restarted agent 1m into a 2m backoff: %s, held %+v; want no try", results(p.Entries), p.Held)
	}
	r.clock.Advance(time.Minute)
	if got := results(again.Once(context.Background()).Entries); got != "commit:rolled back" {
		t.Errorf("once the backoff ran out: %s; want a try", got)
	}
	if n := len(r.deploy.applied()); n != 4 {
		t.Errorf("%d applies, want 4 (v1 and three tries)", n)
	}
}

func TestWakeTriesAgainAtOnceAndRecordsEvenNoChanges(t *testing.T) {
	r := newRig()
	r.deploy.failImage = "app:bad"
	a := r.agent()
	r.repo.commit("v1", stackYAML(2, "app:v1"))
	a.Once(context.Background())
	r.repo.commit("bad image", stackYAML(2, "app:bad"))
	a.Once(context.Background())
	r.deploy.mu.Lock()
	r.deploy.failImage = "" // someone built the image
	r.deploy.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	r.clock.waitSleeps(t, 1) // the first pass is in the backoff: no try
	if n := len(r.deploy.applied()); n != 2 {
		t.Fatalf("%d applies before the wake, want 2", n)
	}
	a.Wake()
	r.clock.waitSleeps(t, 2)
	if got := results(r.kv.history(t)[2:]); got != "commit:applied" {
		t.Errorf("after Wake: %s; want the commit applied at once", got)
	}
	a.Wake()
	r.clock.waitSleeps(t, 3)
	if got := results(r.kv.history(t)[3:]); got != "manual:no changes" {
		t.Errorf("second Wake: %s; want manual:no changes", got)
	}
	cancel()
	<-done
}

// TestCancellationEndsTheLoopAndRecordsTheApplyItCut: SIGTERM in the
// middle of an apply cancels it (apply rolls back) and the agent records
// that before it returns.
func TestCancellationEndsTheLoopAndRecordsTheApplyItCut(t *testing.T) {
	r := newRig()
	r.deploy.block = true
	a := r.agent()
	r.repo.commit("v1", stackYAML(2, "app:v1"))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	<-r.deploy.started
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end after its context was cancelled")
	}
	h := r.kv.history(t)
	if len(h) != 1 || h[0].Result != plan.ResultRolledBack || !strings.Contains(h[0].Error, "context canceled") {
		t.Errorf("history %+v; want the cut apply recorded as rolled back", h)
	}
	if !strings.Contains(r.logged(), "stopped") {
		t.Errorf("log does not say the agent stopped:\n%s", r.logged())
	}
}

func TestCancellationWhileAsleepEndsTheLoop(t *testing.T) {
	r := newRig()
	a := r.agent()
	r.repo.commit("v1", stackYAML(2, "app:v1"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	r.clock.waitSleeps(t, 1)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v, want nil", err)
	}
	if n := len(r.deploy.applied()); n != 1 {
		t.Errorf("%d applies, want 1", n)
	}
}

// TestRecordsWaitForTheStacksConsul: before the first apply creates the
// stack's Consul (or after a failed first apply rolled it away) nothing can
// be recorded; the entries are kept and written with the next record.
func TestRecordsWaitForTheStacksConsul(t *testing.T) {
	r := newRig()
	r.deploy.failImage = "app:bad"
	r.kv.setDown(true)
	a := r.agent()
	r.repo.commit("bad first", stackYAML(2, "app:bad"))
	if got := results(a.Once(context.Background()).Entries); got != "commit:rolled back" {
		t.Fatalf("first pass: %s", got)
	}
	if h := r.kv.history(t); len(h) != 0 {
		t.Fatalf("recorded %s while Consul was down", results(h))
	}
	r.kv.setDown(false)
	r.repo.commit("good", stackYAML(2, "app:v1"))
	a.Once(context.Background())
	if got := results(r.kv.history(t)); got != "commit:rolled back, commit:applied" {
		t.Errorf("history %s; want both passes, in order", got)
	}
}

func TestAFetchThatFailsStillHealsDrift(t *testing.T) {
	r := newRig()
	a := r.agent()
	r.repo.commit("v1", stackYAML(2, "app:v1"))
	a.Once(context.Background())
	r.repo.fetchErr = context.DeadlineExceeded
	r.deploy.world.Docker.RemoveContainer("t-web-1")
	p := a.Once(context.Background())
	if p.FetchErr == nil || results(p.Entries) != "drift:applied" {
		t.Errorf("pass: fetch error %v, %s; want the error and drift healed", p.FetchErr, results(p.Entries))
	}
}

func TestTheHistoryIsExtendedWithCheckAndSet(t *testing.T) {
	kv := newFakeKV()
	key := "stackctl/t/" + plan.KVReconcileHistory
	if err := appendHistory(context.Background(), kv, key, []plan.ReconcileEntry{{Result: plan.ResultApplied}}); err != nil {
		t.Fatal(err)
	}
	racing := &racingKV{fakeKV: kv, races: 2}
	if err := appendHistory(context.Background(), racing, key, []plan.ReconcileEntry{{Result: plan.ResultError}}); err != nil {
		t.Fatal(err)
	}
	if got := results(kv.history(t)); got != ":applied, :no changes, :no changes, :error" {
		t.Errorf("history %s; want the other writer's entries kept", got)
	}
	if err := kv.KVPut(context.Background(), key, []byte(`{"format_version":2,"entries":[]}`)); err != nil {
		t.Fatal(err)
	}
	if err := appendHistory(context.Background(), kv, key, nil); err == nil || !strings.Contains(err.Error(), "newer stackctl") {
		t.Errorf("a newer history was overwritten (err %v)", err)
	}
}

// racingKV is a KV in which another writer appends an entry between each
// of the first races reads and the write that follows.
type racingKV struct {
	*fakeKV
	races int
}

func (r *racingKV) KVCAS(ctx context.Context, key string, value []byte, index uint64) (bool, error) {
	if r.races > 0 {
		r.races--
		if err := appendHistory(ctx, r.fakeKV, key, []plan.ReconcileEntry{{Result: plan.ResultNoChanges}}); err != nil {
			return false, err
		}
	}
	return r.fakeKV.KVCAS(ctx, key, value, index)
}

// peekingRepo is a fakeRepo whose ref can be read without a fetch.
type peekingRepo struct{ *fakeRepo }

func (r peekingRepo) Peek(context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head, nil
}

// TestANewCommitWakesTheAgentBeforeTheInterval: with a Peeker source the
// agent applies a new commit a peek after it lands, not an interval later.
func TestANewCommitWakesTheAgentBeforeTheInterval(t *testing.T) {
	r := newRig()
	a := r.agent(func(c *Config) {
		c.Source, c.Interval, c.PeekEvery = peekingRepo{r.repo}, time.Hour, time.Second
	})
	r.repo.commit("v1", stackYAML(2, "app:v1"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return len(r.deploy.applied()) == 1 })

	r.repo.commit("v2", stackYAML(3, "app:v1"))
	start := r.clock.Now()
	waitFor(t, func() bool {
		r.clock.Advance(time.Second)
		return len(r.deploy.applied()) == 2
	})
	if took := r.clock.Now().Sub(start); took >= time.Hour {
		t.Errorf("the new commit was applied %s after it landed; want within a few peeks", took)
	}
}

// waitFor polls cond for up to 10 s of real time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// With DriftConfirm, drift is healed only if a second look, that long after
// the first, still sees it: a check that was critical for a moment (a
// worker just re-registered) replaces nothing.
func TestDriftIsHealedOnlyIfASecondLookStillSeesIt(t *testing.T) {
	r := newRig()
	a := r.agent(func(c *Config) { c.DriftConfirm = 3 * time.Second })
	r.repo.commit("web", stackYAML(3, "app:v1"))
	a.Once(context.Background())

	pass := func(between func()) string {
		t.Helper()
		r.clock.mu.Lock()
		sleeps := r.clock.afters
		r.clock.mu.Unlock()
		done := make(chan Pass, 1)
		go func() { done <- a.Once(context.Background()) }()
		r.clock.waitSleeps(t, sleeps+1)
		between()
		r.clock.Advance(3 * time.Second)
		select {
		case p := <-done:
			return results(p.Entries)
		case <-time.After(10 * time.Second):
			t.Fatal("the pass did not end")
			return ""
		}
	}
	r.deploy.world.Consul.SetStatus("t-web-3", plan.CheckCritical, "connection refused")
	if got := pass(func() { r.deploy.world.Consul.SetStatus("t-web-3", plan.CheckPassing, "") }); got != "" {
		t.Errorf("a critical check gone by the second look: %q, want nothing healed\n%s", got, r.logged())
	}
	if !strings.Contains(r.logged(), "not healed") {
		t.Errorf("the log does not say the drift was gone:\n%s", r.logged())
	}
	r.deploy.world.Docker.RemoveContainer("t-web-2")
	if got := pass(func() {}); got != "drift:applied" {
		t.Errorf("a removed worker still missing at the second look: %q, want drift:applied", got)
	}
}
