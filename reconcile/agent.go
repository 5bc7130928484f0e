// Package reconcile is the core of `stackctl reconcile`: an agent that
// follows one ref of a git repository and keeps a stack at the stack file
// of the newest good commit on it, healing drift in between.
//
// Every pass fetches the ref. A new commit is checked out and loaded; one
// whose stack file does not load is refused and recorded with its
// FILE:LINE:COL problems, and the stack stays at the last good commit. A
// commit that does not descend from the one applied last (a force-push, a
// rewind) is refused too, unless AllowRewind. Otherwise it is applied
// through the Deployer, which takes the stack's lock. With no new commit to
// apply, the pass plans the last good commit against live state and applies
// it when the plan is not empty: that is drift. A failed apply is tried
// again only after a backoff that doubles with each failure of the same
// commit. Every outcome is recorded in the stack's Consul KV (records.go).
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// Defaults of Config.
const (
	DefaultInterval   = 30 * time.Second
	DefaultMaxBackoff = 10 * time.Minute
)

// Config is what an Agent works with. Source, Load, Deploy and KV are
// required.
type Config struct {
	Source Source
	Load   Loader
	Deploy Deployer
	KV     KVDialer
	Clock  Clock             // nil: the real clock
	Log    func(line string) // one line per event; nil: silent

	Interval   time.Duration // between passes; 0: DefaultInterval
	MaxBackoff time.Duration // the longest wait after failures; 0: DefaultMaxBackoff
	// PeekEvery is how often a Source that is a Peeker is asked which
	// commit its ref points at, between passes; 0: never.
	PeekEvery time.Duration
	// AllowRewind lets a commit that does not descend from the applied one
	// be applied.
	AllowRewind bool
	// DriftConfirm is how long after drift is first seen the agent plans
	// again, and heals only what it sees then too; 0: at once. Live state
	// has transients a moment after a change: a worker just re-registered
	// may still show the critical result of a check that was running
	// against its old container, and healing that would replace a worker
	// that serves.
	DriftConfirm time.Duration

	// Where commits come from, for the records and the log.
	Repo, Ref, Path, Env string
}

// Agent follows a ref and keeps its stack there. One goroutine runs it,
// through Run or Once; Wake may be called from any.
type Agent struct {
	cfg     Config
	clock   Clock
	records *records
	backoff *backoff
	wake    chan struct{}

	head      string               // the commit the ref pointed at last
	headEntry *plan.ReconcileEntry // the head's last try, while it holds the head back
	applied   *Commit              // the commit last applied, by this agent or per the records
	good      *target              // the applied commit, loaded: what drift is healed against
	recalled  bool                 // the records were read
	said      map[string]bool      // what was logged once and need not be again
}

// target is a commit whose stack file loaded.
type target struct {
	commit Commit
	stack  *spec.Stack
	dir    string
}

// Pass is what one pass did.
type Pass struct {
	// Head is the commit the ref points at; nil when the fetch failed
	// (FetchErr).
	Head     *Commit
	FetchErr error
	// Entries are what the pass recorded, in order.
	Entries []plan.ReconcileEntry
	// Held is the head's earlier record when the pass did not try it
	// again: refused, or failed and waiting out its backoff.
	Held *plan.ReconcileEntry
}

// New returns an agent for cfg, with defaults filled in.
func New(cfg Config) *Agent {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	a := &Agent{cfg: cfg, clock: cfg.Clock, wake: make(chan struct{}, 1), said: map[string]bool{}}
	if a.clock == nil {
		a.clock = realClock{}
	}
	a.records = &records{dial: cfg.KV, log: a.logf}
	a.backoff = newBackoff(cfg.Interval, max(cfg.MaxBackoff, cfg.Interval))
	return a
}

// Run makes passes until ctx ends, which is not an error: the agent stops
// between two steps (an apply under way is cancelled and rolls back, as
// apply does on Ctrl-C, and is recorded).
func (a *Agent) Run(ctx context.Context) error {
	a.logf("following %s of %s, stack file %s, every %s", a.cfg.Ref, a.cfg.Repo, a.stackFile(), a.cfg.Interval)
	peeks, stopPeeking := a.peek(ctx)
	defer stopPeeking()
	manual := false
	for {
		a.pass(ctx, manual)
		var err error
		if manual, err = a.sleep(ctx, peeks); err != nil {
			a.logf("stopped")
			return nil
		}
	}
}

// Once makes one pass, as `stackctl reconcile --once` does.
func (a *Agent) Once(ctx context.Context) Pass { return a.pass(ctx, false) }

// Wake asks for a pass now that ignores the backoff and records its drift
// check even when nothing changed (trigger "manual"): SIGHUP, after
// fixing what made an apply fail.
func (a *Agent) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// pass fetches the ref, tries a new commit and, when none was tried,
// heals drift against the last good commit.
func (a *Agent) pass(ctx context.Context, manual bool) Pass {
	var p Pass
	head, err := a.cfg.Source.Fetch(ctx)
	switch {
	case ctx.Err() != nil:
		return p
	case err != nil:
		p.FetchErr = err
		a.logf("fetch %s of %s: %v", a.cfg.Ref, a.cfg.Repo, err)
	default:
		p.Head = &head
		if a.tryCommit(ctx, head, manual, &p) {
			return p
		}
	}
	if ctx.Err() == nil {
		a.healDrift(ctx, manual, &p)
	}
	if a.good != nil {
		if err := a.cfg.Source.Keep(a.good.commit.Hash); err != nil {
			a.logf("remove old checkouts: %v", err)
		}
	}
	return p
}

// tryCommit applies head when it is new, loads, descends from the applied
// commit and is not waiting out a backoff. It reports whether it tried an
// apply: the pass then ends, and the next one checks drift.
func (a *Agent) tryCommit(ctx context.Context, head Commit, manual bool, p *Pass) bool {
	a.follow(head)
	if a.good != nil && a.good.commit.Hash == head.Hash {
		return false
	}
	if a.held(head, manual, p) {
		return false
	}
	start := a.clock.Now()
	dir, err := a.cfg.Source.Checkout(ctx, head.Hash)
	if err != nil {
		a.logf("check out %s: %v", head, err)
		return false
	}
	st, err := a.cfg.Load(dir)
	if err != nil {
		a.refuse(ctx, head, start, plan.ResultInvalid, inRepository(err, dir), a.recordsStack(), p)
		return false
	}
	if !a.recalled {
		if err := a.recall(ctx, st); err != nil {
			a.logf("read the records of stack %s: %v (trying again at the next pass)", st.Name, err)
			return false
		}
		if (a.good != nil && a.good.commit.Hash == head.Hash) || a.held(head, manual, p) {
			return false
		}
	}
	if err := a.checkDescends(ctx, head); err != nil {
		a.refuse(ctx, head, start, plan.ResultRefused, err, st, p)
		return false
	}
	if ctx.Err() != nil {
		return false
	}
	a.logf("applying %s", head)
	out := a.cfg.Deploy.Apply(ctx, st)
	e := a.entry(head, plan.TriggerCommit, start, out)
	if e.Result.Failed() {
		wait := a.backoff.failed(head.Hash, a.clock.Now())
		a.headEntry = &e
		a.logf("%s %s after %s: %s; next try in %s, or at a new commit", head, e.Result, e.Duration(), e.Error, wait)
	} else {
		a.backoff.succeeded(head.Hash)
		a.good, a.applied = &target{commit: head, stack: st, dir: dir}, &head
		a.records.setApplied(ctx, st, a.appliedRecord(head))
		a.logf("%s %s in %s%s", head, e.Result, e.Duration(), changes(e))
	}
	a.records.add(ctx, st, e)
	p.Entries = append(p.Entries, e)
	return true
}

// follow notes where the ref is. A new commit resets every backoff: it is
// what a person does to fix a failing deploy.
func (a *Agent) follow(head Commit) {
	if head.Hash == a.head {
		return
	}
	if a.head != "" {
		a.logf("%s moved to %s", a.cfg.Ref, head)
	}
	a.head, a.headEntry = head.Hash, nil
	a.backoff.reset()
}

// held reports whether the head is not to be tried now: refused before, or
// failed and still in its backoff (which a manual pass ignores).
func (a *Agent) held(head Commit, manual bool, p *Pass) bool {
	e := a.headEntry
	if e == nil {
		return false
	}
	refused := e.Result == plan.ResultInvalid || e.Result == plan.ResultRefused
	if left := a.backoff.left(head.Hash, a.clock.Now()); refused || (left > 0 && !manual) {
		p.Held = e
		if !refused && a.once("backoff "+head.Hash+e.Time.String()) {
			a.logf("%s %s at its last try: next try in %s, or at a new commit", head, e.Result, left.Round(time.Second))
		}
		return true
	}
	return false
}

// refuse records that head is never to be applied (unless it comes back as
// a new head): its stack file is invalid, or it rewinds the ref.
func (a *Agent) refuse(ctx context.Context, head Commit, start time.Time, result plan.ReconcileResult, why error, st *spec.Stack, p *Pass) {
	e := a.entry(head, plan.TriggerCommit, start, Outcome{Result: result, Err: why})
	a.headEntry = &e
	still := "nothing applied yet"
	if a.good != nil {
		still = "the stack stays at " + a.good.commit.String()
	}
	a.logf("%s %s, not applied (%s):\n%s", head, result, still, indentLines(e.Error))
	a.records.add(ctx, st, e)
	p.Entries = append(p.Entries, e)
}

// checkDescends refuses a head that does not descend from the commit
// applied last: applying it would deploy older code than runs (a
// force-push, a revert of the ref), which needs a person's word.
func (a *Agent) checkDescends(ctx context.Context, head Commit) error {
	if a.applied == nil || a.cfg.AllowRewind {
		return nil
	}
	ok, err := a.cfg.Source.Descends(ctx, head.Hash, a.applied.Hash)
	if err != nil {
		return fmt.Errorf("cannot tell whether %s descends from %s, the commit applied last: %w; run with --allow-rewind to apply it anyway", head.Short(), a.applied.Short(), err)
	}
	if !ok {
		return fmt.Errorf("%s does not descend from %s, the commit applied last (was %s force-pushed or rewound?): run with --allow-rewind to apply it", head.Short(), a.applied.Short(), a.cfg.Ref)
	}
	return nil
}

// recall reads what the records say about the stack st: the commit applied
// last (loaded, to heal drift against it) and the head's earlier tries.
func (a *Agent) recall(ctx context.Context, st *spec.Stack) error {
	applied, history, err := a.records.read(ctx, st)
	if err != nil {
		return err
	}
	a.recalled = true
	if history != nil {
		a.seed(history)
	}
	if applied == nil {
		return nil
	}
	c := commitOf(applied.GitCommit)
	a.applied = &c
	a.logf("stack %s was last applied at %s, at %s", st.Name, c, applied.AppliedAt.Local().Format(time.DateTime))
	dir, err := a.cfg.Source.Checkout(ctx, c.Hash)
	if err == nil {
		var good *spec.Stack
		if good, err = a.cfg.Load(dir); err == nil {
			a.good = &target{commit: c, stack: good, dir: dir}
			return nil
		}
	}
	a.logf("the applied commit %s cannot be loaded (%v): drift is healed once a commit is applied", c, err)
	return nil
}

// seed takes the head's earlier tries from the history: an agent started
// again waits out the backoff its previous run earned, and does not record
// a refusal twice.
func (a *Agent) seed(h *plan.ReconcileHistory) {
	var last *plan.ReconcileEntry
	failures := 0
	for i := len(h.Entries) - 1; i >= 0; i-- {
		e := h.Entries[i]
		if e.Commit != a.head || e.Trigger == plan.TriggerDrift {
			continue
		}
		if last == nil {
			last = &e
		}
		if !e.Result.Failed() {
			break
		}
		failures++
	}
	switch {
	case last == nil:
	case last.Result.Failed():
		a.headEntry = last
		a.backoff.seed(a.head, failures, last.Time.Add(last.Duration()))
	case last.Result == plan.ResultRefused && !a.cfg.AllowRewind:
		a.headEntry = last
	}
}

// healDrift plans the last good commit against live state and applies it
// when the plan is not empty. A manual pass records even an empty plan.
func (a *Agent) healDrift(ctx context.Context, manual bool, p *Pass) {
	g := a.good
	if g == nil || (!manual && a.backoff.left(g.commit.Hash, a.clock.Now()) > 0) {
		return
	}
	start := a.clock.Now()
	pl, err := a.cfg.Deploy.Plan(ctx, g.stack)
	if err != nil {
		if ctx.Err() == nil {
			a.logf("plan %s against live state: %v", g.commit, err)
		}
		return
	}
	trigger := plan.TriggerDrift
	if manual {
		trigger = plan.TriggerManual
	}
	if !pl.Empty() && !manual && a.cfg.DriftConfirm > 0 {
		if pl, err = a.confirmDrift(ctx, g, pl); err != nil {
			return
		}
	}
	if pl.Empty() {
		if manual {
			a.record(ctx, g, a.entry(g.commit, trigger, start, Outcome{Result: plan.ResultNoChanges, Plan: pl}), p)
		}
		return
	}
	drift := driftLines(pl)
	a.logf("drift from %s: %s\n%s", g.commit, pl.Summary, indentLines(strings.Join(drift, "\n")))
	if ctx.Err() != nil {
		return
	}
	e := a.entry(g.commit, trigger, start, a.cfg.Deploy.Apply(ctx, g.stack))
	e.Drift = drift
	if e.Result.Failed() {
		wait := a.backoff.failed(g.commit.Hash, a.clock.Now())
		a.logf("drift NOT healed, %s after %s: %s; next try in %s", e.Result, e.Duration(), e.Error, wait)
	} else {
		a.backoff.succeeded(g.commit.Hash)
		a.logf("drift healed in %s%s", e.Duration(), changes(e))
	}
	a.record(ctx, g, e, p)
}

func (a *Agent) record(ctx context.Context, g *target, e plan.ReconcileEntry, p *Pass) {
	a.records.add(ctx, g.stack, e)
	p.Entries = append(p.Entries, e)
}

// sleep waits for the next pass: the interval, a backoff that ends sooner,
// a new commit seen by peeking, or Wake (then manual is true). It returns
// ctx's error once ctx ends.
func (a *Agent) sleep(ctx context.Context, peeks <-chan string) (manual bool, err error) {
	timer := a.clock.After(a.nextWait())
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-timer:
			return false, nil
		case <-a.wake:
			return true, nil
		case h := <-peeks:
			if h != a.head {
				return false, nil
			}
		}
	}
}

// nextWait is the interval, or less when a backoff ends before it.
func (a *Agent) nextWait() time.Duration {
	d := a.cfg.Interval
	if at, ok := a.backoff.soonest(); ok {
		if w := at.Sub(a.clock.Now()); w > 0 && w < d {
			d = w
		}
	}
	return d
}

// peek asks a Peeker source where its ref is every PeekEvery, and sends
// what it answers; stop ends it and waits for it.
func (a *Agent) peek(ctx context.Context) (hashes <-chan string, stop func()) {
	pk, ok := a.cfg.Source.(Peeker)
	if !ok || a.cfg.PeekEvery <= 0 {
		return nil, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-a.clock.After(a.cfg.PeekEvery):
			}
			h, err := pk.Peek(ctx)
			if err != nil {
				continue // the next fetch says what is wrong
			}
			select { // only the newest answer matters
			case <-out:
			default:
			}
			out <- h
		}
	}()
	return out, func() { cancel(); wg.Wait() }
}

// entry is the record of a try of c that began at start.
func (a *Agent) entry(c Commit, trigger plan.ReconcileTrigger, start time.Time, out Outcome) plan.ReconcileEntry {
	e := plan.ReconcileEntry{
		GitCommit:  c.record(),
		Time:       start.UTC(),
		Trigger:    trigger,
		Result:     out.Result,
		DurationMS: a.clock.Now().Sub(start).Milliseconds(),
	}
	if out.Err != nil {
		e.Error = out.Err.Error()
	}
	if e.Result == "" { // a Deployer that did not say: what its error says
		e.Result = plan.ResultApplied
		if out.Err != nil {
			e.Result = plan.ResultError
		}
	}
	if out.Plan != nil && !out.Plan.Empty() {
		e.Changes = out.Plan.Summary.String()
	}
	return e
}

func (a *Agent) appliedRecord(c Commit) plan.ReconcileApplied {
	return plan.ReconcileApplied{
		GitCommit: c.record(), Repo: a.cfg.Repo, Ref: a.cfg.Ref, Path: a.cfg.Path, Env: a.cfg.Env,
		AppliedAt: a.clock.Now().UTC(),
	}
}

// recordsStack is the stack whose KV records go to before the new commit
// is loaded: the last good commit's; nil (kept for later) before there is
// one.
func (a *Agent) recordsStack() *spec.Stack {
	if a.good == nil {
		return nil
	}
	return a.good.stack
}

func (a *Agent) stackFile() string {
	if a.cfg.Env == "" {
		return a.cfg.Path
	}
	return a.cfg.Path + " -e " + a.cfg.Env
}

func (a *Agent) logf(format string, args ...any) {
	if a.cfg.Log != nil {
		a.cfg.Log(fmt.Sprintf(format, args...))
	}
}

// once reports whether key is new, so that a message repeated at every
// pass is logged once.
func (a *Agent) once(key string) bool {
	if a.said[key] {
		return false
	}
	if len(a.said) > 1000 {
		clear(a.said)
	}
	a.said[key] = true
	return true
}

// maxDriftLines bounds what an entry keeps of a drift: a stack that lost
// every worker would otherwise record a line per worker.
const maxDriftLines = 20

// driftLines are a plan's steps, one line each: what drifted.
func driftLines(p *plan.Plan) []string {
	var out []string
	for i, s := range p.Steps {
		if i == maxDriftLines {
			out = append(out, fmt.Sprintf("... and %d more steps", len(p.Steps)-i))
			break
		}
		out = append(out, fmt.Sprintf("%s %s: %s", s.Action, s.ID, s.Reason))
	}
	return out
}

// inRepository names the files of a checkout's problems as the repository
// does ("stack.yaml:6:5", not the checkout's absolute path), so that the
// records mean something wherever they are read.
func inRepository(err error, dir string) error {
	var problems *spec.Errors
	if errors.As(err, &problems) {
		prefix := strings.TrimSuffix(dir, "/") + "/"
		out := &spec.Errors{}
		for _, p := range problems.Problems {
			q := *p
			q.Pos.File = strings.TrimPrefix(q.Pos.File, prefix)
			q.Msg = strings.ReplaceAll(q.Msg, prefix, "")
			out.Problems = append(out.Problems, &q)
		}
		return out
	}
	return errors.New(strings.ReplaceAll(err.Error(), strings.TrimSuffix(dir, "/")+"/", ""))
}

func changes(e plan.ReconcileEntry) string {
	if e.Changes == "" {
		return ""
	}
	return " (" + e.Changes + ")"
}

func indentLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

// confirmDrift plans again once DriftConfirm has passed since drift was
// seen (see Config.DriftConfirm), and returns that plan: empty when the
// drift was a transient.
func (a *Agent) confirmDrift(ctx context.Context, g *target, seen *plan.Plan) (*plan.Plan, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-a.clock.After(a.cfg.DriftConfirm):
	}
	pl, err := a.cfg.Deploy.Plan(ctx, g.stack)
	if err != nil {
		if ctx.Err() == nil {
			a.logf("plan %s against live state again: %v", g.commit, err)
		}
		return nil, err
	}
	if pl.Empty() {
		a.logf("drift from %s gone %s later, not healed: %s", g.commit, a.cfg.DriftConfirm, strings.Join(driftLines(seen), "; "))
	}
	return pl, nil
}
