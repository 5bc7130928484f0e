package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
)

// Fingerprint is the sha256 of a canonical encoding of everything in the
// observed state that Compute reads. A saved plan records it; apply observes
// again and refuses the plan when the fingerprint moved.
//
// Left out, because they change without anything having moved: check output
// (new on every check run), the LB status key (rewritten by the LB on
// every render), the Raft leader and peers (an election or a restart
// moves them, and Compute does not read them) and reconcile's records
// (written after every apply it makes), and why a host did not answer
// (only that it did not). The order objects were listed in does not matter.
func Fingerprint(s *State) string {
	c := canonical(s)
	b, err := json.Marshal(c)
	if err != nil {
		panic("plan: fingerprint: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func canonical(s *State) State {
	c := *s
	c.Containers = append([]Container(nil), s.Containers...)
	for i := range c.Containers {
		ports := append([]PublishedPort(nil), c.Containers[i].Ports...)
		sort.Slice(ports, func(a, b int) bool { return portLess(ports[a], ports[b]) })
		c.Containers[i].Ports = ports
	}
	sort.Slice(c.Containers, func(i, j int) bool {
		a, b := c.Containers[i], c.Containers[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Host < b.Host // one name on two hosts: a worker caught moving
	})
	c.Images = append([]Image(nil), s.Images...)
	sort.Slice(c.Images, func(i, j int) bool { return c.Images[i].Ref < c.Images[j].Ref })
	c.Consul.Registrations = append([]Registration(nil), s.Consul.Registrations...)
	for i := range c.Consul.Registrations {
		c.Consul.Registrations[i].Output = ""
	}
	sort.Slice(c.Consul.Registrations, func(i, j int) bool {
		a, b := c.Consul.Registrations[i], c.Consul.Registrations[j]
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Host < b.Host
	})
	if s.Hosts != nil {
		// Whether a host answered counts, not the words of why it did not
		// (a timeout's message names the time it took).
		c.Hosts = make(map[string]*HostState, len(s.Hosts))
		for name, h := range s.Hosts {
			hc := *h
			if hc.Error != "" {
				hc.Error = "unreachable"
			}
			hc.Images = append([]Image(nil), h.Images...)
			sort.Slice(hc.Images, func(i, j int) bool { return hc.Images[i].Ref < hc.Images[j].Ref })
			c.Hosts[name] = &hc
		}
	}
	c.Consul.LBStatus = nil
	c.Consul.ReconcileApplied, c.Consul.ReconcileHistory = nil, nil
	c.Consul.Leader, c.Consul.Peers = "", nil
	return c
}

func portLess(a, b PublishedPort) bool {
	if a.ContainerPort != b.ContainerPort {
		return a.ContainerPort < b.ContainerPort
	}
	if a.Protocol != b.Protocol {
		return a.Protocol < b.Protocol
	}
	if a.HostIP != b.HostIP {
		return a.HostIP < b.HostIP
	}
	return a.HostPort < b.HostPort
}
