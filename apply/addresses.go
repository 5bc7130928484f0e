package apply

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
)

// addresses hands out fixed worker addresses on the stack network, never
// one in use by any container, running or stopped (a kept old worker keeps
// its address, so a rollback starts it with the same one: its registration
// and the LB config come back byte for byte). When the network does not
// allow fixed addresses, it hands out none and Docker picks.
type addresses struct {
	mu       sync.Mutex
	loaded   bool
	disabled bool
	subnet   *net.IPNet
	used     map[string]bool
}

// networkReader is what the address book asks Docker: which addresses the
// network has, and which of them are in use.
type networkReader interface {
	NetworkAddresses(ctx context.Context, name string) (subnet string, used []string, err error)
}

// next returns a free address on network, or "" to let Docker pick. The
// first call reads the network's subnet and used addresses from docker.
func (a *addresses) next(ctx context.Context, docker networkReader, network string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.loaded {
		a.load(ctx, docker, network)
	}
	if a.disabled {
		return ""
	}
	base := binary.BigEndian.Uint32(a.subnet.IP.To4())
	ones, bits := a.subnet.Mask.Size()
	size := uint32(1) << uint(bits-ones)
	// Skip the network address, the usual gateway (.1) and the broadcast.
	for off := uint32(2); off+1 < size; off++ {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, base+off)
		if s := ip.String(); !a.used[s] {
			a.used[s] = true
			return s
		}
	}
	return ""
}

// load reads the network once; one whose subnet is unknown or not IPv4 gets
// no fixed addresses. a.mu is held.
func (a *addresses) load(ctx context.Context, docker networkReader, network string) {
	a.loaded = true
	subnet, used, err := docker.NetworkAddresses(ctx, network)
	_, ipnet, perr := net.ParseCIDR(subnet)
	if err != nil || perr != nil || ipnet.IP.To4() == nil {
		a.disabled = true
		return
	}
	a.subnet, a.used = ipnet, map[string]bool{}
	for _, ip := range used {
		a.used[ip] = true
	}
}

// disable turns fixed addresses off for the rest of the apply: the network
// refused one.
func (a *addresses) disable() {
	a.mu.Lock()
	a.disabled = true
	a.mu.Unlock()
}

// createContainer creates a container, at a fixed address when it has one
// and the network allows it.
func (e *Executor) createContainer(ctx context.Context, cs ContainerSpec) (string, error) {
	id, err := e.Docker.CreateContainer(ctx, cs)
	if errors.Is(err, ErrPinRefused) {
		e.addrs.disable()
		cs.IP = ""
		id, err = e.Docker.CreateContainer(ctx, cs)
	}
	return id, err
}
