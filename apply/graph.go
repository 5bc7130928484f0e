package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
)

// graph is a plan's steps with their DependsOn edges, as apply runs them.
type graph struct {
	steps      []plan.Step
	waitingOn  []int   // per step: dependencies not finished yet
	dependents [][]int // per step: the steps that depend on it
}

// ErrPlanGraph is a plan whose edges apply cannot run: one names a step
// the plan does not have, or they make a cycle.
var ErrPlanGraph = errors.New("invalid plan graph")

func newGraph(steps []plan.Step) (*graph, error) {
	g := &graph{steps: steps, waitingOn: make([]int, len(steps)), dependents: make([][]int, len(steps))}
	index := make(map[string]int, len(steps))
	for i, st := range steps {
		index[st.ID] = i
	}
	for i, st := range steps {
		for _, dep := range st.DependsOn {
			j, ok := index[dep]
			if !ok {
				return nil, fmt.Errorf("%w: step %s depends on %s, which is not in the plan", ErrPlanGraph, st.ID, dep)
			}
			// Plans list every step after the steps it depends on; an
			// edge that points forward could close a cycle.
			if j >= i {
				return nil, fmt.Errorf("%w: step %s depends on %s, listed after it", ErrPlanGraph, st.ID, dep)
			}
			g.waitingOn[i]++
			g.dependents[j] = append(g.dependents[j], i)
		}
	}
	return g, nil
}

// ready returns the steps that wait for nothing.
func (g *graph) ready() []int {
	var out []int
	for i, n := range g.waitingOn {
		if n == 0 {
			out = append(out, i)
		}
	}
	return out
}

// finish records that step i finished and returns the steps it released.
func (g *graph) finish(i int) []int {
	var out []int
	for _, d := range g.dependents[i] {
		if g.waitingOn[d]--; g.waitingOn[d] == 0 {
			out = append(out, d)
		}
	}
	return out
}

// errNotStarted is a step that never began: an earlier failure stopped
// the run while it waited for a pool slot.
var errNotStarted = errors.New("not started")

// runGraph runs the steps as their edges allow: each starts as soon as
// every step it depends on has finished, at most Workers of them doing
// Docker work at once (by stepRank, then in plan order, when more are ready
// than can run).
// The first failure cancels the steps running (their undo is in the
// journal) and starts no other; runGraph returns once every started step
// has returned, with the failures collected.
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
			stop(errStepFailed)
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
