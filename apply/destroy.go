package apply

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
)

// DestroyWorkers is how many steps of a destroy plan run at once by default:
// a removal is two short Docker calls and no wait. docker-compose uses 64;
// 16 is kept here because Docker 20.10's daemon was seen to deadlock in
// libnetwork (about 190 goroutines in releaseNetwork after container exits)
// while ~200 containers were being stopped at once on the 2-core test
// machine; 16 vs 32 vs 64 has not been measured yet.
const DestroyWorkers = 16

// destroyStopTimeout is the grace a container gets to exit on SIGTERM before
// it is killed, when the whole stack goes (docker-compose down -t 1). The LB
// is gone before any worker stops, so no request reaches one any more.
const destroyStopTimeout = time.Second

// destroyOp prepares a step of a destroy plan (plan.ModeDestroy). Each step
// removes its object for good, so it has no undo: a failed destroy is not
// rolled back, and the next destroy removes what is left. Consul's container
// and the network go only after the journal, which lives in Consul.
func (e *Executor) destroyOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	none := &Undo{Op: UndoNone, Name: step.Target}
	switch step.Kind {
	case plan.KindReconcile, plan.KindLB, plan.KindWorker:
		c := st.before.ContainerOn(step.Target, step.Host)
		if c == nil {
			return &operation{undo: none, do: func(context.Context) error { return nil }}, nil
		}
		return &operation{undo: none, do: func(ctx context.Context) error { return e.removeNow(ctx, c) }}, nil
	case plan.KindRegistration:
		c, err := e.consul.get(ctx)
		if err != nil {
			return nil, err
		}
		// The LB went in the group before: nothing renders this any more.
		return &operation{undo: none, do: func(ctx context.Context) error {
			if err := c.Deregister(ctx, step.Target); err != nil {
				return fmt.Errorf("deregister %s: %w", step.Target, err)
			}
			return nil
		}}, nil
	case plan.KindTemplate:
		c, err := e.consul.get(ctx)
		if err != nil {
			return nil, err
		}
		return &operation{undo: none, do: func(ctx context.Context) error { return c.KVDelete(ctx, step.Target) }}, nil
	case plan.KindConsul:
		return e.destroyContainerOp(ctx, st, step) // removed after the journal (removeKept)
	case plan.KindNetwork:
		return e.networkOp(step) // removed after Consul's container (removeKept)
	}
	return nil, unsupported(step)
}

// removeNow stops a container with a short grace and removes it.
func (e *Executor) removeNow(ctx context.Context, c *plan.Container) error {
	if c.Running() {
		if err := e.Docker.StopContainer(ctx, c.ID, destroyStopTimeout); err != nil {
			return fmt.Errorf("stop %s: %w", c.Name, err)
		}
	}
	if err := e.Docker.RemoveContainer(ctx, c.ID); err != nil {
		return fmt.Errorf("remove %s: %w", c.Name, err)
	}
	return nil
}

// failDestroy ends a destroy that failed: nothing is rolled back (what was
// removed stays removed); the journal goes, as no step has an undo, unless
// the lock was lost and the journal may be another run's by now.
func (e *Executor) failDestroy(ctx context.Context, r *Report, lockLost bool) {
	r.ForwardOnly = true
	if lockLost {
		r.Err = fmt.Errorf("%w; stopped", ErrLockLost)
		return
	}
	if c := e.consul.current(); c != nil {
		if err := e.journal.remove(ctx, c); err != nil {
			r.RollbackErr = fmt.Errorf("delete journal: %w", err)
		}
	}
}

// bounded runs fn for every item, at most limit at once, and collects the
// errors.
func bounded[T any](limit int, items []T, fn func(T) error) error {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs *multierror.Error
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(it); err != nil {
				mu.Lock()
				errs = multierror.Append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs.ErrorOrNil()
}
