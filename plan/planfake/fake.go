// Package planfake is an in-memory Docker engine and Consul agent behind
// plan's reader interfaces, for tests of plan and, later, apply. A World
// holds both; Simulate plays a plan against it the way apply would.
package planfake

import (
	"context"
	"errors"
	"maps"
	"sort"
	"sync"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// ErrUnreachable is what a fake returns for every call once Down is set.
var ErrUnreachable = errors.New("connection refused")

// Docker is a fake Docker engine. It is safe for concurrent use.
type Docker struct {
	mu         sync.Mutex
	containers map[string]plan.Container // by name
	networks   map[string]plan.Network   // by name
	images     map[string]plan.Image     // by ref
	down       bool
	calls      int
}

// NewDocker returns an engine with nothing in it.
func NewDocker() *Docker {
	return &Docker{containers: map[string]plan.Container{}, networks: map[string]plan.Network{}, images: map[string]plan.Image{}}
}

var _ plan.DockerReader = (*Docker)(nil)

// SetDown makes every later call fail with ErrUnreachable (or succeed again).
func (d *Docker) SetDown(down bool) { d.mu.Lock(); d.down = down; d.mu.Unlock() }

// Calls is how many read calls were made.
func (d *Docker) Calls() int { d.mu.Lock(); defer d.mu.Unlock(); return d.calls }

// PutContainer adds or replaces a container, by name.
func (d *Docker) PutContainer(c plan.Container) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.containers[c.Name] = clone(c)
}

// UpdateContainer changes a container in place; it reports false if there is
// no container of that name.
func (d *Docker) UpdateContainer(name string, change func(*plan.Container)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.containers[name]
	if ok {
		change(&c)
		d.containers[c.Name] = c
	}
	return ok
}

// RemoveContainer deletes a container, like `docker rm -f`.
func (d *Docker) RemoveContainer(name string) { d.mu.Lock(); delete(d.containers, name); d.mu.Unlock() }

// removeID deletes the container with the ID, whatever its name.
func (d *Docker) removeID(id string) {
	if id == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, c := range d.containers {
		if c.ID == id {
			delete(d.containers, name)
		}
	}
}

// Container returns a container by name.
func (d *Docker) Container(name string) (plan.Container, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.containers[name]
	return clone(c), ok
}

// PutNetwork adds or replaces a network, by name.
func (d *Docker) PutNetwork(n plan.Network) { d.mu.Lock(); d.networks[n.Name] = n; d.mu.Unlock() }

// PutImage adds or retags an image under ref.
func (d *Docker) PutImage(img plan.Image) { d.mu.Lock(); d.images[img.Ref] = img; d.mu.Unlock() }

// ListContainers implements plan.DockerReader.
func (d *Docker) ListContainers(_ context.Context, stack string) ([]plan.Container, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call(); err != nil {
		return nil, err
	}
	var out []plan.Container
	for _, c := range d.containers {
		if c.Labels[spec.LabelStack] == stack {
			out = append(out, clone(c))
		}
	}
	return out, nil
}

// InspectNetwork implements plan.DockerReader.
func (d *Docker) InspectNetwork(_ context.Context, name string) (*plan.Network, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call(); err != nil {
		return nil, err
	}
	n, ok := d.networks[name]
	if !ok {
		return nil, nil
	}
	n.Labels = maps.Clone(n.Labels)
	return &n, nil
}

// InspectImage implements plan.DockerReader.
func (d *Docker) InspectImage(_ context.Context, ref string) (*plan.Image, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.call(); err != nil {
		return nil, err
	}
	img, ok := d.images[ref]
	if !ok {
		return nil, nil
	}
	img.Labels = maps.Clone(img.Labels)
	return &img, nil
}

func (d *Docker) call() error {
	d.calls++
	if d.down {
		return ErrUnreachable
	}
	return nil
}

func clone(c plan.Container) plan.Container {
	c.Labels = maps.Clone(c.Labels)
	c.Networks = maps.Clone(c.Networks)
	c.Ports = append([]plan.PublishedPort(nil), c.Ports...)
	return c
}

// Consul is a fake Consul agent. It is safe for concurrent use.
type Consul struct {
	mu      sync.Mutex
	regs    map[string]plan.Registration // by ID
	kv      map[string][]byte
	leader  string
	peers   []string
	down    bool
	dialled []string
}

// FakeLeader is the Raft leader and only peer of a new fake agent.
const FakeLeader = "172.20.0.2:8300"

// NewConsul returns an agent with nothing registered, its own leader.
func NewConsul() *Consul {
	return &Consul{regs: map[string]plan.Registration{}, kv: map[string][]byte{},
		leader: FakeLeader, peers: []string{FakeLeader}}
}

// SetLeader sets the Raft leader ("" for none) and peers the agent reports.
func (c *Consul) SetLeader(leader string, peers ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leader, c.peers = leader, peers
}

var (
	_ plan.ConsulReader  = (*Consul)(nil)
	_ plan.CatalogReader = (*Consul)(nil)
)

// Dial is a plan.ConsulDialer that answers with this agent whatever the
// address; Dialled records the addresses asked for.
func (c *Consul) Dial(addr string) (plan.ConsulReader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dialled = append(c.dialled, addr)
	return c, nil
}

// Dialled returns the addresses Dial was called with, sorted.
func (c *Consul) Dialled() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]string(nil), c.dialled...)
	sort.Strings(out)
	return out
}

// SetDown makes every later call fail with ErrUnreachable (or succeed again).
func (c *Consul) SetDown(down bool) { c.mu.Lock(); c.down = down; c.mu.Unlock() }

// Register adds or replaces a registration, by ID.
func (c *Consul) Register(r plan.Registration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Meta = maps.Clone(r.Meta)
	c.regs[r.ID] = r
}

// SetStatus sets a registration's aggregated check status and output.
func (c *Consul) SetStatus(id, status, output string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.regs[id]; ok {
		r.Status, r.Output = status, output
		c.regs[id] = r
	}
}

// Deregister removes a registration.
func (c *Consul) Deregister(id string) { c.mu.Lock(); delete(c.regs, id); c.mu.Unlock() }

// Put sets a KV key; Delete removes one.
func (c *Consul) Put(key string, value []byte) { c.mu.Lock(); c.kv[key] = value; c.mu.Unlock() }

// Delete removes a KV key.
func (c *Consul) Delete(key string) { c.mu.Lock(); delete(c.kv, key); c.mu.Unlock() }

// Registrations implements plan.ConsulReader.
func (c *Consul) Registrations(_ context.Context, stack string) ([]plan.Registration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, ErrUnreachable
	}
	var out []plan.Registration
	for _, r := range c.regs {
		if r.Meta[plan.MetaStack] == stack {
			r.Meta = maps.Clone(r.Meta)
			out = append(out, r)
		}
	}
	return out, nil
}

// CatalogRegistrations implements plan.CatalogReader: the fake is the
// whole datacenter, each registration on the node its Host names.
func (c *Consul) CatalogRegistrations(ctx context.Context, stack string) ([]plan.Registration, error) {
	return c.Registrations(ctx, stack)
}

// KVGet implements plan.ConsulReader.
func (c *Consul) KVGet(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, false, ErrUnreachable
	}
	v, ok := c.kv[key]
	return append([]byte(nil), v...), ok, nil
}

// Leader implements plan.ConsulReader.
func (c *Consul) Leader(context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return "", ErrUnreachable
	}
	return c.leader, nil
}

// Peers implements plan.ConsulReader.
func (c *Consul) Peers(context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, ErrUnreachable
	}
	return append([]string(nil), c.peers...), nil
}
