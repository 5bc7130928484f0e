package lbsync

import (
	"net/netip"
	"slices"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// udpAnswerLimit is the largest UDP answer: nginx's resolver sends no EDNS
// option, so RFC 1035's 512 bytes hold. A larger answer is cut to what
// fits and marked truncated, and nginx asks again over TCP.
const udpAnswerLimit = 512

// dnsReply is the answer to one question before it is packed: its answer
// records, each with the additional record it brings (the A record of an
// SRV target), so that a cut keeps each SRV record with its address.
type dnsReply struct {
	rcode   dnsmessage.RCode
	answers []dnsmessage.Resource
	extras  []*dnsmessage.Resource // extras[i] comes with answers[i]; nil for none
}

// serviceReply answers a question about a service with its passing
// instances: one SRV record each (priority 1, weight 1) for an SRV
// question, one A record each for an A question, nothing for any other
// type. TTL 0, as Consul's: nginx asks again after its resolver's valid=.
func serviceReply(q dnsmessage.Question, insts []tmpl.Instance) dnsReply {
	r := dnsReply{rcode: dnsmessage.RCodeSuccess}
	for _, inst := range insts {
		addr, err := netip.ParseAddr(inst.Address)
		if err != nil || !addr.Is4() {
			continue // the template's resolver says ipv6=off; names are not followed
		}
		switch q.Type {
		case dnsmessage.TypeSRV:
			target := dnsmessage.MustNewName(addrTarget(addr))
			srv := dnsmessage.Resource{Header: rrHeader(q.Name), Body: &dnsmessage.SRVResource{
				Priority: 1, Weight: 1, Port: uint16(inst.Port), Target: target}}
			a := aRecord(target, addr)
			r.answers, r.extras = append(r.answers, srv), append(r.extras, &a)
		case dnsmessage.TypeA:
			r.answers, r.extras = append(r.answers, aRecord(q.Name, addr)), append(r.extras, nil)
		}
	}
	return r
}

// addrReply answers a question about an SRV target's name.
func addrReply(q dnsmessage.Question, addr netip.Addr) dnsReply {
	r := dnsReply{rcode: dnsmessage.RCodeSuccess}
	if q.Type == dnsmessage.TypeA {
		r.answers, r.extras = []dnsmessage.Resource{aRecord(q.Name, addr)}, []*dnsmessage.Resource{nil}
	}
	return r
}

func rrHeader(name dnsmessage.Name) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: 0}
}

func aRecord(name dnsmessage.Name, addr netip.Addr) dnsmessage.Resource {
	return dnsmessage.Resource{Header: rrHeader(name), Body: &dnsmessage.AResource{A: addr.As4()}}
}

// pack packs the reply to a query; with limit > 0 (UDP) it keeps the most
// answers that fit in limit bytes, with their additional records, and
// sets TC when any was left out.
func (r dnsReply) pack(query dnsmessage.Header, q dnsmessage.Question, limit int) ([]byte, error) {
	msg, err := r.packFirst(query, q, len(r.answers))
	if err != nil || limit <= 0 || len(msg) <= limit {
		return msg, err
	}
	// The size grows with the number of answers kept: find the most that
	// fit (zero always does: the question alone was read from a packet).
	lo, hi := 0, len(r.answers)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		m, err := r.packFirst(query, q, mid)
		if err != nil {
			return nil, err
		}
		if len(m) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return r.packFirst(query, q, lo)
}

// packFirst packs the first n answers and their additional records, each
// target's once; fewer than all is marked truncated.
func (r dnsReply) packFirst(query dnsmessage.Header, q dnsmessage.Question, n int) ([]byte, error) {
	m := dnsmessage.Message{
		Header: dnsmessage.Header{ID: query.ID, Response: true, Authoritative: true,
			RecursionDesired: query.RecursionDesired, RCode: r.rcode, Truncated: n < len(r.answers)},
		Questions: []dnsmessage.Question{q},
		Answers:   r.answers[:n],
	}
	var seen []dnsmessage.Name
	for _, extra := range r.extras[:n] {
		if extra != nil && !slices.Contains(seen, extra.Header.Name) {
			seen = append(seen, extra.Header.Name)
			m.Additionals = append(m.Additionals, *extra)
		}
	}
	return m.Pack()
}
