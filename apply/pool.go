package apply

import (
	"context"
	"sync"
)

// pool bounds how many steps do Docker work at once, and lets waiting
// steps in in the order they became ready: in a first apply, Consul's
// container, whose election is the longest wait, goes before the workers
// that need it.
type pool struct {
	mu    sync.Mutex
	free  int
	queue []chan struct{}
}

func newPool(size int) *pool { return &pool{free: max(size, 1)} }

// ticket takes a place in the queue; enter then waits for it.
func (p *pool) ticket() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := make(chan struct{})
	if p.free > 0 && len(p.queue) == 0 {
		p.free--
		close(t)
		return t
	}
	p.queue = append(p.queue, t)
	return t
}

// enter waits until the ticket's turn, or ctx ends (the place is given up).
func (p *pool) enter(ctx context.Context, t chan struct{}) error {
	select {
	case <-t:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	for i, q := range p.queue {
		if q == t {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			p.mu.Unlock()
			return context.Cause(ctx)
		}
	}
	p.mu.Unlock()
	p.leave() // granted as ctx ended: hand it on
	return context.Cause(ctx)
}

// leave gives a slot back, to the first in the queue if any.
func (p *pool) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) > 0 {
		t := p.queue[0]
		p.queue = p.queue[1:]
		close(t)
		return
	}
	p.free++
}
