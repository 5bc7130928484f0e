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

// next returns a free address, or "" to let Docker pick.
func (e *Executor) nextAddress(ctx context.Context) string {
	a := &e.addrs
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.loaded {
		a.loaded = true
		subnet, used, err := e.Docker.NetworkAddresses(ctx, e.Stack.NetworkName())
		_, ipnet, perr := net.ParseCIDR(subnet)
		if err != nil || perr != nil || ipnet.IP.To4() == nil {
			a.disabled = true
			return ""
		}
		a.subnet, a.used = ipnet, map[string]bool{}
		for _, ip := range used {
			a.used[ip] = true
		}
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

// noFixedAddresses turns fixed addresses off for the rest of the apply.
func (e *Executor) noFixedAddresses() {
	e.addrs.mu.Lock()
	e.addrs.disabled = true
	e.addrs.mu.Unlock()
}

// createContainer creates a container, at a fixed address when it has one
// and the network allows it.
func (e *Executor) createContainer(ctx context.Context, cs ContainerSpec) (string, error) {
	id, err := e.Docker.CreateContainer(ctx, cs)
	if errors.Is(err, ErrPinRefused) {
		e.noFixedAddresses()
		cs.IP = ""
		id, err = e.Docker.CreateContainer(ctx, cs)
	}
	return id, err
}
