package plan

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The parts of Compute that exist only for a stack with hosts
// (docs/multihost.md). A stack without hosts never reaches them: its plan
// is what it was before hosts existed, step for step.

// LabelHost is put on every container of a stack with hosts: the name of
// the host it was placed on, so that a container read from an engine says
// which host of the file it is, whatever address that engine was reached
// at.
const LabelHost = "io.stackctl.host"

// The host ports a worker may publish its port on, on its host's address.
// Plan picks the lowest free one (hostPorts), so that the registration's
// port is known before apply, shown in the plan, and kept for the
// container's life: a worker restarted by a rollback answers where it did.
const (
	HostPortMin = 20000
	HostPortMax = 20999
)

// hostNetworks plans the stack network on every host that lacks it. A host
// whose engine did not answer gets nothing: apply refuses such a plan
// (unreachableWarning says why), and nothing can be known of it.
func (b *builder) hostNetworks() {
	for _, h := range b.s.Hosts {
		hs := b.o.Hosts[h.Name]
		if !b.reached(h.Name) || hs.Network != nil || hs.UnownedNetwork {
			continue
		}
		b.netSteps = append(b.netSteps, Step{
			Action: ActionCreate, Kind: KindNetwork, Target: b.s.NetworkName(), Host: h.Name,
			Reason: "network does not exist on host " + h.Name,
			Diff:   []FieldDiff{{Field: "driver", After: "bridge"}},
		})
	}
}

// consulAgents converges one managed Consul agent per host: a server on
// consul.servers, a client elsewhere. Any other Consul container of the
// stack goes.
func (b *builder) consulAgents() {
	want := map[string]bool{}
	for _, h := range b.s.Hosts {
		want[b.s.ConsulAgentName(h.Name)] = true
	}
	byName := map[string]*Container{}
	for i := range b.o.Containers {
		c := &b.o.Containers[i]
		if c.Role() != RoleConsul {
			continue
		}
		if want[c.Name] && byName[c.Name] == nil && c.Name == b.s.ConsulAgentName(c.Host) {
			byName[c.Name] = c
			continue
		}
		b.destroyContainer(c, "not the Consul agent of a host of "+b.fileName())
	}
	for _, h := range b.s.Hosts {
		if !b.reached(h.Name) {
			continue
		}
		steps := b.converge(byName[b.s.ConsulAgentName(h.Name)], KindConsul, b.s.ConsulAgentName(h.Name),
			b.s.ConsulAgentHash(h.Name), ConsulAgentConfig(b.s, h.Name), b.s.Consul.Image)
		b.consulSteps = append(b.consulSteps, onHost(steps, h.Name)...)
	}
}

// onHost sets the host of steps.
func onHost(steps []Step, host string) []Step {
	for i := range steps {
		steps[i].Host = host
	}
	return steps
}

// imageCopies plans, for every host that will run a container of an image
// but whose engine lacks that image (by ID, as the control engine has it,
// or any ID when the image is about to be built), a copy from the control
// engine.
func (b *builder) imageCopies(placed map[string]map[int]string) {
	need := map[string]map[string]bool{} // ref → hosts
	add := func(ref, host string) {
		if need[ref] == nil {
			need[ref] = map[string]bool{}
		}
		need[ref][host] = true
	}
	for _, h := range b.s.Hosts {
		if b.s.Consul.Managed() {
			add(b.s.Consul.Image, h.Name)
		}
	}
	if b.s.LB != nil {
		add(b.s.LB.Image, b.s.LB.Host)
	}
	for _, svc := range b.s.Services {
		for _, host := range placed[svc.Name] {
			add(svc.Image, host)
		}
	}
	refs := make([]string, 0, len(need))
	for ref := range need {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		for _, h := range b.s.Hosts {
			if need[ref][h.Name] {
				b.imageCopy(ref, h.Name)
			}
		}
	}
}

func (b *builder) imageCopy(ref, host string) {
	if !b.reached(host) {
		return
	}
	hs := b.o.Hosts[host]
	local := b.o.Image(ref)
	there := hostImage(hs, ref)
	var before, after string
	switch {
	case b.rebuilt[ref]:
		after = KnownAfterApply
	case local == nil: // a pull step comes first
		after = KnownAfterApply
	case there == nil || there.ID != local.ID:
		after = ShortID(local.ID)
	default:
		return
	}
	if there != nil {
		before = ShortID(there.ID)
	}
	b.imageSteps = append(b.imageSteps, Step{Action: ActionCopy, Kind: KindImage, Target: ref, Host: host,
		Reason: "image copied to host " + host,
		Diff:   []FieldDiff{{Field: "image_id", Before: before, After: after}}})
}

func hostImage(hs *HostState, ref string) *Image {
	for i := range hs.Images {
		if hs.Images[i].Ref == ref {
			return &hs.Images[i]
		}
	}
	return nil
}

// placement decides the host of every slot of every service: plan.Place
// over the hosts the service may run on, remembering where each slot's
// container runs now.
func (b *builder) placement() map[string]map[int]string {
	out := map[string]map[int]string{}
	for _, svc := range b.s.Services {
		slots := make([]int, 0, svc.Replicas)
		for slot := 1; slot <= svc.Replicas; slot++ {
			slots = append(slots, slot)
		}
		current := map[int]string{}
		for _, slot := range slots {
			if host := b.currentHost(b.s.WorkerName(svc.Name, slot)); host != "" {
				current[slot] = host
			}
		}
		key := b.s.Name + "/" + svc.Name
		out[svc.Name] = Place(key, slots, b.s.EligibleHosts(svc), current)
		if len(b.s.Excluded) > 0 {
			// Where each slot would run with every host in: a slot that
			// belongs on an excluded host stands in for it elsewhere.
			for slot, host := range Place(key, slots, b.s.EligibleKnownHosts(svc), current) {
				if b.s.Host(host) == nil {
					b.homes[b.s.WorkerName(svc.Name, slot)] = host
				}
			}
		}
	}
	return out
}

// hostPorts hands out the host ports new workers publish on, per host: the
// lowest port in [HostPortMin, HostPortMax] that no container of the stack
// on that host holds, running or stopped, nor an earlier step of the plan.
type hostPorts struct {
	used map[string]map[int]bool // host → ports
}

func newHostPorts(o *State) *hostPorts {
	p := &hostPorts{used: map[string]map[int]bool{}}
	for _, c := range o.Containers {
		for _, pp := range c.Ports {
			p.take(c.Host, pp.HostPort)
		}
		if port, err := strconv.Atoi(c.Labels[LabelHostPort]); err == nil {
			p.take(c.Host, port)
		}
	}
	return p
}

func (p *hostPorts) take(host string, port int) {
	if p.used[host] == nil {
		p.used[host] = map[int]bool{}
	}
	p.used[host][port] = true
}

// next returns a free port on host and takes it; 0 when the range is full.
func (p *hostPorts) next(host string) int {
	for port := HostPortMin; port <= HostPortMax; port++ {
		if !p.used[host][port] {
			p.take(host, port)
			return port
		}
	}
	return 0
}

// LabelHostPort is put on a worker of a stack with hosts: the host port it
// publishes its service port on. Docker reports a stopped container's
// bindings only as asked for, so the label is what plan reads for a
// container that is not running.
const LabelHostPort = "io.stackctl.host-port"

// WorkerHostPort is the host port the worker c publishes on, 0 if none.
func WorkerHostPort(c *Container) int {
	port, err := strconv.Atoi(c.Labels[LabelHostPort])
	if err != nil {
		return 0
	}
	return port
}

// unreachableWarning names every host whose engine did not answer and what
// the stack has there, as far as Consul knows.
func (b *builder) unreachableWarning() {
	for _, h := range b.s.Hosts {
		if b.reached(h.Name) {
			continue
		}
		why := "its engine was not read"
		if hs := b.o.Hosts[h.Name]; hs != nil {
			why = hs.Error
		}
		var held []string
		for _, r := range b.o.Consul.Registrations {
			if r.Host == h.Name {
				held = append(held, r.ID)
			}
		}
		slices.Sort(held)
		detail := []string{why,
			"apply refuses while it is unreachable: bring it back, take it out of " + b.fileName() +
				", or run apply --exclude-host " + h.Name + " to place its workers on the other hosts."}
		if len(held) > 0 {
			detail = append(detail, "Consul has these workers there: "+strings.Join(held, ", "))
		}
		b.warns = append(b.warns, Warning{Summary: "Host " + h.Name + " is unreachable; nothing is planned on it.", Detail: detail})
	}
}

// reached reports whether the named host's engine answered the
// observation; a host the state does not mention did not.
func (b *builder) reached(host string) bool {
	hs := b.o.Hosts[host]
	return hs != nil && hs.Reached()
}

// placeNew puts the new container of a worker step on its host, at a free
// host port; old is the container it replaces, if any, whose host the diff
// shows.
func (b *builder) placeNew(st *Step, old *Container, host string) {
	if !b.s.MultiHost() {
		return
	}
	st.Host, st.HostPort = host, b.ports.next(host)
	st.Home = b.home(st.Target, old)
	var before, beforePort string
	if old != nil {
		before = old.Host
		if p := WorkerHostPort(old); p != 0 {
			beforePort = strconv.Itoa(p)
		}
	}
	if before != host {
		st.Diff = append(st.Diff, FieldDiff{Field: "host", Before: before, After: host})
	}
	st.Diff = append(st.Diff, FieldDiff{Field: "host_port", Before: beforePort, After: strconv.Itoa(st.HostPort)})
	sort.SliceStable(st.Diff, func(i, j int) bool { return st.Diff[i].Field < st.Diff[j].Field })
}

// lbOnHost converges the LB of a stack with hosts on lb.host; an LB
// elsewhere is replaced by one there.
func (b *builder) lbOnHost(c *Container) []Step {
	host, name := b.s.LB.Host, b.s.LBContainerName()
	if !b.reached(host) {
		return nil
	}
	if c != nil && c.Host != host {
		return []Step{{Action: ActionReplace, Kind: KindLB, Target: name, Host: host, Replaces: c.ID,
			Reason: "lb.host moves it from host " + c.Host + " to host " + host,
			Diff:   []FieldDiff{{Field: "host", Before: c.Host, After: host}}}}
	}
	cfg := LBConfig(b.s)
	cfg["host"] = host
	return onHost(b.converge(c, KindLB, name, b.s.LBHash(), cfg, b.s.LB.Image), host)
}

// LabelHome is put on a worker placed away from its host because that host
// was left out of the run (apply --exclude-host): the host it goes back to
// once that host is in the stack again, so that exactly the workers that
// left it return, and no other slot moves.
const LabelHome = "io.stackctl.home"

// currentHost is where the slot's worker runs now, for placement: the home
// it left, once that host is back in the stack; else the host of its
// container (of several, a running one, then the first by host name).
func (b *builder) currentHost(name string) string {
	var found []*Container
	for i := range b.o.Containers {
		c := &b.o.Containers[i]
		if c.Name == name && c.Host != "" {
			found = append(found, c)
		}
	}
	for _, c := range found {
		if home := c.Labels[LabelHome]; home != "" && b.s.Host(home) != nil {
			return home
		}
	}
	slices.SortFunc(found, func(a, c *Container) int {
		if a.Running() != c.Running() {
			if a.Running() {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Host, c.Host)
	})
	if len(found) == 0 {
		return ""
	}
	return found[0].Host
}

// home is the host a new worker for the slot name stands in for, and goes
// back to: the excluded host placement would give the slot with every host
// of the file in; else the excluded host Consul last had the slot's
// instance on, or the home of the container it replaces while that host is
// still left out.
func (b *builder) home(name string, old *Container) string {
	if h := b.homes[name]; h != "" {
		return h
	}
	if old != nil {
		if h := old.Labels[LabelHome]; h != "" && b.s.Host(h) == nil && b.s.KnownHost(h) != nil {
			return h
		}
	}
	for _, r := range b.o.Consul.Registrations {
		if r.ID == name && r.Host != "" && b.s.Host(r.Host) == nil && b.s.KnownHost(r.Host) != nil {
			return r.Host
		}
	}
	return ""
}

// registrationOn is the registration id held by host's agent, or nil.
func (b *builder) registrationOn(id, host string) *Registration {
	for i := range b.o.Consul.Registrations {
		if r := &b.o.Consul.Registrations[i]; r.ID == id && r.Host == host {
			return r
		}
	}
	return nil
}

// strayRegistrations deregisters, in a stack with hosts, a slot's
// registration held by a reachable host's agent where the slot has no
// container: left behind by a worker that moved, or restored by an agent
// that came back. A registration on a host that is left out or does not
// answer cannot be reached, and stays until it can.
func (b *builder) strayRegistrations() {
	for _, r := range b.o.Consul.Registrations {
		svc := b.s.Service(r.Meta[MetaService])
		slot, _ := strconv.Atoi(r.Meta[MetaSlot])
		if r.Host == "" || !b.reached(r.Host) || svc == nil || slot < 1 || slot > svc.Replicas ||
			r.ID != b.s.WorkerName(svc.Name, slot) {
			continue // not one host's stray, or orphanRegistrations' to remove
		}
		if b.containerOn(r.ID, r.Host) != nil {
			continue
		}
		b.deregister = append(b.deregister, Step{Action: ActionDeregister, Kind: KindRegistration,
			Target: r.ID, Host: r.Host, Service: r.Meta[MetaService], Slot: slot,
			Reason: "its worker does not run on host " + r.Host})
	}
}

// containerOn is the stack's container named name on host, or nil.
func (b *builder) containerOn(name, host string) *Container {
	for i := range b.o.Containers {
		if c := &b.o.Containers[i]; c.Name == name && c.Host == host {
			return c
		}
	}
	return nil
}
