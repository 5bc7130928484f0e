package apply

import (
	"context"
	"slices"
	"sync"

	"github.com/stackctl/stackctl/plan"
)

// pool bounds how many steps do Docker work at once. Waiting steps are let
// in by rank, then in the order they became ready: what others wait for
// longest goes first (stepRank).
type pool struct {
	mu    sync.Mutex
	free  int
	queue []*ticket // by rank, then arrival
}

type ticket struct {
	rank int
	turn chan struct{}
}

func newPool(size int) *pool { return &pool{free: max(size, 1)} }

// ticket takes a place in the queue; enter then waits for its turn.
func (p *pool) ticket(rank int) *ticket {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := &ticket{rank: rank, turn: make(chan struct{})}
	if p.free > 0 && len(p.queue) == 0 {
		p.free--
		close(t.turn)
		return t
	}
	i := len(p.queue)
	for i > 0 && p.queue[i-1].rank > rank {
		i--
	}
	p.queue = slices.Insert(p.queue, i, t)
	return t
}

// enter waits until the ticket's turn, or ctx ends (the place is given up).
func (p *pool) enter(ctx context.Context, t *ticket) error {
	select {
	case <-t.turn:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	if i := slices.Index(p.queue, t); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
		p.mu.Unlock()
		return context.Cause(ctx)
	}
	p.mu.Unlock()
	p.leave() // its turn came as ctx ended: hand it on
	return context.Cause(ctx)
}

// leave gives a slot back, to the first in the queue if any.
func (p *pool) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) > 0 {
		t := p.queue[0]
		p.queue = p.queue[1:]
		close(t.turn)
		return
	}
	p.free++
}

// stepRank orders steps that are ready at once: Consul's container first,
// as its election is the longest wait of a first apply; then the template
// and the LB, which do little Docker work and end a first apply; then the
// rest.
func stepRank(s plan.Step) int {
	switch s.Kind {
	case plan.KindConsul:
		return 0
	case plan.KindTemplate, plan.KindRegistration:
		return 1
	case plan.KindLB:
		return 2
	}
	return 3
}

type releaseKey struct{}

// withSlotRelease lets a step give back its worker-pool slot while it only
// waits (for a check to pass, for the LB): the pool bounds the work done
// on Docker at once, not how many steps may wait.
func withSlotRelease(ctx context.Context, release func()) context.Context {
	return context.WithValue(ctx, releaseKey{}, release)
}

// releaseSlot gives back the calling step's pool slot, if it holds one.
func releaseSlot(ctx context.Context) {
	if release, ok := ctx.Value(releaseKey{}).(func()); ok {
		release()
	}
}
