package apply

import (
	"context"
	"sync"

	"github.com/hashicorp/go-multierror"
)

// leaving is the old workers of start-first replaces that are out of
// Consul: each waits until the LB no longer routes to it, then drains and
// stops, in the background, while the update goes on. An apply completes
// only once every one has stopped (wait); a failing apply first calls off
// the stops that have not begun (cancel), since its rollback restarts them.
type leaving struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   *multierror.Error
}

func newLeaving(ctx context.Context) *leaving {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &leaving{ctx: ctx, cancel: cancel}
}

// add runs settle, then stop unless cancel came first. A stop that has
// begun is not cut short: a container half-stopped is in no one's hands.
func (l *leaving) add(settle func(ctx context.Context), stop func(ctx context.Context) error) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		settle(l.ctx)
		if l.ctx.Err() != nil {
			return
		}
		if err := stop(context.WithoutCancel(l.ctx)); err != nil {
			l.mu.Lock()
			l.errs = multierror.Append(l.errs, err)
			l.mu.Unlock()
		}
	}()
}

// wait waits for every stop and returns those that failed.
func (l *leaving) wait() error {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errs.ErrorOrNil()
}

// callOff cancels the stops that have not begun and waits for the others.
func (l *leaving) callOff() {
	l.cancel()
	l.wg.Wait()
}
