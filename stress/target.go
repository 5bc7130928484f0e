package stress

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// Target is an address of the stack's own LB that load may go to.
type Target struct {
	Addr string `json:"address"` // HOST:PORT
	// Via says how it was found: "port 80 published by primes-lb" or
	// "primes-lb's address on network primes".
	Via string `json:"via"`
}

// LBTargets lists the addresses of the stack's own LB, read from the live
// LB container: each TCP port it publishes, reached on loopback for a
// wildcard bind, then its own address on the stack network (which the
// Docker host reaches directly on Linux). These are the only addresses
// stress sends load to.
func LBTargets(stack *spec.Stack, state *plan.State) ([]Target, error) {
	if stack.LB == nil {
		return nil, fmt.Errorf("stack %s has no lb: section, so there is nothing of its own to put load on", stack.Name)
	}
	name := stack.LBContainerName()
	c := state.Container(name)
	if c == nil || !c.Running() {
		return nil, fmt.Errorf("the stack's LB container %s is %s: run stackctl apply first", name, plan.StateOf(c))
	}
	var out []Target
	for _, p := range c.Ports {
		if p.Protocol != "" && p.Protocol != "tcp" || p.HostPort == 0 || strings.Contains(p.HostIP, ":") && p.HostIP != "::" {
			continue
		}
		out = append(out, Target{
			Addr: plan.HostAddress(p.HostIP, p.HostPort),
			Via:  fmt.Sprintf("port %d published by %s", p.ContainerPort, name),
		})
	}
	if ip := c.IP(stack.NetworkName()); ip != "" {
		port := 80
		if len(stack.LB.Ports) > 0 {
			port = stack.LB.Ports[0].ContainerPort
		}
		out = append(out, Target{
			Addr: net.JoinHostPort(ip, strconv.Itoa(port)),
			Via:  fmt.Sprintf("%s's address on network %s", name, stack.NetworkName()),
		})
	}
	out = slices.CompactFunc(out, func(a, b Target) bool { return a.Addr == b.Addr })
	if len(out) == 0 {
		return nil, fmt.Errorf("the stack's LB container %s publishes no TCP port and has no address on network %s", name, stack.NetworkName())
	}
	return out, nil
}

// PickTarget chooses where load goes: the first of the LB's addresses, or
// want when it is one of them. Anything else is refused: stress never puts
// load on an address that is not the stack's own LB.
func PickTarget(lb []Target, want string) (Target, error) {
	if len(lb) == 0 {
		return Target{}, fmt.Errorf("the stack's LB has no address to send load to")
	}
	if want == "" {
		return lb[0], nil
	}
	norm := want
	if host, port, err := net.SplitHostPort(want); err == nil {
		if host == "localhost" {
			host = "127.0.0.1"
		}
		norm = net.JoinHostPort(host, port)
	}
	for _, t := range lb {
		if t.Addr == norm {
			return t, nil
		}
	}
	addrs := make([]string, len(lb))
	for i, t := range lb {
		addrs[i] = t.Addr
	}
	return Target{}, fmt.Errorf("refusing --target %s: it is not the stack's own LB; stress sends load only to %s", want, strings.Join(addrs, " or "))
}

// guardDial wraps a dial function so that it connects only to addr, the
// chosen target: a redirect or a proxy setting can never turn the load
// onto another address.
func guardDial(addr string, dial func(ctx context.Context, network, address string) (net.Conn, error)) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if address != addr {
			return nil, fmt.Errorf("stress: refusing to connect to %s: load goes only to the stack's LB at %s", address, addr)
		}
		return dial(ctx, network, address)
	}
}
