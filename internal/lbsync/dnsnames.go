package lbsync

import (
	"encoding/hex"
	"net/netip"
	"strings"
)

// The names the DNS responder answers, spelled as Consul's DNS interface
// spells them, so that a template written for Consul's DNS works
// unchanged: the SRV name nginx asks for `server service.consul
// service=web resolve` (_web._tcp.service.consul), the plain service name
// (web.service.consul), and the SRV targets (0a000003.addr.dc1.consul),
// an instance's IPv4 address in hex.

// dnsQuery is what a query name asks for: a service, or an address.
type dnsQuery struct {
	service string     // the service, as asked (lower case); "" for an address name
	addr    netip.Addr // an address name's address
}

// parseDNSName reads a query name. ours is false for a name outside
// .consul, which the responder refuses; ok is false for a name in .consul
// it does not know, which does not exist.
func parseDNSName(name string) (q dnsQuery, ours, ok bool) {
	labels := strings.Split(strings.TrimSuffix(strings.ToLower(name), "."), ".")
	n := len(labels)
	if n < 2 || labels[n-1] != "consul" {
		return dnsQuery{}, false, false
	}
	switch {
	case n == 3 && labels[1] == "service" && isServiceLabel(labels[0]):
		return dnsQuery{service: labels[0]}, true, true
	case n == 4 && labels[2] == "service" && labels[1] == "_tcp" && strings.HasPrefix(labels[0], "_") && isServiceLabel(labels[0][1:]):
		return dnsQuery{service: labels[0][1:]}, true, true
	case n >= 3 && labels[1] == "addr":
		if addr, ok := parseHexIPv4(labels[0]); ok {
			return dnsQuery{addr: addr}, true, true
		}
	}
	return dnsQuery{}, true, false
}

func isServiceLabel(s string) bool {
	return s != "" && !strings.HasPrefix(s, "_")
}

func parseHexIPv4(s string) (netip.Addr, bool) {
	if len(s) != 8 {
		return netip.Addr{}, false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(b)), true
}

// addrTarget is the SRV target naming addr, as Consul names it; the
// responder answers A queries for it. The datacenter label is only a
// label: any is answered.
func addrTarget(addr netip.Addr) string {
	b := addr.As4()
	return hex.EncodeToString(b[:]) + ".addr.dc1.consul."
}
