package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
)

// errNotStarted is a step that never began: an earlier failure stopped
// the run while it waited for a pool slot.
var errNotStarted = errors.New("not started")

// runGraph runs the steps as their edges allow: each starts as soon as
// every step it depends on has finished, at most Workers of them doing
// Docker work at once (by stepRank, then in plan order, when more are ready
// than can run).
// In an apply, the first failure cancels the steps running (their undo is
// in the journal) and starts no other. A destroy is never rolled back, so
// there a failure only holds back the steps that depend on the failed one:
// everything else still goes, and the next destroy has less to do.
// runGraph returns once every started step has returned, with the failures
// collected.
func (e *Executor) runGraph(ctx context.Context, st *runState, steps []plan.Step) error {
	g, err := newGraph(steps)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	type result struct {
		i   int
		err error
	}
	results := make(chan result)
	pool := newPool(e.opts.Workers)
	running := 0
	launch := func(i int) {
		running++
		ticket := pool.ticket(stepRank(g.steps[i]))
		go func() {
			if err := pool.enter(ctx, ticket); err != nil {
				results <- result{i, errNotStarted}
				return
			}
			release := sync.OnceFunc(pool.leave)
			defer release()
			results <- result{i, e.runStep(withSlotRelease(ctx, release), st, g.steps[i])}
		}()
	}
	launchAll := func(is []int) {
		slices.SortStableFunc(is, func(a, b int) int { return stepRank(g.steps[a]) - stepRank(g.steps[b]) })
		for _, i := range is {
			launch(i)
		}
	}
	launchAll(g.ready())
	var errs *multierror.Error
	crashed := false
	succeeded := 0
	for running > 0 {
		r := <-results
		running--
		switch {
		case errors.Is(r.err, errNotStarted):
		case errors.Is(r.err, ErrCrashed):
			crashed = true
			stop(ErrCrashed)
		case r.err != nil && (errors.Is(r.err, errStepFailed) || errors.Is(r.err, context.Canceled)) &&
			errors.Is(context.Cause(ctx), errStepFailed):
			// Cancelled because another step failed: that failure says
			// what went wrong.
		case r.err != nil:
			errs = multierror.Append(errs, &StepError{Step: g.steps[r.i], Err: r.err})
			if !st.destroy {
				stop(errStepFailed)
			}
		case ctx.Err() == nil:
			succeeded++
			launchAll(g.finish(r.i))
		}
	}
	if crashed {
		return ErrCrashed
	}
	if errs == nil && ctx.Err() != nil && succeeded < len(g.steps) {
		// Stopped from outside (Ctrl-C, the lock lost) between steps:
		// what did not run is as much a failure as a step that failed.
		errs = multierror.Append(errs, context.Cause(ctx))
	}
	if err := e.journal.flush(context.WithoutCancel(ctx), e.consul.current()); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("write journal: %w", err))
	}
	return errs.ErrorOrNil()
}

// errStepFailed cancels the running steps when one failed.
var errStepFailed = errors.New("another step failed")

// runStep records the step's undo in the journal, does it, and records the
// outcome.
func (e *Executor) runStep(ctx context.Context, st *runState, step plan.Step) error {
	if err := e.lock.check(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	start := time.Now()
	e.opts.Progress.StepStarted(step)
	ctx = withHost(ctx, step.Host)
	op, err := e.operation(ctx, st, step)
	if err == nil && op.undo != nil {
		op.undo.Host = step.Host
	}
	// The undo is written before the step changes anything. A step with
	// nothing to undo (every step of a destroy) waits for no write: its
	// status is written with its group's end.
	noUndo := err == nil && op.undo != nil && op.undo.Op == UndoNone
	if err == nil {
		v := e.journal.set(step.ID, plan.JournalRunning, op.undo, "")
		if !noUndo {
			err = e.journal.flushVersion(ctx, e.consul.current(), v)
		}
		if err == nil {
			err = op.do(ctx)
		}
	}
	releaseSlot(ctx) // what is left is the journal's write: Consul's work
	n := e.done.Add(1)
	if c := int64(e.faults.crashAfter); c > 0 && n > c {
		// Killed before this step could record anything: only the Nth
		// step to finish does, as with a kill -9 right after it.
		return ErrCrashed
	}
	if err == nil && e.faults.failAfter > 0 && n == int64(e.faults.failAfter) {
		err = ErrInjected
	}
	if err != nil {
		e.journal.set(step.ID, plan.JournalFailed, nil, err.Error())
		_ = e.journal.flush(ctx, e.consul.current())
		e.opts.Progress.StepFinished(step, time.Since(start), err)
		return err
	}
	v := e.journal.set(step.ID, plan.JournalDone, nil, "")
	if noUndo {
		v = 0 // written when the run ends
	}
	if ferr := e.journal.flushVersion(ctx, e.consul.current(), v); ferr != nil {
		e.opts.Progress.StepFinished(step, time.Since(start), ferr)
		return ferr
	}
	e.opts.Progress.StepFinished(step, time.Since(start), nil)
	if e.faults.crashAfter > 0 && n == int64(e.faults.crashAfter) {
		return ErrCrashed
	}
	return nil
}
