package plan

import (
	"fmt"
	"strconv"

	"github.com/stackctl/stackctl/spec"
)

// ModeDestroy is the Mode of a plan that removes the whole stack: its steps
// remove objects for good, with no undo, and apply does not roll a failed
// destroy back (the next destroy removes what is left).
const ModeDestroy = "destroy"

// Groups of a destroy plan, in the order they are listed; each step's
// DependsOn says what it waits for. The reconcile agent goes before
// anything else, so that it cannot heal a stack being destroyed (it would
// put back the first worker to go). Then the LB: once it is gone
// nothing routes to the workers, so their registrations leave Consul all at
// once, without waiting for the LB to re-render, and each worker's
// container goes as soon as its registration is gone. Registrations go
// first even from a managed Consul that is about to be removed: Consul's
// checks of containers that are gone, each probing an address nothing
// answers on, made a 200-worker destroy a third slower (18 s against 13.5 s
// with the checks every 30 s). With an external Consul the stack's KV keys
// go beside the registrations (they wait only for the LB, which writes its
// status key); a managed Consul holds them in its container, and they go
// with it. Consul's own container goes after all of those, and after the
// apply journal that lives in Consul; the network last, once nothing is
// attached to it.
const (
	GroupDestroyReconcile  = "destroy/reconcile"
	GroupDestroyLB         = "destroy/lb"
	GroupDestroyDeregister = "destroy/deregister"
	GroupDestroyWorkers    = "destroy/workers"
	GroupDestroyKV         = "destroy/kv"
	GroupDestroyConsul     = "destroy/consul"
	GroupDestroyNetwork    = "destroy/network"
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
			st.ID = stepID(st)
			p.Steps = append(p.Steps, st)
			p.Summary.count(st.Action)
		}
	}
	var agents, lbs, workers, consul, kv []Step
	holder := false // the managed Consul container, which holds registrations and keys
	for i := range o.Containers {
		c := &o.Containers[i]
		st := Step{Action: ActionDestroy, Kind: kindOf(c), Target: c.Name, Host: c.Host, Service: c.Service(), Slot: c.Slot(),
			Reason: destroyReason}
		switch st.Kind {
		case KindReconcile:
			st.Reason = destroyReason + " (first: it would heal what goes)"
			agents = append(agents, st)
		case KindLB:
			lbs = append(lbs, st)
		case KindConsul:
			st.Reason = destroyReason + " (last: it holds the apply journal)"
			if s.Consul.Managed() && (c.Name == s.ConsulContainerName() || c.Host != "" && c.Name == s.ConsulAgentName(c.Host)) {
				holder = true
				st.Reason = destroyReason + consulHolds(o)
			}
			consul = append(consul, st)
		default:
			workers = append(workers, st)
		}
	}
	deregs := deregistrations(o)
	if !holder {
		kv = kvRemovals(s, o)
	}
	var network []Step
	if o.Network != nil {
		network = append(network, Step{Action: ActionDestroy, Kind: KindNetwork, Target: o.Network.Name, Reason: destroyReason})
	}
	for _, h := range s.Hosts {
		if hs := o.Hosts[h.Name]; hs != nil && hs.Network != nil {
			network = append(network, Step{Action: ActionDestroy, Kind: KindNetwork, Target: hs.Network.Name, Host: h.Name,
				Reason: destroyReason})
		}
	}
	linkLayers([][]Step{agents}, [][]Step{lbs}, [][]Step{deregs, workers, kv}, [][]Step{consul}, [][]Step{network})
	// A worker's container goes once its registration has left Consul, so
	// that no check probes an address that is gone.
	registered := map[string]string{}
	for _, d := range deregs {
		registered[d.Target] = stepID(d)
	}
	for i := range workers {
		if id, ok := registered[workers[i].Target]; ok {
			workers[i].DependsOn = append(workers[i].DependsOn, id)
		}
	}
	add(GroupDestroyReconcile, agents)
	add(GroupDestroyLB, lbs)
	add(GroupDestroyDeregister, deregs)
	add(GroupDestroyWorkers, workers)
	add(GroupDestroyKV, kv)
	add(GroupDestroyConsul, consul)
	add(GroupDestroyNetwork, network)
	reduceDepends(p.Steps)
	return p
}

// linkLayers makes every step of a layer depend on every step of the
// layers before it. Of a destroy plan's groups, only the workers and the KV
// keys share a layer: the keys wait for the LB, which writes its status
// key while it runs, not for the workers.
func linkLayers(layers ...[][]Step) {
	var before []string
	for _, layer := range layers {
		var ids []string
		for _, steps := range layer {
			setDepends(steps, before)
			ids = append(ids, stepIDs(steps)...)
		}
		before = append(before, ids...)
	}
}

// consulHolds says what the managed Consul's container takes with it: it
// keeps its data in the container, so the stack's KV keys need no removal
// of their own. (Registrations are removed before the workers go, so that
// no check probes a removed container; see ComputeDestroy.)
func consulHolds(o *State) string {
	keys := 0
	for _, v := range []*string{o.Consul.LBTemplate, o.Consul.LBStatus} {
		if v != nil {
			keys++
		}
	}
	if keys == 0 {
		return " (last: it holds the apply journal)"
	}
	return fmt.Sprintf(" (last: it holds the apply journal; its %d key(s) go with it)", keys)
}

func deregistrations(o *State) []Step {
	var out []Step
	for _, r := range o.Consul.Registrations {
		slot, _ := strconv.Atoi(r.Meta[MetaSlot])
		out = append(out, Step{Action: ActionDeregister, Kind: KindRegistration, Target: r.ID, Host: r.Host,
			Service: r.Meta[MetaService], Slot: max(slot, 0), Reason: destroyReason})
	}
	return out
}

func kvRemovals(s *spec.Stack, o *State) []Step {
	var out []Step
	for _, k := range []struct {
		key string
		val *string
	}{{KVLBTemplate, o.Consul.LBTemplate}, {KVLBStatus, o.Consul.LBStatus}} {
		if k.val != nil {
			out = append(out, Step{Action: ActionDestroy, Kind: KindTemplate, Target: s.KVPrefix() + k.key, Reason: destroyReason})
		}
	}
	return out
}
