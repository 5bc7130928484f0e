package plan

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/stackctl/stackctl/spec"
)

// ConsulHTTPPort is the port the managed Consul server serves its API on.
const ConsulHTTPPort = 8500

// ErrConsulNotPublished: the managed Consul's API port is not published on
// the host, so nothing outside the stack network can reach it.
var ErrConsulNotPublished = errors.New("the managed Consul publishes no host port for 8500: add a port mapping such as \"127.0.0.1:8500:8500\" under consul.ports, or set CONSUL_HTTP_ADDR")

// ConsulEndpoint chooses where stackctl reaches Consul: CONSUL_HTTP_ADDR if set,
// else the stack's consul.address, else the host port the managed Consul
// container publishes for 8500 (live when the container is given, else as
// the stack file maps it).
func ConsulEndpoint(s *spec.Stack, override string, live *Container) (Endpoint, error) {
	if override != "" {
		return Endpoint{Address: override, Via: "CONSUL_HTTP_ADDR"}, nil
	}
	file := filepath.Base(s.File)
	if !s.Consul.Managed() {
		return Endpoint{Address: s.Consul.Address, Via: "consul.address in " + file}, nil
	}
	if live != nil {
		for _, p := range live.Ports {
			if p.ContainerPort == ConsulHTTPPort && p.Protocol != "udp" && p.HostPort > 0 {
				return Endpoint{
					Address: HostAddress(p.HostIP, p.HostPort),
					Via:     fmt.Sprintf("port %d published by container %s; set CONSUL_HTTP_ADDR to override", ConsulHTTPPort, live.Name),
				}, nil
			}
		}
	}
	for _, p := range s.Consul.Ports {
		if p.ContainerPort == ConsulHTTPPort && p.Protocol != "udp" && p.HostPort > 0 {
			return Endpoint{
				Address: HostAddress(p.HostIP, p.HostPort),
				Via:     "consul.ports in " + file + "; set CONSUL_HTTP_ADDR to override",
			}, nil
		}
	}
	return Endpoint{}, ErrConsulNotPublished
}

// HostAddress turns a published address into one to dial: a wildcard bind is
// reached on loopback.
func HostAddress(ip string, port int) string {
	switch ip {
	case "", "0.0.0.0", "::":
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}
