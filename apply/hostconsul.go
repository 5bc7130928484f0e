package apply

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// hostConsul is the Consul of a stack with hosts: the cluster, reached at
// one server's agent, for everything but the agent-local calls, which go to
// the agent of the host the registration lives on (docs/multihost.md: each
// worker is registered with, and checked by, its own host's agent).
type hostConsul struct {
	Consul // the cluster: catalog, KV, sessions
	dial   ConsulDialer
	addrs  map[string]string // host → its agent's HTTP address

	// joinWait bounds the wait for an agent to join the cluster.
	joinWait time.Duration

	mu     sync.Mutex
	agents map[string]*agentConn
	where  map[string]string // registration ID → host
}

func newHostConsul(cluster Consul, dial ConsulDialer, addrs map[string]string, where map[string]string, joinWait time.Duration) *hostConsul {
	w := make(map[string]string, len(where))
	for id, h := range where {
		w[id] = h
	}
	return &hostConsul{Consul: cluster, dial: dial, addrs: addrs, agents: map[string]*agentConn{}, where: w, joinWait: joinWait}
}

// agent is the named host's agent, dialed once, and once it has joined the
// cluster: a client agent that has not found the servers yet cannot
// resolve the caller's token, and refuses every registration ("token
// primary-dc-down lacks permission"). It knows the leader once it has.
// Hosts are dialed and waited for independently; a failure is not kept,
// so a later call (a rollback's, after a step's context was cancelled)
// tries again.
func (c *hostConsul) agent(ctx context.Context, host string) (Consul, error) {
	c.mu.Lock()
	e, ok := c.agents[host]
	if !ok {
		e = &agentConn{}
		c.agents[host] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client != nil {
		return e.client, nil
	}
	client, err := c.join(ctx, host)
	if err != nil {
		return nil, err
	}
	e.client = client
	return client, nil
}

// agentConn is one host's agent, once it has joined.
type agentConn struct {
	mu     sync.Mutex
	client Consul
}

func (c *hostConsul) join(ctx context.Context, host string) (Consul, error) {
	addr, ok := c.addrs[host]
	if !ok {
		return nil, fmt.Errorf("no Consul agent for host %q", host)
	}
	a, err := c.dial(addr)
	if err != nil {
		return nil, fmt.Errorf("Consul agent of host %s at %s: %w", host, addr, err)
	}
	if err := waitLeader(ctx, a, addr, c.joinWait); err != nil {
		return nil, fmt.Errorf("the Consul agent of host %s has not joined the cluster: %w", host, err)
	}
	return a, nil
}

// agentOf is the agent that holds registration id: the host's the call is
// made for (an ID may live on two hosts' agents while its worker moves),
// else the one it was last registered with or seen on.
func (c *hostConsul) agentOf(ctx context.Context, id string) (Consul, error) {
	return c.agent(ctx, c.hostFor(ctx, id))
}

func (c *hostConsul) hostFor(ctx context.Context, id string) string {
	if host := hostOf(ctx); host != "" {
		return host
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.where[id]
}

func (c *hostConsul) Register(ctx context.Context, r Registration) error {
	host := r.Host
	if host == "" {
		host = hostOf(ctx)
	}
	a, err := c.agent(ctx, host)
	if err != nil {
		return err
	}
	if err := a.Register(ctx, r); err != nil {
		return err
	}
	c.mu.Lock()
	c.where[r.ID] = host
	c.mu.Unlock()
	return nil
}

func (c *hostConsul) Deregister(ctx context.Context, id string) error {
	a, err := c.agentOf(ctx, id)
	if err != nil {
		return err
	}
	return a.Deregister(ctx, id)
}

// deregisterOn takes id out of the named host's agent: for a worker that
// moved, whose old registration keeps its ID on the old host's agent.
func (c *hostConsul) deregisterOn(ctx context.Context, host, id string) error {
	a, err := c.agent(ctx, host)
	if err != nil {
		return err
	}
	return a.Deregister(ctx, id)
}

func (c *hostConsul) Registration(ctx context.Context, id string) (*Registration, error) {
	a, err := c.agentOf(ctx, id)
	if err != nil {
		return nil, err
	}
	r, err := a.Registration(ctx, id)
	if r != nil && r.Host == "" {
		r.Host = c.hostFor(ctx, id)
	}
	return r, err
}

func (c *hostConsul) LocalStatus(ctx context.Context, id string) (string, error) {
	a, err := c.agentOf(ctx, id)
	if err != nil {
		return "", err
	}
	return a.LocalStatus(ctx, id)
}

func (c *hostConsul) SyncNow(ctx context.Context, id string) error {
	a, err := c.agentOf(ctx, id)
	if err != nil {
		return err
	}
	return a.SyncNow(ctx, id)
}
