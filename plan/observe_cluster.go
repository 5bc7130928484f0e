package plan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/stackctl/stackctl/spec"
)

// CatalogReader is what a stack with hosts reads of Consul beyond
// ConsulReader. Its registrations come from the catalog, every node's, not
// from the one agent asked: the instances of a host that is down are then
// still seen, on their node (Registration.Host), and their checks include
// the node's own health, which is what takes them out of the LB.
type CatalogReader interface {
	// CatalogRegistrations returns the datacenter's service instances
	// registered with meta stackctl_stack=<stack>, each with its node as
	// Host and the worst of its checks, the node's included.
	CatalogRegistrations(ctx context.Context, stack string) ([]Registration, error)
}

// ErrNoCatalog: the Consul client handed to a stack with hosts reads only
// its agent, which would hide every other host's instances.
var ErrNoCatalog = errors.New("this Consul client does not read the catalog (plan.CatalogReader), which a stack with hosts needs")

func catalogRegistrations(ctx context.Context, c ConsulReader, stack string) ([]Registration, error) {
	catalog, ok := c.(CatalogReader)
	if !ok {
		return nil, ErrNoCatalog
	}
	return catalog.CatalogRegistrations(ctx, stack)
}

// consulCandidate is a Consul agent a stack with hosts may be read from.
type consulCandidate struct {
	at Endpoint
	// expected: the agent should answer, its container being seen running
	// (or it is an external agent); false when its host's engine did not
	// answer either, so nobody knows.
	expected  bool
	container string     // the agent's container, when seen running
	host      *spec.Host // nil for CONSUL_HTTP_ADDR or an external agent
}

// readCluster reads Consul for a stack with hosts from the first candidate
// that answers, each attempt within the host timeout. Failing agents are
// an error only if one of them should have answered: with every server on
// a host that is down, Consul is simply not reached, and the hosts' errors
// say why.
func (o *Observer) readCluster(ctx context.Context, desired *spec.Stack, state *State) (ConsulState, error) {
	var failed []error
	for _, c := range clusterCandidates(desired, o.ConsulAddr, state) {
		attempt, cancel := context.WithTimeout(ctx, o.hostTimeout())
		res := o.readConsul(attempt, desired, c.at, catalogRegistrations)
		cancel()
		if res.err == nil {
			return res.state, nil
		}
		if err := ctx.Err(); err != nil {
			return ConsulState{}, err
		}
		if c.expected {
			addAgentHint(res.err, c)
			failed = append(failed, res.err)
		}
	}
	return ConsulState{}, errors.Join(failed...)
}

// clusterCandidates lists where Consul may be read, in the order to try:
// CONSUL_HTTP_ADDR or an external agent alone; else the servers whose agent
// container runs, in consul.servers order, then those on hosts whose engine
// did not answer. None when no agent of a managed Consul can be up (a first
// apply): Consul is then not contacted, as on a single engine.
func clusterCandidates(desired *spec.Stack, override string, state *State) []consulCandidate {
	var running, unknown []consulCandidate
	for _, name := range desired.Consul.Servers {
		h, seen := desired.Host(name), state.Hosts[name]
		if h == nil || seen == nil {
			continue
		}
		c := consulCandidate{host: h, at: Endpoint{
			Address: net.JoinHostPort(h.Address, strconv.Itoa(ConsulHTTPPort)),
			Via:     "the Consul server on host " + name + "; set CONSUL_HTTP_ADDR to override",
		}}
		if !seen.Reached() {
			unknown = append(unknown, c)
		} else if agent := runningAgent(state, name); agent != "" {
			c.container, c.expected = agent, true
			running = append(running, c)
		}
	}
	if override == "" && desired.Consul.Managed() {
		return append(running, unknown...)
	}
	at, _ := ConsulEndpoint(desired, override, nil) // either way an address, never an error
	expected := !desired.Consul.Managed() || len(running) > 0
	if !expected && len(unknown) == 0 {
		return nil
	}
	return []consulCandidate{{at: at, expected: expected}}
}

// runningAgent is the name of the stack's running Consul container on the
// host, or "".
func runningAgent(state *State, host string) string {
	for _, c := range state.Containers {
		if c.Host == host && c.Role() == RoleConsul && c.Running() {
			return c.Name
		}
	}
	return ""
}

// addAgentHint says where to look when an agent whose container runs does
// not answer.
func addAgentHint(err error, c consulCandidate) {
	var ee *EndpointError
	if c.container == "" || c.host == nil || !errors.As(err, &ee) {
		return
	}
	ee.Hint = fmt.Sprintf("The container %s on host %s is running but Consul does not answer: see `DOCKER_HOST=%s docker logs %s`.",
		c.container, c.host.Name, c.host.Docker, c.container)
}
