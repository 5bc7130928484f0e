package apply

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// workerStopTimeout is how long a stopped worker may take to finish the
// requests it holds: the primes app drains for up to 30s.
const workerStopTimeout = 35 * time.Second

func (e *Executor) workerOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	if step.Action == plan.ActionDestroy {
		return e.destroyContainerOp(ctx, st, step)
	}
	svc := e.Stack.Service(step.Service)
	if svc == nil {
		return nil, unsupported(step)
	}
	old := slotContainer(st.before, svc.Name, step.Slot, step.Target)
	r := &Restore{
		Role: plan.RoleWorker, Service: svc.Name, Slot: step.Slot, Name: step.Target,
		Deadline: svc.Update.HealthyDeadline.Milliseconds(),
	}
	if old != nil {
		c, err := e.awaitConsul(ctx)
		if err != nil {
			return nil, err
		}
		reg, err := c.Registration(ctx, step.Target)
		if err != nil {
			return nil, fmt.Errorf("read registration %s: %w", step.Target, err)
		}
		r.OldID, r.OldRunning, r.OldReg = old.ID, old.Running(), reg
	}
	undo := &Undo{Op: UndoContainer, Restore: r}
	switch {
	case step.Action == plan.ActionCreate && old == nil:
		return &operation{undo: undo, do: func(ctx context.Context) error {
			// A Consul server created in the same group starts first: its
			// election is the longest wait of a first apply, and Docker is
			// slower at everything while it starts twenty containers.
			if _, err := st.await(ctx, plan.KindConsul); err != nil {
				return err
			}
			return e.createWorker(ctx, svc, step.Slot, step.Target)
		}}, nil
	case step.Action == plan.ActionStart && old != nil:
		return &operation{undo: undo, do: func(ctx context.Context) error {
			return e.startWorker(ctx, svc, step.Slot, old)
		}}, nil
	case step.Action == plan.ActionReplace && old != nil, step.Action == plan.ActionCreate:
		r.Discard = old != nil
		if old == nil {
			return &operation{undo: undo, do: func(ctx context.Context) error {
				return e.createWorker(ctx, svc, step.Slot, step.Target)
			}}, nil
		}
		if svc.Update.Order == spec.OrderStopFirst {
			return &operation{undo: undo, do: func(ctx context.Context) error {
				return e.replaceStopFirst(ctx, svc, step.Slot, old, r.OldReg)
			}}, nil
		}
		r.TmpName = step.Target + plan.SuffixNew + e.ApplyID[:min(6, len(e.ApplyID))]
		return &operation{undo: undo, do: func(ctx context.Context) error {
			return e.replaceStartFirst(ctx, svc, step.Slot, old, r.OldReg, r.TmpName)
		}}, nil
	}
	return nil, unsupported(step)
}

// slotContainer is the observed container of a slot: the one named for
// it, else any other of the slot (as plan pairs them).
func slotContainer(s *plan.State, service string, slot int, name string) *plan.Container {
	if c := s.Container(name); c != nil && c.Labels[spec.LabelRole] == plan.RoleWorker {
		return c
	}
	for i := range s.Containers {
		c := &s.Containers[i]
		if c.Labels[spec.LabelRole] == plan.RoleWorker && c.Labels[spec.LabelService] == service &&
			c.Labels[spec.LabelSlot] == strconv.Itoa(slot) {
			return c
		}
	}
	return nil
}

func (e *Executor) workerSpec(svc *spec.Service, slot int, name string) ContainerSpec {
	env := make([]string, 0, len(svc.Env))
	for _, v := range svc.Env {
		env = append(env, v.Name+"="+v.Value)
	}
	return ContainerSpec{
		Name:        name,
		Image:       svc.Image,
		Cmd:         svc.Command,
		Env:         env,
		Labels:      e.labels(plan.WorkerLabels(e.Stack, svc, slot)),
		Network:     e.Stack.NetworkName(),
		MemoryBytes: svc.Resources.MemoryBytes,
		NanoCPUs:    svc.Resources.NanoCPUs,
		StopTimeout: workerStopTimeout,
		Restart:     "unless-stopped",
	}
}

// workerRegistration is the registration of a worker at ip under id.
func (e *Executor) workerRegistration(svc *spec.Service, slot int, id, ip string) Registration {
	d := plan.DesiredRegistration(e.Stack, svc, slot, ip)
	return Registration{
		ID: id, Service: d.Service, Address: ip, Port: d.Port, Meta: d.Meta,
		Check: &Check{
			URL:             "http://" + ip + ":" + strconv.Itoa(svc.Port) + svc.Check.HTTP,
			Interval:        svc.Check.Interval,
			Timeout:         svc.Check.Timeout,
			DeregisterAfter: svc.Check.DeregisterAfter,
		},
	}
}

// runContainer creates and starts a container and returns it inspected.
// A fixed address taken by a container stackctl does not know is retried
// with the next one, this many times.
const addressRetries = 3

func (e *Executor) runContainer(ctx context.Context, cs ContainerSpec) (*plan.Container, error) {
	if cs.IP == "" {
		cs.IP = e.nextAddress(ctx)
	}
	var id string
	for try := 0; ; try++ {
		var err error
		id, err = e.createContainer(ctx, cs)
		if err != nil {
			return nil, fmt.Errorf("create container %s: %w%s", cs.Name, err, conflictHint(err))
		}
		err = e.Docker.StartContainer(ctx, id)
		if err == nil {
			break
		}
		if cs.IP == "" || try == addressRetries || !strings.Contains(err.Error(), "Address already in use") {
			return nil, fmt.Errorf("start container %s: %w", cs.Name, err)
		}
		if err := e.Docker.RemoveContainer(ctx, id); err != nil {
			return nil, fmt.Errorf("remove container %s to retry at another address: %w", cs.Name, err)
		}
		cs.IP = e.nextAddress(ctx)
	}
	c, err := e.Docker.InspectContainer(ctx, id)
	if err != nil || c == nil {
		return nil, fmt.Errorf("inspect container %s: %v", cs.Name, orMissing(err))
	}
	return c, nil
}

// createWorker runs a new worker under its slot name, registers it and
// waits for its check to pass.
func (e *Executor) createWorker(ctx context.Context, svc *spec.Service, slot int, name string) error {
	c, err := e.runContainer(ctx, e.workerSpec(svc, slot, name))
	if err != nil {
		return err
	}
	return e.registerAndWait(ctx, svc, slot, name, c)
}

func (e *Executor) registerAndWait(ctx context.Context, svc *spec.Service, slot int, id string, c *plan.Container) error {
	ip := c.IP(e.Stack.NetworkName())
	if ip == "" {
		return fmt.Errorf("container %s has no address on network %s", c.Name, e.Stack.NetworkName())
	}
	releaseSlot(ctx) // what is left is Consul's work, and waiting
	consul, err := e.awaitConsul(ctx)
	if err != nil {
		return err
	}
	if err := consul.Register(ctx, e.workerRegistration(svc, slot, id, ip)); err != nil {
		return fmt.Errorf("register %s: %w", id, err)
	}
	return e.waitPassing(ctx, id, svc.Update.HealthyDeadline)
}

// startWorker starts a stopped worker and registers it at its address.
func (e *Executor) startWorker(ctx context.Context, svc *spec.Service, slot int, old *plan.Container) error {
	if err := e.Docker.StartContainer(ctx, old.ID); err != nil {
		return fmt.Errorf("start container %s: %w", old.Name, err)
	}
	c, err := e.Docker.InspectContainer(ctx, old.ID)
	if err != nil || c == nil {
		return fmt.Errorf("inspect container %s: %v", old.Name, orMissing(err))
	}
	return e.registerAndWait(ctx, svc, slot, old.Name, c)
}

// replaceStartFirst replaces a worker without its slot ever leaving the LB:
// the new container runs under a temporary name and registration until its
// check passes; only then does the old one leave Consul, the LB drop it,
// and the old container stop (kept, renamed <name>.old-<id>) so the new one
// can take the slot's name and registration.
func (e *Executor) replaceStartFirst(ctx context.Context, svc *spec.Service, slot int, old *plan.Container, oldReg *Registration, tmp string) error {
	name := old.Name
	if want := e.Stack.WorkerName(svc.Name, slot); name != want {
		name = want
	}
	c, err := e.runContainer(ctx, e.workerSpec(svc, slot, tmp))
	if err != nil {
		return err
	}
	if err := e.registerAndWait(ctx, svc, slot, tmp, c); err != nil {
		return err
	}
	if oldReg != nil {
		if err := e.deregister(ctx, oldReg.ID); err != nil {
			return err
		}
	}
	if err := e.retire(ctx, old); err != nil {
		return err
	}
	if err := e.Docker.RenameContainer(ctx, c.ID, name); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, name, err)
	}
	reg := e.workerRegistration(svc, slot, name, c.IP(e.Stack.NetworkName()))
	reg.Passing = true // the same container just passed under tmp
	if err := e.consulClient().Register(ctx, reg); err != nil {
		return fmt.Errorf("register %s: %w", name, err)
	}
	if err := e.consulClient().Deregister(ctx, tmp); err != nil {
		return fmt.Errorf("deregister %s: %w", tmp, err)
	}
	return e.waitPassing(ctx, name, svc.Update.HealthyDeadline)
}

// replaceStopFirst takes the old worker out first, then runs the new one
// under the slot's name.
func (e *Executor) replaceStopFirst(ctx context.Context, svc *spec.Service, slot int, old *plan.Container, oldReg *Registration) error {
	if oldReg != nil {
		if err := e.deregister(ctx, oldReg.ID); err != nil {
			return err
		}
	}
	if err := e.retire(ctx, old); err != nil {
		return err
	}
	return e.createWorker(ctx, svc, slot, e.Stack.WorkerName(svc.Name, slot))
}

// retire stops a container and renames it out of its slot's way; it keeps
// its labels, and is removed once the whole apply has succeeded.
func (e *Executor) retire(ctx context.Context, old *plan.Container) error {
	if err := e.Docker.StopContainer(ctx, old.ID, workerStopTimeout); err != nil {
		return fmt.Errorf("stop %s: %w", old.Name, err)
	}
	kept := keptName(old)
	if old.Name == kept {
		return nil
	}
	if err := e.Docker.RenameContainer(ctx, old.ID, kept); err != nil {
		return fmt.Errorf("rename %s to %s: %w", old.Name, kept, err)
	}
	return nil
}

// keptName is the name an old container is kept under: <name>.old-<id>.
func keptName(c *plan.Container) string {
	short := c.ID
	if len(short) > 12 {
		short = short[:12]
	}
	suffix := plan.SuffixKept + short
	if len(c.Name) > len(suffix) && c.Name[len(c.Name)-len(suffix):] == suffix {
		return c.Name
	}
	return c.Name + suffix
}

// destroyContainerOp takes a container out of service and stops it; it is
// removed once the whole apply has succeeded.
func (e *Executor) destroyContainerOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	old := st.before.Container(step.Target)
	if old == nil {
		return &operation{undo: &Undo{Op: UndoNone}, do: func(context.Context) error { return nil }}, nil
	}
	r := &Restore{
		Role: old.Labels[spec.LabelRole], Service: old.Labels[spec.LabelService], Name: old.Name,
		OldID: old.ID, OldRunning: old.Running(), Discard: true,
	}
	r.Slot, _ = strconv.Atoi(old.Labels[spec.LabelSlot])
	var reg *Registration
	if c := e.consulClient(); c != nil && r.Role == plan.RoleWorker {
		var err error
		if reg, err = c.Registration(ctx, old.Name); err != nil {
			return nil, fmt.Errorf("read registration %s: %w", old.Name, err)
		}
	}
	r.OldReg = reg
	if svc := e.Stack.Service(r.Service); svc != nil {
		r.Deadline = svc.Update.HealthyDeadline.Milliseconds()
	}
	if r.Role == plan.RoleConsul {
		// Consul holds the journal: its container goes after everything else.
		return &operation{undo: &Undo{Op: UndoContainer, Restore: r}, do: func(context.Context) error { return nil }}, nil
	}
	return &operation{undo: &Undo{Op: UndoContainer, Restore: r}, do: func(ctx context.Context) error {
		if reg != nil {
			if err := e.deregister(ctx, reg.ID); err != nil {
				return err
			}
		}
		if err := e.Docker.StopContainer(ctx, old.ID, workerStopTimeout); err != nil {
			return fmt.Errorf("stop %s: %w", old.Name, err)
		}
		return nil
	}}, nil
}
