package views

import (
	"slices"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/plan"
)

// groupIndex names what steps wait for as compactly as it can: a whole
// group by its name, steps of a group it only partly waits for by ID.
type groupIndex struct {
	groupOf map[string]string // step ID → its group
	size    map[string]int    // group → its number of steps
	order   map[string]int    // group → its position in the plan
}

func newGroupIndex(p *plan.Plan) *groupIndex {
	x := &groupIndex{groupOf: map[string]string{}, size: map[string]int{}, order: map[string]int{}}
	for _, st := range p.Steps {
		x.groupOf[st.ID] = st.Group
		if _, ok := x.order[st.Group]; !ok {
			x.order[st.Group] = len(x.order)
		}
		x.size[st.Group]++
	}
	return x
}

// describe says how a group's steps run, as the human and markdown views
// head a group: "4 steps, in parallel, after workers/web/1". What the steps
// wait for is said there when it is the same for all of them, as it is for
// a batch of workers; perStep is true when it is not, and each step then
// says what it waits for itself.
func (x *groupIndex) describe(steps []plan.Step) (how string, perStep bool) {
	how = "1 step"
	if len(steps) > 1 {
		how = strconv.Itoa(len(steps)) + " steps"
		if x.parallel(steps) {
			how += ", in parallel"
		}
	}
	shared, same := sharedDepends(steps)
	switch {
	case same && len(shared) > 0:
		how += ", after " + x.after(shared)
	case !same:
		if g := x.window(steps); g != "" {
			how += ", each after one step of " + g
		}
	}
	return how, !same
}

// after describes a DependsOn list, groups in plan order: "workers/web/1",
// "consul, image/primes-web:latest".
func (x *groupIndex) after(deps []string) string {
	return strings.Join(x.afterNames(deps), ", ")
}

// afterNames is after's list before it is joined: each a group or a step ID.
func (x *groupIndex) afterNames(deps []string) []string {
	byGroup := map[string][]string{}
	var groups []string
	for _, id := range deps {
		g := x.groupOf[id]
		if byGroup[g] == nil {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], id)
	}
	slices.SortFunc(groups, func(a, b string) int { return x.order[a] - x.order[b] })
	var names []string
	for _, g := range groups {
		if len(byGroup[g]) == x.size[g] {
			names = append(names, g)
			continue
		}
		names = append(names, byGroup[g]...)
	}
	return names
}

// sharedDepends is what every step of a group waits for, when that is the
// same for all of them; ok is false when it differs from step to step.
func sharedDepends(steps []plan.Step) (deps []string, ok bool) {
	for _, st := range steps[1:] {
		if !slices.Equal(st.DependsOn, steps[0].DependsOn) {
			return nil, false
		}
	}
	return steps[0].DependsOn, true
}

// parallel reports whether no step of a group waits for another of it.
func (x *groupIndex) parallel(steps []plan.Step) bool {
	for _, st := range steps {
		for _, id := range st.DependsOn {
			if x.groupOf[id] == st.Group {
				return false
			}
		}
	}
	return true
}

// window is the one group a rolling update's batch waits on when each of
// its steps waits for one step of it (the slot update.parallelism places
// before), or "" when the steps wait for anything else.
func (x *groupIndex) window(steps []plan.Step) string {
	group := ""
	for _, st := range steps {
		if len(st.DependsOn) == 0 {
			continue // the first slots of a batch that is partly the first
		}
		if len(st.DependsOn) != 1 {
			return ""
		}
		g := x.groupOf[st.DependsOn[0]]
		if group != "" && g != group {
			return ""
		}
		group = g
	}
	return group
}
