package spec

import "strings"

// The Consul cluster of a stack with hosts: an agent on every host, a
// server on each of Consul.Servers, a client on the others (see
// docs/multihost.md). A stack without hosts has its one server container,
// ConsulContainerName, instead.

// ConsulAgentName is the container name of the Consul agent on host, also
// its Consul node name's prefix: <stack>-consul-<host>.
func (s *Stack) ConsulAgentName(host string) string { return s.Name + "-consul-" + host }

// ConsulDataVolume is the named volume each host's Consul agent keeps its
// data in: the same name on every host, one volume per engine.
func (s *Stack) ConsulDataVolume() string { return s.Name + "-consul-data" }

// ConsulServer reports whether host runs a Consul server.
func (s *Stack) ConsulServer(host string) bool { return contains(s.Consul.Servers, host) }

// ConsulServerAddresses returns the addresses of the server hosts, in
// Consul.Servers order: what every agent joins.
func (s *Stack) ConsulServerAddresses() []string {
	out := make([]string, 0, len(s.Consul.Servers))
	for _, name := range s.Consul.Servers {
		if h := s.KnownHost(name); h != nil {
			out = append(out, h.Address)
		}
	}
	return out
}

// ConsulAgentHash is the hash of host's Consul agent container: what its
// command is made of. The servers' addresses are in it, since every agent
// joins them and a server expects as many: a change of servers replaces
// every agent (a rolling step, so that quorum holds). The secrets are not:
// they are chosen once per cluster and never change.
func (s *Stack) ConsulAgentHash(host string) string {
	address := ""
	if h := s.Host(host); h != nil {
		address = h.Address
	}
	return hashOf(struct {
		Kind    string
		Stack   string
		Image   string
		Host    string
		Address string
		Server  bool
		Servers string
	}{"consul-agent/v1", s.Name, s.Consul.Image, host, address, s.ConsulServer(host),
		strings.Join(s.ConsulServerAddresses(), " ")})
}
