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
	r := &Restore{
		Role: plan.RoleWorker, Service: svc.Name, Slot: step.Slot, Name: step.Target,
		Deadline: svc.Update.HealthyDeadline.Milliseconds(),
	}
	undo := &Undo{Op: UndoContainer, Restore: r}
	var old *plan.Container
	switch step.Action {
	case plan.ActionCreate:
		return &operation{undo: undo, do: func(ctx context.Context) error {
			return e.createWorker(ctx, svc, step.Slot, step.Target, onHostOf(step))
		}}, nil
	case plan.ActionStart:
		old = st.before.ContainerOn(step.Target, step.Host)
	case plan.ActionReplace:
		old = st.before.ContainerByID(step.Replaces)
	default:
		return nil, unsupported(step)
	}
	if old == nil {
		return nil, fmt.Errorf("%s %s: its container %s is not in the state the plan was made from", step.Action, step.Target, plan.ShortID(step.Replaces))
	}
	c, err := e.consul.get(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := c.Registration(withHost(ctx, old.Host), step.Target)
	if err != nil {
		return nil, fmt.Errorf("read registration %s: %w", step.Target, err)
	}
	r.OldID, r.OldRunning, r.OldReg = old.ID, old.Running(), reg
	if step.Action == plan.ActionStart {
		return &operation{undo: undo, do: func(ctx context.Context) error {
			return e.startWorker(ctx, svc, step.Slot, old)
		}}, nil
	}
	r.Discard = true
	if svc.Update.Order == spec.OrderStopFirst {
		return &operation{undo: undo, do: func(ctx context.Context) error {
			return e.replaceStopFirst(ctx, svc, step.Slot, onHostOf(step), old, reg)
		}}, nil
	}
	return &operation{undo: undo, do: func(ctx context.Context) error {
		return e.replaceStartFirst(ctx, st, svc, step.Slot, onHostOf(step), step.Target, old, reg)
	}}, nil
}

// workerSpec is the container of a worker slot. In a stack with hosts it
// publishes its port on its host's address at the plan's host port, and
// says which host and port (and home, when it stands in for a host left
// out) in its labels.
func (e *Executor) workerSpec(ctx context.Context, svc *spec.Service, slot int, name string, at slotOnHost) ContainerSpec {
	env := make([]string, 0, len(svc.Env))
	for _, v := range svc.Env {
		env = append(env, v.Name+"="+v.Value)
	}
	cs := ContainerSpec{
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
	if h := e.Stack.Host(hostOf(ctx)); h != nil {
		cs.Labels[plan.LabelHost] = h.Name
		cs.Labels[plan.LabelHostPort] = strconv.Itoa(at.port)
		cs.Ports = []spec.PortMapping{{HostIP: h.Address, HostPort: at.port, ContainerPort: svc.Port, Protocol: "tcp"}}
		if at.home != "" {
			cs.Labels[plan.LabelHome] = at.home
		}
	}
	return cs
}

// workerAddress is where the worker container c is reached and registered:
// its address on the stack network at the service's port or, in a stack
// with hosts, its host's address at the host port it publishes.
func (e *Executor) workerAddress(svc *spec.Service, c *plan.Container) (string, int) {
	if h := e.Stack.Host(c.Host); h != nil {
		return h.Address, plan.WorkerHostPort(c)
	}
	return c.IP(e.Stack.NetworkName()), svc.Port
}

// workerRegistration is the registration of the worker container c under id.
func (e *Executor) workerRegistration(svc *spec.Service, slot int, id string, c *plan.Container) Registration {
	addr, port := e.workerAddress(svc, c)
	d := plan.DesiredRegistration(e.Stack, svc, slot, addr)
	return Registration{
		ID: id, Service: d.Service, Address: addr, Port: port, Meta: d.Meta, Host: c.Host,
		Check: &Check{
			URL:             "http://" + addr + ":" + strconv.Itoa(port) + svc.Check.HTTP,
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
	ctx, err := dockerCall(ctx)
	if err != nil {
		return nil, err
	}
	if cs.IP == "" && !cs.HostNetwork {
		cs.IP = e.addrs.next(ctx, e.Docker, e.Stack.NetworkName())
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
		cs.IP = e.addrs.next(ctx, e.Docker, e.Stack.NetworkName())
	}
	c, err := e.Docker.InspectContainer(ctx, id)
	if err != nil || c == nil {
		return nil, fmt.Errorf("inspect container %s: %v", cs.Name, orMissing(err))
	}
	return c, nil
}

// createWorker runs a new worker under its slot name and admits it.
func (e *Executor) createWorker(ctx context.Context, svc *spec.Service, slot int, name string, at slotOnHost) error {
	c, err := e.runContainer(ctx, e.workerSpec(ctx, svc, slot, name, at))
	if err != nil {
		return err
	}
	_, err = e.admit(ctx, svc, slot, name, c)
	return err
}

// startWorker starts a stopped worker and admits it at its address.
func (e *Executor) startWorker(ctx context.Context, svc *spec.Service, slot int, old *plan.Container) error {
	dctx, err := dockerCall(ctx)
	if err != nil {
		return err
	}
	if err := e.Docker.StartContainer(dctx, old.ID); err != nil {
		return fmt.Errorf("start container %s: %w", old.Name, err)
	}
	c, err := e.Docker.InspectContainer(ctx, old.ID)
	if err != nil || c == nil {
		return fmt.Errorf("inspect container %s: %v", old.Name, orMissing(err))
	}
	_, err = e.admit(ctx, svc, slot, old.Name, c)
	return err
}

// replaceStartFirst replaces a worker without its slot ever leaving the LB
// and with one change of membership each way. The old container steps
// aside under its kept name and goes on serving under the slot's
// registration; the new one runs under the slot's name, and once it
// passes, one registration of the slot's ID at its address takes the old
// one out of the LB and puts it in, at once. The step ends there: the
// next batch may start, while the old container, out of Consul, waits
// until the LB no longer routes to it, drains and stops in the background
// (kept until the apply has succeeded).
func (e *Executor) replaceStartFirst(ctx context.Context, st *runState, svc *spec.Service, slot int, at slotOnHost, name string, old *plan.Container, oldReg *Registration) error {
	if err := e.setAside(ctx, old); err != nil {
		return err
	}
	c, err := e.runContainer(ctx, e.workerSpec(ctx, svc, slot, name, at))
	if err != nil {
		return err
	}
	since, err := e.admit(ctx, svc, slot, name, c)
	if err != nil {
		return err
	}
	if oldReg != nil && old.Host != c.Host {
		// The slot's ID now lives on the new host's agent too: the old
		// host's registration leaves by its own change (the one removal
		// of the slot's move).
		if err := e.deregisterMoved(ctx, old.Host, oldReg.ID); err != nil {
			return err
		}
	}
	if !old.Running() {
		return nil
	}
	served := oldReg != nil && e.registeredAt(oldReg, svc, old)
	st.leaving.add(func(ctx context.Context) {
		if served {
			e.waitLBMembership(ctx, since)
		}
	}, func(ctx context.Context) error {
		if err := e.Docker.StopContainer(ctx, old.ID, workerStopTimeout); err != nil {
			return fmt.Errorf("stop %s: %w", keptName(old), err)
		}
		return nil
	})
	return nil
}

// setAside renames a container to its kept name, out of its slot's way;
// a running one goes on running.
func (e *Executor) setAside(ctx context.Context, old *plan.Container) error {
	kept := keptName(old)
	if old.Name == kept {
		return nil
	}
	ctx, err := dockerCall(ctx)
	if err != nil {
		return err
	}
	if err := e.Docker.RenameContainer(ctx, old.ID, kept); err != nil {
		return fmt.Errorf("rename %s to %s: %w", old.Name, kept, err)
	}
	return nil
}

// replaceStopFirst takes the old worker out first, then runs the new one
// under the slot's name.
func (e *Executor) replaceStopFirst(ctx context.Context, svc *spec.Service, slot int, at slotOnHost, old *plan.Container, oldReg *Registration) error {
	if oldReg != nil {
		if err := e.deregister(withHost(ctx, old.Host), oldReg.ID); err != nil {
			return err
		}
	}
	if err := e.retire(ctx, old); err != nil {
		return err
	}
	return e.createWorker(ctx, svc, slot, e.Stack.WorkerName(svc.Name, slot), at)
}

// retire stops a container and renames it out of its slot's way; it keeps
// its labels, and is removed once the whole apply has succeeded.
func (e *Executor) retire(ctx context.Context, old *plan.Container) error {
	ctx, err := dockerCall(ctx)
	if err != nil {
		return err
	}
	if err := e.Docker.StopContainer(ctx, old.ID, workerStopTimeout); err != nil {
		return fmt.Errorf("stop %s: %w", old.Name, err)
	}
	return e.setAside(ctx, old)
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
	old := st.before.ContainerOn(step.Target, step.Host)
	if old == nil {
		return &operation{undo: &Undo{Op: UndoNone}, do: func(context.Context) error { return nil }}, nil
	}
	r := &Restore{
		Role: old.Labels[spec.LabelRole], Service: old.Labels[spec.LabelService], Name: old.Name,
		OldID: old.ID, OldRunning: old.Running(), Discard: true,
	}
	r.Slot, _ = strconv.Atoi(old.Labels[spec.LabelSlot])
	var reg *Registration
	if c := e.consul.current(); c != nil && r.Role == plan.RoleWorker {
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
		dctx, err := dockerCall(ctx)
		if err != nil {
			return err
		}
		if err := e.Docker.StopContainer(dctx, old.ID, workerStopTimeout); err != nil {
			return fmt.Errorf("stop %s: %w", old.Name, err)
		}
		return nil
	}}, nil
}

// dockerCall is the context a change to Docker runs with: a step that is
// cancelled (another failed, Ctrl-C) starts no new change, but one under
// way completes. Docker may finish a request whose caller gave up on it,
// and a container created after the rollback looked for the apply's
// containers would be left behind, holding its slot's name.
func dockerCall(ctx context.Context) (context.Context, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return context.WithoutCancel(ctx), nil
}
