package apply

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// consulHTTPPort is the managed Consul server's API port in its container.
const consulHTTPPort = 8500

// Prepare gets an apply ready to plan: it connects to the stack's Consul if
// it runs, takes the lock (if asked), waits for the last Docker requests of
// an apply that was killed to land (settleAfterCrash), and deals with an
// apply that did not finish: one that was paused is forgotten (its partial
// state is what the new plan starts from), any other is rolled back. The
// returned report is non-nil when the live state moved (something was
// rolled back, or Recovered is RecoveredSettled); the caller observes
// again then.
func (e *Executor) Prepare(ctx context.Context, observed *plan.State) (*Report, error) {
	if err := e.connectIfUp(ctx, observed); err != nil {
		return nil, err
	}
	waited, err := e.settleAfterCrash(ctx, observed)
	if err != nil {
		return nil, err
	}
	var r *Report
	if c := e.consul.current(); c != nil {
		if r, err = e.recover(ctx, c); err != nil {
			return nil, err
		}
	}
	if r == nil && waited {
		r = &Report{Stack: e.Stack.Name, Recovered: RecoveredSettled}
	}
	return r, nil
}

// connectIfUp connects to Consul when it should answer: an external agent
// always, the managed server while its container runs.
func (e *Executor) connectIfUp(ctx context.Context, observed *plan.State) error {
	if e.consul.current() != nil {
		return nil
	}
	e.seeRegistrations(observed)
	if e.Stack.MultiHost() && e.Stack.Consul.Managed() && e.ConsulAddr == "" {
		if !serverRunning(e.Stack, observed) {
			return nil
		}
		return e.connect(ctx)
	}
	if e.Stack.Consul.Managed() && e.ConsulAddr == "" {
		c := observed.Container(e.Stack.ConsulContainerName())
		if c == nil || !c.Running() {
			return nil
		}
	}
	return e.connect(ctx)
}

// connect dials Consul, waits for a leader, and takes the lock.
func (e *Executor) connect(ctx context.Context) error {
	addr, err := e.consulAddress(ctx)
	if err != nil {
		return err
	}
	c, err := e.Dial(addr)
	if err != nil {
		return fmt.Errorf("Consul at %s: %w", addr, err)
	}
	if err := waitLeader(ctx, c, addr, e.opts.ConsulReady); err != nil {
		return err
	}
	if e.Stack.MultiHost() && e.Stack.Consul.Managed() {
		if err := e.setupCluster(ctx, c); err != nil {
			return err
		}
	}
	if e.Stack.MultiHost() {
		if c, err = e.clusterConsul(ctx, c); err != nil {
			return err
		}
	}
	e.consul.set(c)
	if e.opts.Lock {
		return e.lock.takeWhenReady(ctx, c, e.opts.ConsulReady)
	}
	return nil
}

// connectInBackground connects to the Consul whose container a step just
// started, while the steps after it go on; steps that need Consul wait for
// it (consulConn.get). The journal, kept in memory until then, is written
// once Consul answers.
func (e *Executor) connectInBackground(ctx context.Context) {
	e.consul.start(context.WithoutCancel(ctx), func(ctx context.Context) error {
		if err := e.connect(ctx); err != nil {
			return err
		}
		return e.journal.flush(ctx, e.consul.current())
	})
}

// consulAddress is where the stack's Consul answers: CONSUL_HTTP_ADDR, the
// stack's consul.address, or the host port its managed container publishes.
func (e *Executor) consulAddress(ctx context.Context) (string, error) {
	if e.ConsulAddr != "" {
		return e.ConsulAddr, nil
	}
	if !e.Stack.Consul.Managed() {
		return e.Stack.Consul.Address, nil
	}
	if e.Stack.MultiHost() {
		return e.serverAddress(ctx)
	}
	name := e.Stack.ConsulContainerName()
	c, err := e.Docker.InspectContainer(ctx, name)
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", name, err)
	}
	if c == nil {
		return "", fmt.Errorf("the Consul container %s does not exist", name)
	}
	for _, p := range c.Ports {
		if p.ContainerPort == consulHTTPPort && p.Protocol != "udp" && p.HostPort > 0 {
			ip := p.HostIP
			switch ip {
			case "", "0.0.0.0", "::":
				ip = "127.0.0.1"
			}
			return net.JoinHostPort(ip, strconv.Itoa(p.HostPort)), nil
		}
	}
	return "", plan.ErrConsulNotPublished
}

// waitLeader polls until Consul has a leader, when it accepts writes.
func waitLeader(ctx context.Context, c Consul, addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		leader, err := c.Leader(ctx)
		if err == nil && leader != "" {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = fmt.Errorf("no leader elected")
			}
			return fmt.Errorf("Consul at %s not ready within %s: %w", addr, limit, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
