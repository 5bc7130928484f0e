package apply

import (
	"sort"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// Groups of a destroy plan, in the order they run: registrations leave
// Consul (and the LB) first, then containers stop, then the stack's KV
// keys go; Consul's own container and the network are removed last, after
// the journal that lives in Consul.
const (
	GroupDestroyKV      = "removals/kv"
	GroupDestroyConsul  = "removals/consul"
	GroupDestroyNetwork = "removals/network"
)

// DestroyPlan is the plan of removing exactly what the stack owns: every
// container labelled for it, its network, its registrations and its KV keys.
// Nothing unlabelled is in observed (plan.Observe reads by label), and
// nothing unlabelled is added here.
func DestroyPlan(s *spec.Stack, observed *plan.State) *plan.Plan {
	p := &plan.Plan{FormatVersion: plan.FormatVersion, Stack: s.Name, StackFile: s.File, Steps: []plan.Step{}}
	add := func(st plan.Step) {
		st.ID = string(st.Kind) + "/" + st.Target
		p.Steps = append(p.Steps, st)
		switch st.Action {
		case plan.ActionDestroy, plan.ActionDeregister:
			p.Summary.Destroy++
		}
	}
	regs := append([]plan.Registration(nil), observed.Consul.Registrations...)
	sort.Slice(regs, func(i, j int) bool { return regs[i].ID < regs[j].ID })
	for _, r := range regs {
		if r.Meta[plan.MetaStack] != s.Name {
			continue
		}
		add(plan.Step{Group: plan.GroupDeregister, Action: plan.ActionDeregister, Kind: plan.KindRegistration,
			Target: r.ID, Service: r.Meta[plan.MetaService], Reason: "stack is being destroyed"})
	}
	var consul []plan.Container
	for _, c := range observed.Containers {
		if c.Labels[spec.LabelStack] != s.Name {
			continue
		}
		if c.Labels[spec.LabelRole] == plan.RoleConsul {
			consul = append(consul, c)
			continue
		}
		kind := plan.KindWorker
		if c.Labels[spec.LabelRole] == plan.RoleLB {
			kind = plan.KindLB
		}
		add(plan.Step{Group: plan.GroupDestroy, Action: plan.ActionDestroy, Kind: kind, Target: c.Name,
			Service: c.Labels[spec.LabelService], Reason: "stack is being destroyed"})
	}
	for _, k := range []struct {
		key string
		val *string
	}{{plan.KVLBTemplate, observed.Consul.LBTemplate}, {plan.KVLBStatus, observed.Consul.LBStatus}} {
		if k.val != nil {
			add(plan.Step{Group: GroupDestroyKV, Action: plan.ActionDestroy, Kind: plan.KindTemplate,
				Target: s.KVPrefix() + k.key, Reason: "stack is being destroyed"})
		}
	}
	for _, c := range consul {
		add(plan.Step{Group: GroupDestroyConsul, Action: plan.ActionDestroy, Kind: plan.KindConsul, Target: c.Name,
			Reason: "stack is being destroyed (last: it holds the apply journal)"})
	}
	if observed.Network != nil && observed.Network.Labels[spec.LabelStack] == s.Name {
		add(plan.Step{Group: GroupDestroyNetwork, Action: plan.ActionDestroy, Kind: plan.KindNetwork,
			Target: observed.Network.Name, Reason: "stack is being destroyed"})
	}
	return p
}
