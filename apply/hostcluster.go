package apply

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// serverRunning reports whether a Consul server of a stack with hosts runs,
// as observed.
func serverRunning(s *spec.Stack, observed *plan.State) bool {
	for _, host := range s.Consul.Servers {
		if c := observed.Container(s.ConsulAgentName(host)); c != nil && c.Running() {
			return true
		}
	}
	return false
}

// agentAddress is the HTTP address of the Consul agent on host h.
func agentAddress(h *spec.Host) string {
	return net.JoinHostPort(h.Address, strconv.Itoa(consulHTTPPort))
}

// serverAddress is the HTTP address of the first Consul server whose
// container runs: the cluster is reached through it.
func (e *Executor) serverAddress(ctx context.Context) (string, error) {
	for _, host := range e.Stack.Consul.Servers {
		h := e.Stack.Host(host)
		if h == nil {
			continue
		}
		c, err := e.Docker.InspectContainer(withHost(ctx, host), e.Stack.ConsulAgentName(host))
		if err == nil && c != nil && c.Running() {
			return agentAddress(h), nil
		}
	}
	return "", fmt.Errorf("no Consul server of stack %s runs (servers on %v)", e.Stack.Name, e.Stack.Consul.Servers)
}

// clusterConsul wraps the client of one server's agent into the stack's
// Consul: the cluster for the catalog, KV and sessions, each host's own
// agent for its registrations.
func (e *Executor) clusterConsul(ctx context.Context, c Consul) (Consul, error) {
	addrs := make(map[string]string, len(e.Stack.Hosts))
	for _, h := range e.Stack.Hosts {
		addrs[h.Name] = agentAddress(h)
	}
	e.regMu.Lock()
	where := e.regHosts
	e.regMu.Unlock()
	return newHostConsul(c, e.Dial, addrs, where), nil
}

// seeRegistrations remembers which host's agent holds each registration,
// as observed, for the agent calls of a stack with hosts.
func (e *Executor) seeRegistrations(observed *plan.State) {
	if observed == nil || !e.Stack.MultiHost() {
		return
	}
	where := map[string]string{}
	for _, r := range observed.Consul.Registrations {
		if r.Host != "" {
			where[r.ID] = r.Host
		}
	}
	e.regMu.Lock()
	e.regHosts = where
	e.regMu.Unlock()
}
