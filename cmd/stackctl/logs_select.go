package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/plan"
)

// logSelector is one argument of stackctl logs: SERVICE, SERVICE/SLOT, lb
// or consul. Slot 0 means every slot.
type logSelector struct {
	name string
	slot int
}

func (s logSelector) String() string {
	if s.slot == 0 {
		return s.name
	}
	return s.name + "/" + strconv.Itoa(s.slot)
}

// parseSelectors reads the arguments; none selects every container.
func parseSelectors(args []string) ([]logSelector, error) {
	out := make([]logSelector, 0, len(args))
	for _, a := range args {
		name, slot, hasSlot := strings.Cut(a, "/")
		sel := logSelector{name: name}
		if hasSlot {
			n, err := strconv.Atoi(slot)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%q: a slot is a number from 1, as in web/3", a)
			}
			sel.slot = n
		}
		if name == "" {
			return nil, fmt.Errorf("%q: name a service, lb or consul, as in web or web/3", a)
		}
		out = append(out, sel)
	}
	return out, nil
}

// logTarget is one container whose output logs shows.
type logTarget struct {
	id   string
	name string // the container's name
	// label is its short name in the prefix of each line: "web-3", "lb",
	// "consul"; "web-3 (old)" for one an apply keeps stopped.
	label   string
	running bool

	// the order logs prints targets in
	role, service, interim string
	slot                   int
}

// matches tells whether the selector picks the container. "lb" and
// "consul" pick those containers, and also a service of that name if the
// stack has one.
func (s logSelector) matches(c *plan.Container) bool {
	switch c.Role() {
	case plan.RoleWorker:
		return s.name == c.Service() && (s.slot == 0 || s.slot == c.Slot())
	case plan.RoleLB, plan.RoleConsul, plan.RoleReconcile:
		return s.slot == 0 && s.name == c.Role()
	}
	return false
}

// matchTargets picks the containers any selector matches (all of them when
// there are no selectors), in the order logs prints them: consul, lb, then
// workers by service and slot, each slot's current container first.
func matchTargets(stack string, cs []plan.Container, sels []logSelector) []logTarget {
	var out []logTarget
	for i := range cs {
		c := &cs[i]
		if len(sels) > 0 && !anyMatches(sels, c) {
			continue
		}
		out = append(out, logTarget{
			id: c.ID, name: c.Name, label: shortName(stack, c), running: c.Running(),
			role: c.Role(), service: c.Service(), interim: c.Interim(), slot: c.Slot(),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := roleOrder(a.role), roleOrder(b.role); ra != rb {
			return ra < rb
		}
		if a.service != b.service {
			return a.service < b.service
		}
		if a.slot != b.slot {
			return a.slot < b.slot
		}
		if a.interim != b.interim {
			return a.interim < b.interim // "" first: "web-3" before "web-3 (old)"
		}
		return a.name < b.name
	})
	return out
}

func anyMatches(sels []logSelector, c *plan.Container) bool {
	for _, s := range sels {
		if s.matches(c) {
			return true
		}
	}
	return false
}

func (s logSelector) matchesAny(cs []plan.Container) bool {
	for i := range cs {
		if s.matches(&cs[i]) {
			return true
		}
	}
	return false
}

func roleOrder(role string) int {
	switch role {
	case plan.RoleConsul:
		return 0
	case plan.RoleLB:
		return 1
	case plan.RoleWorker:
		return 2
	}
	return 3
}

// shortName is the container's name without the stack's, as compose shows
// it: "web-3", "lb", "consul", marked when apply gave it a temporary name.
func shortName(stack string, c *plan.Container) string {
	var name string
	switch c.Role() {
	case plan.RoleWorker:
		name = c.Service() + "-" + strconv.Itoa(c.Slot())
	case plan.RoleLB, plan.RoleConsul, plan.RoleReconcile:
		name = c.Role()
	default:
		name = strings.TrimPrefix(c.Name, stack+"-")
	}
	if interim := c.Interim(); interim != "" {
		name += " (" + interim + ")"
	}
	return name
}

// selectTargets is matchTargets for the start of the command: a selector
// that matches nothing is an error that lists what the stack has, so the
// user can correct the name.
func selectTargets(stack string, cs []plan.Container, sels []logSelector) ([]logTarget, error) {
	if len(cs) == 0 {
		return nil, fmt.Errorf("stack %s has no containers: run stackctl apply first, or pass -f with the stack file of the stack you mean", stack)
	}
	for _, s := range sels {
		if !s.matchesAny(cs) {
			return nil, unknownSelectorError(stack, cs, s)
		}
	}
	return matchTargets(stack, cs, sels), nil
}

// unknownSelectorError says what a selector that matched nothing got wrong:
// the service, or only the slot.
func unknownSelectorError(stack string, cs []plan.Container, s logSelector) error {
	slots := map[string][]int{}
	roles := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		roles[c.Role()] = true
		if c.Role() == plan.RoleWorker && c.Interim() == "" {
			slots[c.Service()] = append(slots[c.Service()], c.Slot())
		}
	}
	if have, ok := slots[s.name]; ok && s.slot != 0 {
		sort.Ints(have)
		return fmt.Errorf("service %s of stack %s has no slot %d; its slots are %s", s.name, stack, s.slot, joinInts(have))
	}
	if s.slot != 0 && (s.name == plan.RoleLB || s.name == plan.RoleConsul || s.name == plan.RoleReconcile) && roles[s.name] {
		return fmt.Errorf("%s has no slots: write %s", s.name, s.name)
	}
	var names []string
	for svc := range slots {
		names = append(names, svc)
	}
	sort.Strings(names)
	for _, r := range []string{plan.RoleLB, plan.RoleConsul, plan.RoleReconcile} {
		if roles[r] {
			names = append(names, r)
		}
	}
	return fmt.Errorf("stack %s has no containers for %q; choose from: %s (a service may take /SLOT, as in web/3)", stack, s.String(), strings.Join(names, ", "))
}

func joinInts(ns []int) string {
	parts := make([]string, 0, len(ns))
	for _, n := range ns {
		parts = append(parts, strconv.Itoa(n))
	}
	return strings.Join(parts, ", ")
}
