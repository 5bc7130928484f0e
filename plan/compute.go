package plan

import (
	"path/filepath"
	"sort"
	"strconv"

	"github.com/stackctl/stackctl/spec"
)

// Compute diffs the desired stack against the observed state. It is a pure
// function: the same inputs give the same plan, byte for byte, and nothing
// outside its arguments is read. Objects not labelled for the stack are
// ignored even if the observer let them through.
func Compute(desired *spec.Stack, observed *State) *Plan {
	b := &builder{s: desired, o: ownedOnly(desired.Name, observed), rebuilt: map[string]bool{}, homes: map[string]string{}}
	if desired.MultiHost() {
		b.ports = newHostPorts(b.o)
		b.placed = b.placement()
		b.hostNetworks()
		b.consulAgents()
		b.images()
		b.imageCopies(b.placed)
	} else {
		b.network()
		b.consul()
		b.images()
	}
	for _, svc := range desired.Services {
		b.service(svc)
	}
	b.orphanWorkers()
	b.orphanRegistrations()
	if desired.MultiHost() {
		b.strayRegistrations()
	}
	b.lb()
	b.reconciler()
	b.warnings()
	return b.plan()
}

// builder collects steps per group; plan() links them and concatenates them
// in group order.
type builder struct {
	s       *spec.Stack
	o       *State
	rebuilt map[string]bool // image refs a build step will change
	// For a stack with hosts: where each service's slots go, and the host
	// ports new workers publish on.
	placed map[string]map[int]string
	ports  *hostPorts
	homes  map[string]string // worker name → the excluded host it stands in for

	netSteps, consulSteps, imageSteps []Step
	workers                           [][]Step // one batch each
	registrations, tmplSteps, lbSteps []Step
	reconcileSteps                    []Step
	deregister, destroy               []Step
	warns                             []Warning
}

func (b *builder) plan() *Plan {
	p := &Plan{FormatVersion: FormatVersion, Stack: b.s.Name, StackFile: b.s.File, Steps: []Step{}, Warnings: b.warns,
		LBTemplate: CheckLBTemplate(b.s)}
	add := func(group string, steps []Step) {
		for _, st := range steps {
			st.Group = group
			st.ID = stepID(st)
			p.Steps = append(p.Steps, st)
			p.Summary.count(st.Action)
		}
	}
	b.link()
	add(GroupNetwork, b.netSteps)
	add(GroupImages, b.imageSteps)
	add(GroupConsul, b.consulSteps)
	for _, batch := range b.workers {
		add(batch[0].Group, batch)
	}
	add(GroupRegistrations, b.registrations)
	add(GroupTemplate, b.tmplSteps)
	add(GroupLB, b.lbSteps)
	sortRemovals(b.deregister)
	sortRemovals(b.destroy)
	add(GroupDeregister, b.deregister)
	add(GroupDestroy, b.destroy)
	add(GroupReconcile, b.reconcileSteps)
	reduceDepends(p.Steps)
	return p
}

// ownedOnly drops anything not labelled for the stack, so that a reader
// that filters too little can never put a foreign object in a plan.
func ownedOnly(stack string, o *State) *State {
	out := *o
	out.Containers = nil
	for _, c := range o.Containers {
		if c.Labels[spec.LabelStack] == stack {
			out.Containers = append(out.Containers, c)
		}
	}
	sort.Slice(out.Containers, func(i, j int) bool { return out.Containers[i].Name < out.Containers[j].Name })
	out.Consul.Registrations = nil
	for _, r := range o.Consul.Registrations {
		if r.Meta[MetaStack] == stack {
			out.Consul.Registrations = append(out.Consul.Registrations, r)
		}
	}
	sort.Slice(out.Consul.Registrations, func(i, j int) bool {
		return out.Consul.Registrations[i].ID < out.Consul.Registrations[j].ID
	})
	if out.Network != nil && out.Network.Labels[spec.LabelStack] != stack {
		out.Network, out.UnownedNetwork = nil, true
	}
	if o.Hosts != nil {
		out.Hosts = make(map[string]*HostState, len(o.Hosts))
		for name, hs := range o.Hosts {
			h := *hs
			if h.Network != nil && h.Network.Labels[spec.LabelStack] != stack {
				h.Network, h.UnownedNetwork = nil, true
			}
			out.Hosts[name] = &h
		}
	}
	return &out
}

func (b *builder) network() {
	if b.o.Network != nil || b.o.UnownedNetwork {
		return
	}
	b.netSteps = append(b.netSteps, Step{
		Action: ActionCreate, Kind: KindNetwork, Target: b.s.NetworkName(),
		Reason: "network does not exist",
		Diff:   []FieldDiff{{Field: "driver", After: "bridge"}},
	})
}

// roleContainers returns the stack's containers of a role, the one named
// name first (nil if none is) and the others after it.
func (b *builder) roleContainers(role, name string) (*Container, []*Container) {
	var main *Container
	var others []*Container
	for i := range b.o.Containers {
		c := &b.o.Containers[i]
		if c.Labels[spec.LabelRole] != role {
			continue
		}
		if c.Name == name && main == nil {
			main = c
			continue
		}
		others = append(others, c)
	}
	return main, others
}

func (b *builder) consul() {
	c, extra := b.roleContainers(RoleConsul, b.s.ConsulContainerName())
	if !b.s.Consul.Managed() {
		if c != nil {
			extra = append([]*Container{c}, extra...)
		}
		for _, x := range extra {
			b.destroyContainer(x, "the stack uses the Consul agent at "+b.s.Consul.Address)
		}
		return
	}
	for _, x := range extra {
		b.destroyContainer(x, "a second Consul container; the stack's is "+b.s.ConsulContainerName())
	}
	b.consulSteps = append(b.consulSteps, b.converge(c, KindConsul, b.s.ConsulContainerName(),
		b.s.ConsulHash(), ConsulConfig(b.s), b.s.Consul.Image)...)
}

// converge is the create / replace / start decision shared by the Consul and
// LB containers.
func (b *builder) converge(c *Container, kind Kind, name, hash string, cfg map[string]string, image string) []Step {
	if c == nil {
		return []Step{{Action: ActionCreate, Kind: kind, Target: name,
			Reason: "container does not exist", Diff: configDiff(nil, cfg)}}
	}
	if c.Labels[spec.LabelHash] != hash {
		return []Step{{Action: ActionReplace, Kind: kind, Target: name, Replaces: c.ID,
			Reason: "configuration changed", Diff: hashDiff(c, hash, cfg)}}
	}
	if reason, diff := b.imageDrift(c, image); reason != "" {
		return []Step{{Action: ActionReplace, Kind: kind, Target: name, Replaces: c.ID, Reason: reason, Diff: diff}}
	}
	if !c.Running() {
		return []Step{startStep(c, kind)}
	}
	return nil
}

func startStep(c *Container, kind Kind) Step {
	return Step{Action: ActionStart, Kind: kind, Target: c.Name,
		Reason: "container is " + c.State,
		Diff:   []FieldDiff{{Field: "state", Before: c.State, After: ContainerRunning}}}
}

// imageDrift explains why a container must be recreated for its image: the
// image will be rebuilt, or its reference now names another image.
func (b *builder) imageDrift(c *Container, ref string) (string, []FieldDiff) {
	if b.rebuilt[ref] {
		return "image " + ref + " will be rebuilt", []FieldDiff{{Field: "image_id", Before: ShortID(c.ImageID), After: KnownAfterApply}}
	}
	img := b.o.Image(ref)
	if img == nil || c.ImageID == "" || img.ID == c.ImageID {
		return "", nil
	}
	return "image " + ref + " now names a different image",
		[]FieldDiff{{Field: "image_id", Before: ShortID(c.ImageID), After: ShortID(img.ID)}}
}

func (b *builder) destroyContainer(c *Container, reason string) {
	b.destroy = append(b.destroy, Step{Action: ActionDestroy, Kind: kindOf(c), Target: c.Name, Host: c.Host,
		Service: c.Labels[spec.LabelService], Slot: slotOf(c), Reason: reason})
}

func kindOf(c *Container) Kind {
	switch c.Labels[spec.LabelRole] {
	case RoleConsul:
		return KindConsul
	case RoleLB:
		return KindLB
	case RoleReconcile:
		return KindReconcile
	}
	return KindWorker
}

func slotOf(c *Container) int {
	n, err := strconv.Atoi(c.Labels[spec.LabelSlot])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

func (b *builder) lb() {
	c, extra := b.roleContainers(RoleLB, b.s.LBContainerName())
	if b.s.LB == nil {
		if c != nil {
			extra = append([]*Container{c}, extra...)
		}
		for _, x := range extra {
			b.destroyContainer(x, "the stack has no lb section")
		}
		if b.o.Consul.LBTemplate != nil {
			b.destroy = append(b.destroy, Step{Action: ActionDestroy, Kind: KindTemplate,
				Target: b.s.KVPrefix() + KVLBTemplate, Reason: "the stack has no lb section"})
		}
		return
	}
	for _, x := range extra {
		b.destroyContainer(x, "a second LB container; the stack's is "+b.s.LBContainerName())
	}
	if b.s.MultiHost() {
		b.lbSteps = append(b.lbSteps, b.lbOnHost(c)...)
	} else {
		b.lbSteps = append(b.lbSteps, b.converge(c, KindLB, b.s.LBContainerName(),
			b.s.LBHash(), LBConfig(b.s), b.s.LB.Image)...)
	}
	b.template()
}

// reconciler converges the stack's own reconcile agent. A plan the agent
// makes for itself (spec.Stack.InAgent) leaves its container alone, even
// when the section changed or went: an agent that replaced or removed its
// own container would die in the middle of that apply. A person's
// `stackctl apply` makes those changes.
func (b *builder) reconciler() {
	if b.s.InAgent {
		return
	}
	name := b.s.ReconcileContainerName()
	c, extra := b.roleContainers(RoleReconcile, name)
	if b.s.Reconcile == nil {
		if c != nil {
			extra = append([]*Container{c}, extra...)
		}
		for _, x := range extra {
			b.destroyContainer(x, "the stack has no reconcile section")
		}
		return
	}
	for _, x := range extra {
		b.destroyContainer(x, "a second reconcile container; the stack's is "+name)
	}
	b.reconcileSteps = append(b.reconcileSteps, b.converge(c, KindReconcile, name,
		b.s.ReconcileHash(), ReconcileConfig(b.s), b.s.Reconcile.Image)...)
}

func (b *builder) template() {
	key := b.s.KVPrefix() + KVLBTemplate
	name := filepath.Base(b.s.LB.Template)
	live := b.o.Consul.LBTemplate
	if live == nil {
		b.tmplSteps = append(b.tmplSteps, Step{Action: ActionCreate, Kind: KindTemplate, Target: key,
			Reason:   b.absentFromConsul("no template in Consul KV yet"),
			TextDiff: UnifiedDiff("/dev/null", name, "", b.s.LB.TemplateSource)})
		return
	}
	if *live == b.s.LB.TemplateSource {
		return
	}
	rendered, warn := renderedDiff(name, *live, b.s.LB.TemplateSource, b.o)
	if warn != nil {
		b.warns = append(b.warns, *warn)
	}
	b.tmplSteps = append(b.tmplSteps, Step{Action: ActionRender, Kind: KindTemplate, Target: key,
		Reason:       name + " differs from the template in Consul KV",
		TextDiff:     UnifiedDiff(key+" (live)", name, *live, b.s.LB.TemplateSource),
		RenderedDiff: rendered})
}

func (b *builder) warnings() {
	b.unreachableWarning()
	if b.o.UnownedNetwork {
		b.warns = append(b.warns, Warning{
			Summary: "A network named " + b.s.NetworkName() + " exists but is not labelled " + spec.LabelStack + "=" + b.s.Name + ".",
			Detail:  []string{"stackctl never touches objects it does not own: remove or rename that network, or rename the stack."},
		})
	}
	if st := b.o.Consul.LBStatus; st != nil && b.s.LB != nil {
		if w := lbStatusWarning(b.s.KVPrefix()+KVLBStatus, *st); w != nil {
			b.warns = append(b.warns, *w)
		}
	}
	if j := b.o.Consul.Journal; j != nil {
		b.warns = append(b.warns, journalWarning(b.s.KVPrefix()+KVJournal, *j))
	}
}

// sortRemovals orders removals by kind, then service and slot (numerically,
// so that web-9 comes before web-10), then name.
func sortRemovals(steps []Step) {
	sort.SliceStable(steps, func(i, j int) bool {
		a, b := steps[i], steps[j]
		switch {
		case a.Kind != b.Kind:
			return a.Kind < b.Kind
		case a.Service != b.Service:
			return a.Service < b.Service
		case a.Slot != b.Slot:
			return a.Slot < b.Slot
		}
		return a.Target < b.Target
	})
}

// ShortID is an image or container ID as Docker shows it: 12 hex digits,
// without "sha256:".
func ShortID(id string) string {
	const prefix = "sha256:"
	if len(id) > len(prefix) && id[:len(prefix)] == prefix {
		id = id[len(prefix):]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
