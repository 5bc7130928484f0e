package apply

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// A stack with hosts (docs/multihost.md) is applied through the same
// Executor as one without: Docker and Consul are routers over the hosts'
// engines and agents, and every step runs with its host in its context
// (withHost). Container calls find a container's host by its ID or name,
// wherever the step runs, so that a step that moves a worker acts on the
// old container's engine and the new one's; network and image calls,
// which name nothing a host can be told by, go to the step's host.

type hostKey struct{}

// withHost is ctx for the steps of one host; "" is the control engine (a
// stack without hosts has only that one).
func withHost(ctx context.Context, host string) context.Context {
	return context.WithValue(ctx, hostKey{}, host)
}

// hostOf is the host ctx carries, "" for none.
func hostOf(ctx context.Context) string {
	h, _ := ctx.Value(hostKey{}).(string)
	return h
}

// Engines are the Docker engines of a stack with hosts.
type Engines struct {
	// Control is the engine stackctl runs beside (DOCKER_HOST): images are
	// built there and copied to the hosts.
	Control Docker
	// Hosts are the hosts' engines, by host name.
	Hosts map[string]Docker
	// CopyImage streams ref from Control to the named host's engine,
	// calling progress with the bytes copied so far as they go.
	CopyImage func(ctx context.Context, ref, host string, progress func(copied int64)) error
}

// HostDocker returns the Docker of a stack with hosts: one router over the
// engines. Containers are looked for on every host.
func HostDocker(en Engines) Docker {
	return &hostDocker{Engines: en, where: map[string]string{}}
}

// hostDocker implements Docker over several engines.
type hostDocker struct {
	Engines
	mu    sync.Mutex
	where map[string]string // container ID or name → host
}

// engine is the engine of host; "" is the control engine.
func (d *hostDocker) engine(host string) (Docker, error) {
	if host == "" {
		return d.Control, nil
	}
	e, ok := d.Hosts[host]
	if !ok {
		return nil, fmt.Errorf("no engine for host %q", host)
	}
	return e, nil
}

func (d *hostDocker) remember(host string, keys ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range keys {
		if k != "" {
			d.where[k] = host
		}
	}
}

// find is the host of the container named or identified by ref. An ID is
// where it was last seen; a name, which two hosts may both have while a
// worker moves, is the step's host's first. Else it is looked for on every
// host, the step's first.
func (d *hostDocker) find(ctx context.Context, ref string) (string, *plan.Container, error) {
	if host := hostOf(ctx); host != "" && !isContainerID(ref) {
		if e, ok := d.Hosts[host]; ok {
			if c, err := e.InspectContainer(ctx, ref); err == nil && c != nil {
				c.Host = host
				d.remember(host, c.ID)
				return host, c, nil
			}
		}
	}
	d.mu.Lock()
	host, ok := d.where[ref]
	d.mu.Unlock()
	if ok {
		return host, nil, nil
	}
	hosts := d.hostNames(hostOf(ctx))
	var errs *multierror.Error
	for _, h := range hosts {
		c, err := d.Hosts[h].InspectContainer(ctx, ref)
		if err != nil {
			errs = multierror.Append(errs, fmt.Errorf("host %s: %w", h, err))
			continue
		}
		if c != nil {
			c.Host = h
			d.remember(h, c.ID, c.Name)
			return h, c, nil
		}
	}
	return "", nil, errs.ErrorOrNil()
}

// hostNames lists the hosts, first the one given, then by name.
func (d *hostDocker) hostNames(first string) []string {
	names := make([]string, 0, len(d.Hosts))
	for h := range d.Hosts {
		if h != first {
			names = append(names, h)
		}
	}
	sort.Strings(names)
	if _, ok := d.Hosts[first]; ok {
		names = append([]string{first}, names...)
	}
	return names
}

// containerEngine is the engine that has the container ref.
func (d *hostDocker) containerEngine(ctx context.Context, ref string) (Docker, error) {
	host, _, err := d.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if host == "" {
		host = hostOf(ctx) // not found anywhere: the call says so itself
	}
	return d.engine(host)
}

// ListContainers lists the stack's containers on every host, in parallel.
func (d *hostDocker) ListContainers(ctx context.Context, stack string) ([]plan.Container, error) {
	var (
		mu   sync.Mutex
		out  []plan.Container
		errs *multierror.Error
		wg   sync.WaitGroup
	)
	for host, e := range d.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := e.ListContainers(ctx, stack)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = multierror.Append(errs, fmt.Errorf("host %s: %w", host, err))
				return
			}
			for _, c := range cs {
				c.Host = host
				out = append(out, c)
			}
		}()
	}
	wg.Wait()
	for _, c := range out {
		d.remember(c.Host, c.ID, c.Name)
	}
	return out, errs.ErrorOrNil()
}

func (d *hostDocker) InspectNetwork(ctx context.Context, name string) (*plan.Network, error) {
	e, err := d.engine(hostOf(ctx))
	if err != nil {
		return nil, err
	}
	return e.InspectNetwork(ctx, name)
}

func (d *hostDocker) InspectImage(ctx context.Context, ref string) (*plan.Image, error) {
	e, err := d.engine(hostOf(ctx))
	if err != nil {
		return nil, err
	}
	return e.InspectImage(ctx, ref)
}

func (d *hostDocker) CreateNetwork(ctx context.Context, name string, labels map[string]string) (string, error) {
	e, err := d.engine(hostOf(ctx))
	if err != nil {
		return "", err
	}
	return e.CreateNetwork(ctx, name, labels)
}

func (d *hostDocker) RemoveNetwork(ctx context.Context, name string) error {
	e, err := d.engine(hostOf(ctx))
	if err != nil {
		return err
	}
	return e.RemoveNetwork(ctx, name)
}

func (d *hostDocker) NetworkAddresses(ctx context.Context, name string) (string, []string, error) {
	e, err := d.engine(hostOf(ctx))
	if err != nil {
		return "", nil, err
	}
	return e.NetworkAddresses(ctx, name)
}

// CreateContainer creates the container on the step's host.
func (d *hostDocker) CreateContainer(ctx context.Context, c ContainerSpec) (string, error) {
	host := hostOf(ctx)
	e, err := d.engine(host)
	if err != nil {
		return "", err
	}
	id, err := e.CreateContainer(ctx, c)
	if err == nil {
		d.remember(host, id, c.Name)
	}
	return id, err
}

func (d *hostDocker) StartContainer(ctx context.Context, id string) error {
	e, err := d.containerEngine(ctx, id)
	if err != nil {
		return err
	}
	return e.StartContainer(ctx, id)
}

func (d *hostDocker) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	e, err := d.containerEngine(ctx, id)
	if err != nil {
		return err
	}
	return e.StopContainer(ctx, id, timeout)
}

func (d *hostDocker) RemoveContainer(ctx context.Context, id string) error {
	e, err := d.containerEngine(ctx, id)
	if err != nil {
		return err
	}
	return e.RemoveContainer(ctx, id)
}

func (d *hostDocker) RenameContainer(ctx context.Context, id, name string) error {
	host, _, err := d.find(ctx, id)
	if err != nil {
		return err
	}
	e, err := d.engine(host)
	if err != nil {
		return err
	}
	if err := e.RenameContainer(ctx, id, name); err != nil {
		return err
	}
	d.remember(host, name)
	return nil
}

// InspectContainer finds the container on whichever host has it.
func (d *hostDocker) InspectContainer(ctx context.Context, idOrName string) (*plan.Container, error) {
	host, found, err := d.find(ctx, idOrName)
	if err != nil || host == "" || found != nil {
		return found, err
	}
	e, err := d.engine(host)
	if err != nil {
		return nil, err
	}
	c, err := e.InspectContainer(ctx, idOrName)
	if err != nil || c == nil {
		return c, err
	}
	c.Host = host
	return c, nil
}

// Images are built and tagged on the control engine, then copied.
func (d *hostDocker) BuildImage(ctx context.Context, b BuildSpec) (string, error) {
	return d.Control.BuildImage(ctx, b)
}

func (d *hostDocker) TagImage(ctx context.Context, id, ref string) error {
	e, err := d.engine(hostOf(ctx))
	if err != nil {
		return err
	}
	return e.TagImage(ctx, id, ref)
}

func (d *hostDocker) UntagImage(ctx context.Context, ref string) error {
	e, err := d.engine(hostOf(ctx))
	if err != nil {
		return err
	}
	return e.UntagImage(ctx, ref)
}

// copyImage streams ref from the control engine to host.
func (d *hostDocker) copyImage(ctx context.Context, ref, host string, progress func(copied int64)) error {
	if d.CopyImage == nil {
		return fmt.Errorf("copy %s to host %s: no way to copy images was given", ref, host)
	}
	return d.CopyImage(ctx, ref, host, progress)
}

// copyNoteEvery is how many bytes of an image copy go by between two
// progress notes.
const copyNoteEvery = 32 << 20

// copyProgress notes an image copy's progress each time another
// copyNoteEvery bytes went by: a copy of a large image to a far host takes
// long enough that a person wants to see it move.
func copyProgress(note func(string), ref, host string) func(copied int64) {
	var noted int64
	return func(copied int64) {
		if copied/copyNoteEvery > noted/copyNoteEvery {
			noted = copied
			note(fmt.Sprintf("copying %s to host %s: %d MB so far", ref, host, copied>>20))
		}
	}
}

// onHostSuffix is " on host NAME" for messages, "" without a host.
func onHostSuffix(host string) string {
	if host == "" {
		return ""
	}
	return " on host " + host
}

// registeredAt reports whether reg points at the worker container c.
func (e *Executor) registeredAt(reg *Registration, svc *spec.Service, c *plan.Container) bool {
	addr, port := e.workerAddress(svc, c)
	return addr != "" && reg.Address == addr && (c.Host == "" || reg.Port == port)
}

// deregisterMoved takes a moved worker's old registration out of its old
// host's agent.
func (e *Executor) deregisterMoved(ctx context.Context, host, id string) error {
	c, err := e.consul.get(ctx)
	if err != nil {
		return err
	}
	hc, ok := c.(*hostConsul)
	if !ok {
		return fmt.Errorf("deregister %s on host %s: Consul is not reached per host", id, host)
	}
	if err := hc.deregisterOn(ctx, host, id); err != nil {
		return fmt.Errorf("deregister %s on host %s: %w", id, host, err)
	}
	return nil
}

// copyImageOp streams an image from the control engine to the step's host;
// its undo tags the host's previous image under the reference again.
func (e *Executor) copyImageOp(ctx context.Context, step plan.Step) (*operation, error) {
	hd, ok := e.Docker.(*hostDocker)
	if !ok || step.Host == "" {
		return nil, unsupported(step)
	}
	prev, err := e.Docker.InspectImage(ctx, step.Target)
	if err != nil {
		return nil, fmt.Errorf("inspect image %s on host %s: %w", step.Target, step.Host, err)
	}
	undo := &Undo{Op: UndoImage, Name: step.Target}
	if prev != nil {
		undo.ImageID = prev.ID
	}
	return &operation{undo: undo, do: func(ctx context.Context) error {
		if err := hd.copyImage(ctx, step.Target, step.Host, copyProgress(e.opts.Progress.Note, step.Target, step.Host)); err != nil {
			return fmt.Errorf("copy image %s to host %s: %w", step.Target, step.Host, err)
		}
		return nil
	}}, nil
}

// slotOnHost is where a worker step puts its new container in a stack with
// hosts: the host port it publishes on and the home it stands in for.
type slotOnHost struct {
	port int
	home string
}

func onHostOf(step plan.Step) slotOnHost { return slotOnHost{port: step.HostPort, home: step.Home} }

// isContainerID reports whether ref is a full container ID, unique over
// every engine, rather than a name.
func isContainerID(ref string) bool {
	if len(ref) != 64 {
		return false
	}
	for _, r := range ref {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
