package apply

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// Options tune an Executor. The zero value is usable.
type Options struct {
	// Workers bounds how many steps of a group run at once; default
	// runtime.NumCPU()*4.
	Workers int
	// ApplyID names this apply in labels and the journal; default random.
	ApplyID string
	// Operation is "apply" or "destroy", for the lock and journal.
	Operation string
	// Lock takes the stack's lock in Consul (LockTimeout: how long to wait
	// for it). Without Consul yet, it is taken as soon as Consul is up.
	Lock        bool
	LockTimeout time.Duration
	// Holder describes who applies, for the lock ("user@host pid N").
	Holder string
	// LBSettle bounds the wait for the LB to stop routing to an instance
	// that left Consul; default 15s.
	LBSettle time.Duration
	// ConsulReady bounds the wait for a new Consul server to elect itself;
	// default 60s.
	ConsulReady time.Duration
	// Progress receives step events; nil: none.
	Progress Progress
	// Probe is a new worker's health gate (admit); default HTTPProbe.
	Probe Prober
	// ConsulToken is CONSUL_HTTP_TOKEN: in a stack with hosts, the
	// management token of the cluster a first apply makes.
	ConsulToken string
}

// faults are the failures the package's tests inject (export_test.go);
// nothing else sets them.
type faults struct {
	// failAfter: the Nth step to finish (1-based) fails after doing its
	// work, as if its last action had failed (ErrInjected).
	failAfter int
	// crashAfter: after the Nth step, Run returns ErrCrashed at once,
	// leaving everything (journal included) as a killed process would.
	crashAfter int
	// crashInCleanup: Run returns ErrCrashed once the apply is recorded as
	// complete, before (1) or after (2) it removed what it kept.
	crashInCleanup int
}

// ErrCrashed is returned by Run when an injected crash stopped it.
var ErrCrashed = errors.New("apply stopped by an injected crash")

// ErrInjected is the failure injected after a step.
var ErrInjected = errors.New("failure injected after a step")

// Executor carries out plans for one stack.
type Executor struct {
	Stack  *spec.Stack
	Docker Docker
	// Dial reaches Consul; ConsulAddr overrides where (CONSUL_HTTP_ADDR).
	Dial       ConsulDialer
	ConsulAddr string
	// opts is a field, not embedded: the option Lock (take the lock) is not
	// the lock held.
	opts Options

	consul  consulConn
	lock    *stackLock
	journal *journal
	// resumes is the unfinished apply Prepare found and carries on from
	// (Journal.Resumes). supersedes: such a journal (or, for a destroy,
	// any) stays in Consul until this run's replaces it, so that a run
	// that stops before that loses nothing.
	resumes    *Journal
	supersedes bool
	faults     faults
	done       atomic.Int64 // steps finished, for faults
	addrs      addresses
	// lbTarget is what the LB's status is checked against, worked out
	// once: the stack does not change during a run, and rendering the
	// template against every declared worker on each LB wait would cost a
	// render of N instances per replaced slot.
	lbTargetOnce sync.Once
	lbTargetVal  lbTarget
	// regHosts is, in a stack with hosts, the host whose agent holds each
	// registration, as observed (seeRegistrations).
	regMu    sync.Mutex
	regHosts map[string]string
	// secrets are the Consul cluster's, in a stack with hosts: read once
	// connected, or made for the agents of a new cluster.
	secrets *ClusterSecrets
	// admin is the cluster's client as connected, for the waits of a
	// rolling agent replacement.
	admin ClusterAdmin
}

// New returns an executor with defaults filled in.
func New(s *spec.Stack, docker Docker, dial ConsulDialer, opts Options) *Executor {
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU() * 4
	}
	if opts.ApplyID == "" {
		opts.ApplyID = newApplyID()
	}
	if opts.Operation == "" {
		opts.Operation = "apply"
	}
	if opts.LBSettle <= 0 {
		opts.LBSettle = 15 * time.Second
	}
	if opts.ConsulReady <= 0 {
		opts.ConsulReady = 60 * time.Second
	}
	if opts.Progress == nil {
		opts.Progress = nopProgress{}
	}
	if opts.Probe == nil {
		opts.Probe = HTTPProbe
	}
	e := &Executor{Stack: s, Docker: docker, Dial: dial, opts: opts, lock: newStackLock(s, opts)}
	if s.MultiHost() {
		// Workers are reached at their host's address and published port,
		// not at a fixed address on one engine's network.
		e.addrs.disable()
	}
	return e
}

func newApplyID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run carries out p, whose steps were computed from before. On failure it
// rolls back (or pauses, as the failed service's update.on_failure says)
// and returns a report with Err set. Run releases the lock it took.
func (e *Executor) Run(ctx context.Context, p *plan.Plan, before *plan.State) *Report {
	r := &Report{Stack: e.Stack.Name, ApplyID: e.opts.ApplyID, Operation: e.opts.Operation}
	defer e.Unlock()
	defer e.consul.stop() // before the lock goes: see stop
	if p.Empty() {
		if e.supersedes {
			// The unfinished run had done everything but its clean-up.
			if c := e.consul.current(); c != nil {
				if err := deleteJournal(ctx, c, e.Stack); err != nil {
					r.Cleanup = fmt.Errorf("delete journal: %w", err)
				}
			}
		}
		return r
	}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	e.lock.stopOnLoss(abort)
	if err := e.lock.check(); err != nil { // lost since Prepare took it
		r.Err = err
		return r
	}
	e.journal = newJournal(e.Stack, e.opts.ApplyID, e.opts.Operation, e.opts.Holder, p, e.resumes)
	if err := e.connectIfUp(ctx, before); err != nil {
		r.Err = err
		return r
	}
	if err := e.journal.flush(ctx, e.consul.current()); err != nil {
		r.Err = fmt.Errorf("write journal: %w", err)
		return r
	}
	st := &runState{before: before, lbChanges: changesLB(p), destroy: p.Mode == plan.ModeDestroy,
		leaving: newLeaving(ctx)}
	if createsConsul(p) {
		e.consul.expect()
	}
	if err := e.runGraph(ctx, st, p.Steps); err != nil {
		if errors.Is(err, ErrCrashed) {
			st.leaving.callOff() // as a killed process would not stop them
			r.Err = err
			return r
		}
		e.consul.fail(err) // nobody waits for a Consul that was never created
		e.fail(ctx, st, err, r)
		return r
	}
	if e.consul.awaited() {
		// A Consul created by this apply is connected in the background:
		// its journal is written once it answers.
		if _, err := e.consul.get(ctx); err != nil {
			e.fail(ctx, st, err, r)
			return r
		}
	}
	if err := st.leaving.wait(); err != nil {
		e.fail(ctx, st, err, r)
		return r
	}
	r.Done = e.journal.doneIDs()
	if !st.destroy {
		// The commit point: once this is written, a kill from here on is
		// finished by the next run, not rolled back (Journal.Completed).
		e.journal.complete()
		if err := e.journal.flush(ctx, e.consul.current()); err != nil {
			// Without it the kept containers are what a rollback of
			// this journal needs: they stay for the next run.
			r.Cleanup = fmt.Errorf("record the apply as complete: %w; the replaced containers are kept stopped and the journal left for the next apply", err)
			return r
		}
	}
	if e.faults.crashInCleanup == 1 {
		r.Err = ErrCrashed
		return r
	}
	cleanup := multierror.Append(nil, e.removeKept(ctx, false))
	if e.faults.crashInCleanup == 2 {
		r.Err = ErrCrashed
		return r
	}
	if c := e.consul.current(); c != nil {
		if err := e.journal.remove(ctx, c); err != nil {
			cleanup = multierror.Append(cleanup, fmt.Errorf("delete journal: %w", err))
		}
	}
	cleanup = multierror.Append(cleanup, e.removeKept(ctx, true))
	if st.destroy {
		cleanup = multierror.Append(cleanup, e.removeConsulVolumes(ctx))
	}
	r.Cleanup = cleanup.ErrorOrNil()
	return r
}

// fail handles a failed group: pause or roll back, and fill the report.
func (e *Executor) fail(ctx context.Context, st *runState, err error, r *Report) {
	r.Err = err
	r.Failed = stepErrors(err)
	// Old workers not stopped yet stay as they are: the rollback puts
	// them back in service.
	st.leaving.callOff()
	// Roll back even when ctx was cancelled (Ctrl-C): leaving the stack
	// half-changed is worse than finishing the rollback.
	rb := context.WithoutCancel(ctx)
	if st.destroy {
		e.failDestroy(rb, r, errors.Is(context.Cause(ctx), ErrLockLost))
		return
	}
	if errors.Is(context.Cause(ctx), ErrLockLost) {
		// Another apply may hold the lock by now: touch nothing unless it
		// is ours again. Whoever holds it finds the journal and rolls this
		// apply back itself.
		if lerr := e.lock.retake(rb, e.consul.current()); lerr != nil {
			r.Err = fmt.Errorf("%w; stopped, and not rolled back", ErrLockLost)
			r.RollbackErr = fmt.Errorf("could not take the lock again: %w", lerr)
			return
		}
		r.Err = fmt.Errorf("%w; stopped, and took the lock again to undo", ErrLockLost)
	}
	if e.pauses(r.Failed) {
		r.Paused = true
		e.journal.pause()
		_ = e.journal.flush(rb, e.consul.current())
		return
	}
	since := time.Now().UTC()
	r.RolledBack, r.RollbackErr = e.rollback(rb, e.opts.ApplyID, e.journal.snapshot())
	if e.resumes != nil && r.RollbackErr == nil {
		// Then what the apply this one carried on from added.
		undone, err := e.rollbackJournal(rb, e.resumes)
		r.RolledBack, r.RollbackErr = append(r.RolledBack, undone...), err
	}
	// Restored workers and registrations reach the LB by its own render;
	// a restored template's undo waited for it already, and nothing else
	// the rollback does changes what the LB renders (waiting for a render
	// that never comes would add LBSettle to every such rollback).
	if undid(r.RolledBack, plan.KindWorker) || undid(r.RolledBack, plan.KindRegistration) {
		e.waitLBMembership(rb, since)
	}
	if r.RollbackErr == nil {
		if c := e.consul.current(); c != nil && !undid(r.RolledBack, plan.KindConsul) {
			if err := e.journal.remove(rb, c); err != nil {
				r.RollbackErr = multierror.Append(r.RollbackErr, fmt.Errorf("delete journal: %w", err))
			}
		}
	}
	r.Restored = r.RollbackErr == nil
}

// pauses reports whether a failure leaves partial state in place: only when
// every failed step is a worker step of a service with on_failure: pause.
func (e *Executor) pauses(failed []*StepError) bool {
	if len(failed) == 0 {
		return false
	}
	for _, f := range failed {
		svc := e.Stack.Service(f.Step.Service)
		if f.Step.Kind != plan.KindWorker || svc == nil || svc.Update.OnFailure != spec.OnFailurePause {
			return false
		}
	}
	return true
}

func stepErrors(err error) []*StepError {
	var out []*StepError
	var merr *multierror.Error
	if errors.As(err, &merr) {
		for _, e := range merr.Errors {
			var se *StepError
			if errors.As(e, &se) {
				out = append(out, se)
			}
		}
		return out
	}
	var se *StepError
	if errors.As(err, &se) {
		out = append(out, se)
	}
	return out
}

// StepError is a step that failed.
type StepError struct {
	Step plan.Step
	Err  error
}

func (e *StepError) Error() string { return e.Step.ID + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// undid reports whether a step on an object of kind was rolled back: after
// the Consul container of a first apply is gone, so is its journal.
func undid(ids []string, kind plan.Kind) bool {
	for _, id := range ids {
		if strings.HasPrefix(id, string(kind)+"/") {
			return true
		}
	}
	return false
}

func createsConsul(p *plan.Plan) bool {
	for _, st := range p.Steps {
		if st.Kind == plan.KindConsul && st.Action != plan.ActionDestroy {
			return true
		}
	}
	return false
}
