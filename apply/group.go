package apply

import (
	"context"
	"slices"
	"sync"

	"github.com/stackctl/stackctl/plan"
)

// runState is what steps share while an apply runs.
type runState struct {
	before *plan.State
	// lbChanges: the plan creates, replaces, starts or removes the LB
	// container, whose own step then checks the template it renders.
	lbChanges bool
	// destroy: the plan removes the whole stack (plan.ModeDestroy).
	destroy bool

	mu sync.Mutex
	// pending tracks, per kind, the steps of the running group that have
	// not finished, so a step can wait for those of its group it depends on
	// (a new LB for the template it renders and the workers it serves).
	pending map[plan.Kind]*barrier
}

// barrier is the unfinished steps of one kind in the running group.
type barrier struct {
	left   int
	failed bool
	done   chan struct{} // closed when left reaches 0
}

// startGroup sets up the barriers of a group about to run.
func (st *runState) startGroup(group []plan.Step) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pending = map[plan.Kind]*barrier{}
	for _, s := range group {
		b := st.pending[s.Kind]
		if b == nil {
			b = &barrier{done: make(chan struct{})}
			st.pending[s.Kind] = b
		}
		b.left++
	}
}

// finished records that a step of the running group ended, well or not.
func (st *runState) finished(step plan.Step, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	b := st.pending[step.Kind]
	if b == nil || b.left == 0 {
		return
	}
	if err != nil {
		b.failed = true
	}
	if b.left--; b.left == 0 {
		close(b.done)
	}
}

// await waits until every step of kind in the running group has finished
// and reports whether all of them succeeded; with none, at once and true.
// The caller gives back its pool slot first when it may wait long.
func (st *runState) await(ctx context.Context, kind plan.Kind) (bool, error) {
	st.mu.Lock()
	b := st.pending[kind]
	st.mu.Unlock()
	if b == nil {
		return true, nil
	}
	select {
	case <-b.done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return !b.failed, nil
}

// mergeCreates joins the groups of a stack that is being created into one,
// as far as nothing old is serving: new workers and a new Consul server
// (workers need it only to register, and wait for it then), and, when the
// LB is new too, its template and the LB itself. With no old container to
// keep serving, batching by update.parallelism protects nothing, and
// overlapping Consul's election, the workers' first checks and the LB's
// start is what makes a first apply fast. Inside a merged group the steps
// that others wait for go first (see createLB and createWorker).
func mergeCreates(groups [][]plan.Step) [][]plan.Step {
	var out [][]plan.Step
	for i, g := range groups {
		n := len(out)
		mergeable := onlyCreates(g, plan.KindWorker, plan.KindConsul) ||
			onlyCreates(g, plan.KindLB) ||
			onlyCreates(g, plan.KindTemplate) && i+1 < len(groups) && onlyCreates(groups[i+1], plan.KindLB)
		if n > 0 && mergeable && onlyCreates(out[n-1], plan.KindWorker, plan.KindConsul, plan.KindTemplate) {
			out[n-1] = append(out[n-1], g...)
			continue
		}
		out = append(out, append([]plan.Step(nil), g...))
	}
	for _, g := range out {
		slices.SortStableFunc(g, func(a, b plan.Step) int { return startRank(a) - startRank(b) })
	}
	return out
}

// startRank orders the steps of a merged group: Consul's container first,
// as its election is the longest wait; the template and the LB, which wait
// for Consul without holding Docker busy; then the workers.
func startRank(s plan.Step) int {
	switch s.Kind {
	case plan.KindConsul:
		return 0
	case plan.KindTemplate:
		return 1
	case plan.KindLB:
		return 2
	}
	return 3
}

// onlyCreates reports whether every step of g creates an object of one of
// the kinds.
func onlyCreates(g []plan.Step, kinds ...plan.Kind) bool {
	for _, st := range g {
		if st.Action != plan.ActionCreate || !slices.Contains(kinds, st.Kind) {
			return false
		}
	}
	return len(g) > 0
}
