package lbsync

import (
	"context"

	"golang.org/x/net/dns/dnsmessage"
)

// answer is the reply to one query message; nil for a message that is
// not a query. limit > 0 is a UDP answer's size limit.
//
// What nginx does with each answer decides its rcode: NXDOMAIN and an
// empty answer empty the upstream, SERVFAIL (or no answer) keeps the
// servers nginx has. So a service Consul does not know is NXDOMAIN, one
// with no passing instance an empty NOERROR, as from Consul; and a service
// whose instances were never read (Consul unreachable since the first
// query, or the watch bound reached) is SERVFAIL, never an empty answer.
func (s *dnsServer) answer(msg []byte, limit int) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return packRcode(h, nil, dnsmessage.RCodeFormatError)
	}
	q := qs[0]
	if h.OpCode != 0 {
		return packRcode(h, &q, dnsmessage.RCodeNotImplemented)
	}
	r := s.reply(q)
	out, err := r.pack(h, q, limit)
	if err != nil {
		s.log.Printf("dns: answer to %s %s: %v", q.Type, q.Name, err)
		return packRcode(h, &q, dnsmessage.RCodeServerFailure)
	}
	return out
}

func (s *dnsServer) reply(q dnsmessage.Question) dnsReply {
	query, ours, ok := parseDNSName(q.Name.String())
	switch {
	case !ours || q.Class != dnsmessage.ClassINET:
		return dnsReply{rcode: dnsmessage.RCodeRefused}
	case !ok:
		return dnsReply{rcode: dnsmessage.RCodeNameError}
	case query.service == "":
		return addrReply(q, query.addr)
	}
	ctx, cancel := context.WithTimeout(s.ctx, dnsQueryTimeout)
	defer cancel()
	insts, known, err := s.services.lookup(ctx, query.service)
	switch {
	case err != nil:
		return dnsReply{rcode: dnsmessage.RCodeServerFailure}
	case !known:
		return dnsReply{rcode: dnsmessage.RCodeNameError}
	}
	return serviceReply(q, insts)
}

// packRcode is an answer with no records.
func packRcode(query dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode) []byte {
	m := dnsmessage.Message{Header: dnsmessage.Header{ID: query.ID, Response: true,
		RecursionDesired: query.RecursionDesired, RCode: rcode}}
	if q != nil {
		m.Questions = []dnsmessage.Question{*q}
	}
	out, err := m.Pack()
	if err != nil {
		return nil
	}
	return out
}
