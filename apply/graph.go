package apply

import (
	"errors"
	"fmt"

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
