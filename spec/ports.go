package spec

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

const portRule = `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], like "127.0.0.1:8080:80"`

// published is a port mapping with where it was written, for finding two
// that claim the same host port.
type published struct {
	path string
	node *yaml.Node
	port PortMapping
}

// ports decodes a list of compose-style port mappings.
func (d *decoder) ports(n *yaml.Node, path string) ([]PortMapping, []published) {
	items, ok := d.list(n, path, "a list of "+portRule)
	if !ok {
		return nil, nil
	}
	var out []PortMapping
	var pubs []published
	for i, item := range items {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.scalar(item, itemPath, portRule)
		if !ok {
			continue
		}
		if !s.fromString && item.Tag != "!!int" {
			d.typeMismatch(item, itemPath, portRule)
			continue
		}
		pm, reason := parsePort(s.text)
		if reason != "" {
			d.addf(item, "%s %s %s", itemPath, quote(s.text), reason)
			continue
		}
		out = append(out, pm)
		pubs = append(pubs, published{path: itemPath, node: item, port: pm})
	}
	return out, pubs
}

// parsePort parses "[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]"; IPv6
// host addresses are written in brackets. It returns why s is not one.
func parsePort(s string) (PortMapping, string) {
	pm := PortMapping{HostIP: DefaultHostIP, Protocol: "tcp"}
	rest := s
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rest, pm.Protocol = rest[:i], rest[i+1:]
		if pm.Protocol != "tcp" && pm.Protocol != "udp" {
			return pm, fmt.Sprintf("has protocol %s (expected tcp or udp)", quote(pm.Protocol))
		}
	}
	var ipText, hostPort, containerPort string
	hasIP := false
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]:")
		if end < 0 {
			return pm, "has no closing ]: after its IPv6 address (expected [IPV6]:HOST_PORT:CONTAINER_PORT)"
		}
		ipText, rest, hasIP = rest[1:end], rest[end+2:], true
		var ok bool
		if hostPort, containerPort, ok = strings.Cut(rest, ":"); !ok || strings.Contains(containerPort, ":") {
			return pm, "is not [IPV6]:HOST_PORT:CONTAINER_PORT (expected " + portRule + ")"
		}
		if ip := net.ParseIP(ipText); ip == nil || ip.To4() != nil {
			return pm, fmt.Sprintf("has host address %s, not an IPv6 address (expected an IPv6 address in brackets)", quote(ipText))
		}
	} else {
		parts := strings.Split(rest, ":")
		switch len(parts) {
		case 1:
			containerPort = parts[0]
		case 2:
			hostPort, containerPort = parts[0], parts[1]
			if hostPort == "" {
				return pm, "has an empty host port (expected " + portRule + ")"
			}
		case 3:
			ipText, hostPort, containerPort, hasIP = parts[0], parts[1], parts[2], true
			if ip := net.ParseIP(ipText); ip == nil || ip.To4() == nil {
				return pm, fmt.Sprintf("has host address %s, not an IPv4 address (expected an IPv4 address, or an IPv6 one in brackets)", quote(ipText))
			}
		default:
			return pm, "has too many colons (expected " + portRule + "; write IPv6 addresses in brackets)"
		}
	}
	if hasIP {
		pm.HostIP = net.ParseIP(ipText).String()
	}
	var reason string
	if hostPort != "" { // "IP::PORT" leaves the host port to Docker
		if pm.HostPort, reason = portNumber(hostPort, "host port"); reason != "" {
			return pm, reason
		}
	}
	if pm.ContainerPort, reason = portNumber(containerPort, "container port"); reason != "" {
		return pm, reason
	}
	return pm, ""
}

func portNumber(s, what string) (int, string) {
	if s == "" {
		return 0, fmt.Sprintf("has no %s (expected %s)", what, portRule)
	}
	if strings.Contains(s, "-") {
		return 0, fmt.Sprintf("has %s range %s (expected a single port: ranges are not supported)", what, quote(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Sprintf("has %s %s, not a number (expected %s)", what, quote(s), portRule)
		}
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Sprintf("has %s %s out of range (expected 1 to 65535)", what, quote(s))
	}
	return p, ""
}

// checkHostPorts reports host ports published twice in the stack: on the
// same address, or on any address and on all of them (0.0.0.0 or ::). It
// looks each one up in maps, so even a huge list costs linear time.
func (d *decoder) checkHostPorts(pubs []published) {
	type portKey struct {
		port  int
		proto string
	}
	type addrKey struct {
		ip string
		portKey
	}
	first := map[portKey]*published{}       // the first on the port, any address
	unspecified := map[portKey]*published{} // the first on all addresses
	exact := map[addrKey]*published{}
	for j := range pubs {
		p := &pubs[j]
		if p.port.HostPort == 0 {
			continue // Docker picks a free one
		}
		pk := portKey{p.port.HostPort, p.port.Protocol}
		ak := addrKey{p.port.HostIP, pk}
		var prev *published
		switch {
		case isUnspecified(p.port.HostIP) && first[pk] != nil:
			prev = first[pk]
		case unspecified[pk] != nil:
			prev = unspecified[pk]
		case exact[ak] != nil:
			prev = exact[ak]
		}
		if prev != nil {
			by := prev.path
			if at := d.at(prev.node); at.File != d.at(p.node).File { // one in the overlay
				by += " at " + at.String()
			}
			d.addf(p.node, "%s publishes host port %s, already published by %s (expected each host port once)",
				p.path, p.port.hostSide(), by)
			continue
		}
		if first[pk] == nil {
			first[pk] = p
		}
		if isUnspecified(p.port.HostIP) {
			unspecified[pk] = p
		}
		exact[ak] = p
	}
}

func isUnspecified(ip string) bool {
	parsed := net.ParseIP(ip)
	return parsed != nil && parsed.IsUnspecified()
}

// String writes the mapping out in full, HOST_IP:HOST_PORT:PORT/PROTO
// ("127.0.0.1::80/tcp" when Docker picks the host port), with the defaults
// of a mapping that leaves them out.
func (p PortMapping) String() string {
	host, proto, hostPort := p.HostIP, p.Protocol, ""
	if host == "" {
		host = DefaultHostIP
	}
	if proto == "" {
		proto = "tcp"
	}
	if p.HostPort > 0 {
		hostPort = strconv.Itoa(p.HostPort)
	}
	return fmt.Sprintf("%s:%s:%d/%s", host, hostPort, p.ContainerPort, proto)
}

// hostSide is the host address, port and protocol of a mapping, as the
// messages about two that clash name it.
func (p PortMapping) hostSide() string {
	return net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort)) + "/" + p.Protocol
}

// Clashes says whether p and q claim the same host port: the same port
// and protocol on the same address, or on any address and on all of them.
// A port Docker picks (0) never clashes.
func (p PortMapping) Clashes(q PortMapping) bool {
	if p.HostPort == 0 || p.HostPort != q.HostPort || p.Protocol != q.Protocol {
		return false
	}
	return p.HostIP == q.HostIP || isUnspecified(p.HostIP) || isUnspecified(q.HostIP)
}

// PortClashes reports every host port that two stacks (environments of one
// stack file, which may run side by side on one engine) both publish, as a
// problem at a's port that names b's.
func PortClashes(a, b *Stack) []*Problem {
	var out []*Problem
	for _, p := range a.Published {
		for _, q := range b.Published {
			if p.Port.Clashes(q.Port) {
				out = append(out, &Problem{Pos: p.Pos, Msg: fmt.Sprintf(
					"%s publishes host port %s, which stack %s also publishes at %s (%s) (expected each environment on its own host ports: set %s in the overlay)",
					p.Path, p.Port.hostSide(), b.Name, q.Pos, q.Path, p.Path)})
			}
		}
	}
	return out
}
