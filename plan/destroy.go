package plan

import (
	"strconv"

	"github.com/stackctl/stackctl/spec"
)

// ModeDestroy is the Mode of a plan that removes the whole stack: its steps
// remove objects for good, with no undo, and apply does not roll a failed
// destroy back (the next destroy removes what is left).
const ModeDestroy = "destroy"

// Groups of a destroy plan, in the order they run. The LB goes first: once
// it is gone nothing routes to the workers, so their registrations leave
// Consul and their containers go all at once, without waiting for the LB to
// re-render. The stack's KV keys go next; Consul's own container and the
// network go last, after the apply journal that lives in Consul.
const (
	GroupDestroyLB      = "destroy/lb"
	GroupDestroyWorkers = "destroy/workers"
	GroupDestroyKV      = "destroy/kv"
	GroupDestroyConsul  = "destroy/consul"
	GroupDestroyNetwork = "destroy/network"
)

// destroyReason is every destroy step's reason, but Consul's.
const destroyReason = "stack is being destroyed"

// ComputeDestroy is the plan of removing exactly what the stack owns: every
// container labelled for it, its network, its registrations and its KV
// keys. Like Compute it is pure, and ignores anything not labelled for the
// stack even if the observer let it through.
func ComputeDestroy(s *spec.Stack, observed *State) *Plan {
	o := ownedOnly(s.Name, observed)
	p := &Plan{FormatVersion: FormatVersion, Mode: ModeDestroy, Stack: s.Name, StackFile: s.File, Steps: []Step{}}
	add := func(group string, steps []Step) {
		sortRemovals(steps)
		for _, st := range steps {
			st.Group = group
			st.ID = string(st.Kind) + "/" + st.Target
			p.Steps = append(p.Steps, st)
			p.Summary.count(st.Action)
		}
	}
	var lbs, workers, consul []Step
	for i := range o.Containers {
		c := &o.Containers[i]
		st := Step{Action: ActionDestroy, Kind: kindOf(c), Target: c.Name, Service: c.Service(), Slot: c.Slot(),
			Reason: destroyReason}
		switch st.Kind {
		case KindLB:
			lbs = append(lbs, st)
		case KindConsul:
			st.Reason = destroyReason + " (last: it holds the apply journal)"
			consul = append(consul, st)
		default:
			workers = append(workers, st)
		}
	}
	for _, r := range o.Consul.Registrations {
		slot, _ := strconv.Atoi(r.Meta[MetaSlot])
		workers = append(workers, Step{Action: ActionDeregister, Kind: KindRegistration, Target: r.ID,
			Service: r.Meta[MetaService], Slot: max(slot, 0), Reason: destroyReason})
	}
	var kv []Step
	for _, k := range []struct {
		key string
		val *string
	}{{KVLBTemplate, o.Consul.LBTemplate}, {KVLBStatus, o.Consul.LBStatus}} {
		if k.val != nil {
			kv = append(kv, Step{Action: ActionDestroy, Kind: KindTemplate, Target: s.KVPrefix() + k.key, Reason: destroyReason})
		}
	}
	var network []Step
	if o.Network != nil {
		network = append(network, Step{Action: ActionDestroy, Kind: KindNetwork, Target: o.Network.Name, Reason: destroyReason})
	}
	add(GroupDestroyLB, lbs)
	add(GroupDestroyWorkers, workers)
	add(GroupDestroyKV, kv)
	add(GroupDestroyConsul, consul)
	add(GroupDestroyNetwork, network)
	return p
}
