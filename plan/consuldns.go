package plan

import (
	"net"
	"net/url"
	"strings"

	"github.com/stackctl/stackctl/spec"
)

// ConsulDNSEnv names the environment variable `stackctl lb run` gives its
// renders (and nginx): the host:port of the Consul agent's DNS interface,
// for a template's `resolver` when nginx itself follows Consul
// (`server ... service=NAME resolve`). It is the --consul agent's host at
// Consul's DNS port, so on the stack network the Consul container's name,
// which Docker's embedded DNS resolves when nginx loads its config.
const ConsulDNSEnv = "STACKCTL_CONSUL_DNS"

// ConsulDNSPort is the Consul agent's default DNS port.
const ConsulDNSPort = "8600"

// ConsulDNSAddress is the DNS address of the Consul agent whose HTTP
// address is consulHTTP ("http://primes-consul:8500", "10.0.0.2:8500",
// "" for the default 127.0.0.1:8500).
func ConsulDNSAddress(consulHTTP string) string {
	addr := consulHTTP
	if addr == "" {
		addr = "127.0.0.1:8500"
	}
	if strings.Contains(addr, "://") {
		if u, err := url.Parse(addr); err == nil {
			addr = u.Host
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = strings.Trim(addr, "[]")
	}
	return net.JoinHostPort(host, ConsulDNSPort)
}

// LBDNSAddress is where the LB of a stack with hosts answers DNS itself
// (`stackctl lb run --dns`), inside its container. There Consul runs with
// ACLs, default deny, and its DNS interface answers with the agent's
// default token, which reads no service; the LB answers from its own
// watch, with its own token, and opens nothing.
const LBDNSAddress = "127.0.0.1:8600"

// LBResolverAddress is what the stack's LB sets STACKCTL_CONSUL_DNS to:
// its own responder with hosts, else its Consul agent's DNS interface.
func LBResolverAddress(s *spec.Stack) string {
	if s.MultiHost() {
		return LBDNSAddress
	}
	return ConsulDNSAddress(LBConsulAddress(s))
}
