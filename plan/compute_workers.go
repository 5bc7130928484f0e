package plan

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/spec"
)

// service plans the workers and registrations of one service: slots
// 1..replicas converge, higher slots and duplicates go.
func (b *builder) service(svc *spec.Service) {
	slots, extra := b.workerSlots(svc.Name)
	var steps []Step
	for slot := 1; slot <= svc.Replicas; slot++ {
		if st, ok := b.worker(svc, slot, slots[slot]); ok {
			steps = append(steps, st)
		}
	}
	for slot, c := range slots {
		if slot > svc.Replicas {
			extra = append(extra, c)
		}
	}
	sortContainers(extra)
	for _, c := range extra {
		reason := fmt.Sprintf("slot %d is above replicas (%d)", slotOf(c), svc.Replicas)
		switch {
		case c.Name != b.s.WorkerName(svc.Name, slotOf(c)) || slotOf(c) == 0:
			reason = "not a slot of service " + svc.Name + " (left by an interrupted apply?)"
		case slotOf(c) <= svc.Replicas && slots[slotOf(c)] != nil && slots[slotOf(c)].Host != c.Host:
			reason = fmt.Sprintf("slot %d runs on host %s", slotOf(c), slots[slotOf(c)].Host)
			if home := c.Labels[LabelHome]; home != "" && home == slots[slotOf(c)].Host {
				reason += ", its home, which is back"
			}
		}
		b.destroyContainer(c, reason)
	}
	b.batch(svc, steps)
}

// workerSlots maps each slot of a service to its container: the one with the
// slot's name if there is one, else the first by name. Every other container
// of the service is returned as extra.
func (b *builder) workerSlots(service string) (map[int]*Container, []*Container) {
	slots := map[int]*Container{}
	var extra []*Container
	for i := range b.o.Containers {
		c := &b.o.Containers[i]
		if c.Labels[spec.LabelRole] != RoleWorker || c.Labels[spec.LabelService] != service {
			continue
		}
		slot := slotOf(c)
		if slot == 0 {
			extra = append(extra, c)
			continue
		}
		cur, taken := slots[slot]
		switch {
		case !taken:
			slots[slot] = c
		case b.s.MultiHost() && c.Name == cur.Name && b.placed[service][slot] == c.Host:
			// One name on two hosts: a worker caught moving, or back on
			// a host that returned. The one where the slot goes stays.
			slots[slot] = c
			extra = append(extra, cur)
		case c.Name == b.s.WorkerName(service, slot) && cur.Name != c.Name:
			slots[slot] = c
			extra = append(extra, cur)
		default:
			extra = append(extra, c)
		}
	}
	return slots, extra
}

// worker decides what one desired slot needs. A worker step (create,
// replace, start) owns the slot's registration: apply registers the worker
// once its container runs and waits for its check to pass, so that an old
// worker leaves only when the new one serves. Only a worker whose container
// stays as it is gets a registration step of its own.
func (b *builder) worker(svc *spec.Service, slot int, c *Container) (Step, bool) {
	name := b.s.WorkerName(svc.Name, slot)
	reg := b.o.Registration(name)
	if c != nil && b.s.MultiHost() {
		reg = b.registrationOn(name, c.Host)
	}
	base := Step{Kind: KindWorker, Target: name, Service: svc.Name, Slot: slot}
	host := b.placed[svc.Name][slot] // "" without hosts
	if b.s.MultiHost() && !b.reached(host) {
		return Step{}, false // unreachableWarning says why
	}
	if c == nil {
		base.Action, base.Reason = ActionCreate, "container does not exist"
		base.Diff = configDiff(nil, WorkerConfig(b.s, svc))
		base.Diff = append(base.Diff, FieldDiff{Field: "registration", After: registrationSummary(b.s, svc)})
		b.placeNew(&base, nil, host)
		return base, true
	}
	if reason, diff := b.replaceReason(svc, c, reg); reason != "" {
		base.Action, base.Reason, base.Diff, base.Replaces = ActionReplace, reason, diff, c.ID
		b.placeNew(&base, c, host)
		return base, true
	}
	if c.Host != host {
		base.Action, base.Replaces = ActionReplace, c.ID
		base.Reason = "placement moves it from host " + c.Host + " to host " + host
		b.placeNew(&base, c, host)
		return base, true
	}
	if !c.Running() {
		st := withSlot(startStep(c, KindWorker), svc.Name, slot)
		st.Host = c.Host
		return st, true
	}
	b.register(svc, slot, reg, c)
	return Step{}, false
}

// registrationSummary describes the registration a new worker gets.
func registrationSummary(s *spec.Stack, svc *spec.Service) string {
	return fmt.Sprintf("service %s, port %d, %s", s.ConsulServiceName(svc.Name), svc.Port, CheckSummary(svc))
}

func withSlot(st Step, service string, slot int) Step {
	st.Service, st.Slot = service, slot
	return st
}

func (b *builder) replaceReason(svc *spec.Service, c *Container, reg *Registration) (string, []FieldDiff) {
	if want := b.s.WorkerHash(svc); c.Labels[spec.LabelHash] != want {
		return "configuration changed", hashDiff(c, want, WorkerConfig(b.s, svc))
	}
	if reason, diff := b.imageDrift(c, svc.Image); reason != "" {
		return reason, diff
	}
	if c.State == ContainerDead {
		return "container is dead", []FieldDiff{{Field: "state", Before: c.State, After: ContainerRunning}}
	}
	if c.Running() && reg != nil && reg.Status == CheckCritical {
		return "health check is critical" + outputSuffix(reg.Output),
			[]FieldDiff{{Field: "check", Before: CheckCritical, After: CheckPassing}}
	}
	return "", nil
}

func outputSuffix(out string) string {
	out = strings.TrimSpace(out)
	if i := strings.IndexByte(out, '\n'); i >= 0 {
		out = out[:i]
	}
	if len(out) > 120 {
		out = out[:117] + "..."
	}
	if out == "" {
		return ""
	}
	return ": " + out
}

// register plans the registration of a slot whose running container c
// stays: it must be registered at c's address with the desired settings.
func (b *builder) register(svc *spec.Service, slot int, reg *Registration, c *Container) {
	want := DesiredRegistration(b.s, svc, slot, c.IP(b.s.NetworkName()))
	if h := b.s.Host(c.Host); h != nil {
		want.Address, want.Port = h.Address, WorkerHostPort(c)
	}
	base := Step{Kind: KindRegistration, Target: want.ID, Host: c.Host, Service: svc.Name, Slot: slot}
	if reg == nil {
		base.Action, base.Reason, base.Diff = ActionRegister, b.absentFromConsul("not registered in Consul"), registrationDiff(nil, want)
		b.registrations = append(b.registrations, base)
		return
	}
	diff := registrationDiff(reg, want)
	if len(diff) == 0 {
		return
	}
	base.Action, base.Diff, base.Reason = ActionUpdate, diff, "registration differs from "+b.fileName()
	if reg.Address != want.Address {
		base.Reason = "registered address is not the container's"
	}
	b.registrations = append(b.registrations, base)
}

func registrationDiff(have *Registration, want Registration) []FieldDiff {
	var before Registration
	if have != nil {
		before = *have
	}
	var d []FieldDiff
	add := func(field, from, to string) {
		if from != to {
			d = append(d, FieldDiff{Field: field, Before: from, After: to})
		}
	}
	add("address", before.Address, want.Address)
	add("check", before.Meta[MetaCheck], want.Meta[MetaCheck])
	if have != nil && before.Meta[MetaHash] != want.Meta[MetaHash] && before.Meta[MetaCheck] == want.Meta[MetaCheck] {
		add("hash", before.Meta[MetaHash], want.Meta[MetaHash])
	}
	add("port", portString(before.Port), portString(want.Port))
	add("service", before.Service, want.Service)
	add("slot", before.Meta[MetaSlot], want.Meta[MetaSlot])
	return d
}

func portString(p int) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(p)
}

// batch cuts a service's worker steps into groups of update.parallelism.
func (b *builder) batch(svc *spec.Service, steps []Step) {
	size := max(svc.Update.Parallelism, 1)
	for i := 0; i < len(steps); i += size {
		group := fmt.Sprintf("%s%s/%d", GroupWorkersPrefix, svc.Name, i/size+1)
		batch := steps[i:min(i+size, len(steps))]
		for k := range batch {
			batch[k].Group = group
		}
		b.workers = append(b.workers, batch)
	}
}

// orphanWorkers destroys containers of services the stack no longer has and
// containers with a role stackctl does not know.
func (b *builder) orphanWorkers() {
	for i := range b.o.Containers {
		c := &b.o.Containers[i]
		role := c.Labels[spec.LabelRole]
		switch {
		case role == RoleWorker && b.s.Service(c.Labels[spec.LabelService]) == nil:
			b.destroyContainer(c, "service "+c.Labels[spec.LabelService]+" is not in "+b.fileName())
		case role != RoleWorker && role != RoleConsul && role != RoleLB && role != RoleReconcile:
			b.destroyContainer(c, "labelled for the stack with unknown role "+strconv.Quote(role))
		}
	}
}

// orphanRegistrations deregisters every registration of the stack that is
// not the registration of a desired slot.
func (b *builder) orphanRegistrations() {
	for _, r := range b.o.Consul.Registrations {
		svc := b.s.Service(r.Meta[MetaService])
		slot, _ := strconv.Atoi(r.Meta[MetaSlot])
		var reason string
		switch {
		case svc == nil:
			reason = "service " + r.Meta[MetaService] + " is not in " + b.fileName()
		case slot < 1 || r.ID != b.s.WorkerName(svc.Name, slot):
			reason = "not the registration of a slot of service " + svc.Name
		case slot > svc.Replicas:
			reason = fmt.Sprintf("slot %d is above replicas (%d)", slot, svc.Replicas)
		default:
			continue
		}
		b.deregister = append(b.deregister, Step{Action: ActionDeregister, Kind: KindRegistration,
			Target: r.ID, Host: r.Host, Service: r.Meta[MetaService], Slot: max(slot, 0), Reason: reason})
	}
}

// absentFromConsul explains why something is missing from Consul: really
// absent, or unknown because the stack's Consul is not running to be asked.
func (b *builder) absentFromConsul(reason string) string {
	if b.o.Consul.Reached {
		return reason
	}
	return "Consul is not running, so what it holds is unknown"
}

func (b *builder) fileName() string {
	if b.s.File == "" {
		return "the stack file"
	}
	return filepath.Base(b.s.File)
}
