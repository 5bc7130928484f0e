package lbsync

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// startTestDNS runs a responder on a free port of 127.0.0.1, answering
// from consul.
func startTestDNS(t *testing.T, consul *fakeConsul, maxServices int) *dnsResponder {
	t.Helper()
	cfg, err := Config{Consul: consul, TemplateFile: "unused", OutPath: "unused", DNSAddr: "127.0.0.1:0",
		DNSMaxServices: maxServices, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	r, err := startDNS(context.Background(), cfg, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}

// ask sends one query over network ("udp" or "tcp") and returns the answer.
func ask(t *testing.T, r *dnsResponder, network, name string, qtype dnsmessage.Type) dnsmessage.Message {
	t.Helper()
	q := dnsmessage.Message{Header: dnsmessage.Header{ID: 4242, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET}}}
	msg, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial(network, r.server.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var out []byte
	if network == "udp" {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%s %s over udp: %v", qtype, name, err)
		}
		out = buf[:n]
	} else {
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)); err != nil {
			t.Fatal(err)
		}
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			t.Fatalf("%s %s over tcp: %v", qtype, name, err)
		}
		out = make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, out); err != nil {
			t.Fatal(err)
		}
	}
	if network == "udp" && len(out) > udpAnswerLimit {
		t.Errorf("udp answer of %d bytes, over %d", len(out), udpAnswerLimit)
	}
	var m dnsmessage.Message
	if err := m.Unpack(out); err != nil {
		t.Fatal(err)
	}
	if m.Header.ID != 4242 || !m.Header.Response {
		t.Fatalf("answer header %+v", m.Header)
	}
	return m
}

// srvInstances checks every SRV answer and returns them as "address:port",
// each address taken from the additional A record of its target.
func srvInstances(t *testing.T, m dnsmessage.Message) []string {
	t.Helper()
	addrs := map[string]string{}
	for _, rr := range m.Additionals {
		a, ok := rr.Body.(*dnsmessage.AResource)
		if !ok || rr.Header.TTL != 0 {
			t.Fatalf("additional record %v", rr)
		}
		addrs[rr.Header.Name.String()] = netip.AddrFrom4(a.A).String()
	}
	var out []string
	for _, rr := range m.Answers {
		srv, ok := rr.Body.(*dnsmessage.SRVResource)
		if !ok || srv.Priority != 1 || srv.Weight != 1 || rr.Header.TTL != 0 {
			t.Fatalf("answer %v", rr)
		}
		addr, ok := addrs[srv.Target.String()]
		if !ok {
			t.Fatalf("no additional A record for target %s", srv.Target)
		}
		out = append(out, fmt.Sprintf("%s:%d", addr, srv.Port))
	}
	return out
}

func wantInstances(t *testing.T, got []string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d instances %v, want %d", len(got), got, n)
	}
	for i, g := range got {
		if want := fmt.Sprintf("10.0.0.%d:5000", 101+i); g != want {
			t.Errorf("instance %d is %s, want %s", i, g, want)
		}
	}
}

func TestDNSAnswersSRVWithTheAddressesInAdditional(t *testing.T) {
	consul := newFakeConsul()
	consul.setInstances(webs(3)...)
	r := startTestDNS(t, consul, 0)
	for _, name := range []string{"_web._tcp.service.consul.", "web.service.consul.", "_WEB._tcp.Service.Consul."} {
		for _, network := range []string{"udp", "tcp"} {
			m := ask(t, r, network, name, dnsmessage.TypeSRV)
			if m.RCode != dnsmessage.RCodeSuccess || m.Truncated {
				t.Fatalf("%s over %s: %v truncated=%v", name, network, m.RCode, m.Truncated)
			}
			wantInstances(t, srvInstances(t, m), 3)
		}
	}
}

func TestDNSAnswersAForTargetsAndServices(t *testing.T) {
	consul := newFakeConsul()
	consul.setInstances(webs(2)...)
	r := startTestDNS(t, consul, 0)
	srv := ask(t, r, "udp", "_web._tcp.service.consul.", dnsmessage.TypeSRV)
	target := srv.Answers[1].Body.(*dnsmessage.SRVResource).Target.String()
	if target != "0a000066.addr.dc1.consul." {
		t.Errorf("target %s, want Consul's name for 10.0.0.102", target)
	}
	m := ask(t, r, "udp", target, dnsmessage.TypeA)
	if len(m.Answers) != 1 || netip.AddrFrom4(m.Answers[0].Body.(*dnsmessage.AResource).A).String() != "10.0.0.102" {
		t.Errorf("A %s: %v", target, m.Answers)
	}
	m = ask(t, r, "udp", "web.service.consul.", dnsmessage.TypeA)
	if len(m.Answers) != 2 {
		t.Errorf("A web.service.consul: %v", m.Answers)
	}
	m = ask(t, r, "udp", "web.service.consul.", dnsmessage.TypeAAAA)
	if m.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 {
		t.Errorf("AAAA web.service.consul: %v %v, want an empty answer", m.RCode, m.Answers)
	}
}

func TestDNSTruncatesBigUDPAnswersAndAnswersAllOverTCP(t *testing.T) {
	consul := newFakeConsul()
	consul.setInstances(webs(40)...)
	r := startTestDNS(t, consul, 0)
	m := ask(t, r, "udp", "_web._tcp.service.consul.", dnsmessage.TypeSRV)
	if !m.Truncated || len(m.Answers) == 0 || len(m.Answers) >= 40 {
		t.Fatalf("udp: truncated=%v with %d answers, want TC and some of the 40", m.Truncated, len(m.Answers))
	}
	wantInstances(t, srvInstances(t, m), len(m.Answers))
	m = ask(t, r, "tcp", "_web._tcp.service.consul.", dnsmessage.TypeSRV)
	if m.Truncated {
		t.Fatal("tcp answer truncated")
	}
	wantInstances(t, srvInstances(t, m), 40)
}

func TestDNSTellsUnknownServicesFromServicesWithNothingPassing(t *testing.T) {
	consul := newFakeConsul()
	down := web(1)
	down.Name, down.Status = "api", tmpl.StatusCritical
	consul.setInstances(web(1), down)
	r := startTestDNS(t, consul, 0)
	cases := []struct {
		name  string
		rcode dnsmessage.RCode
	}{
		{"_nope._tcp.service.consul.", dnsmessage.RCodeNameError},
		{"_api._tcp.service.consul.", dnsmessage.RCodeSuccess},
		{"x.y.service.consul.", dnsmessage.RCodeNameError},
		{"example.com.", dnsmessage.RCodeRefused},
	}
	for _, c := range cases {
		m := ask(t, r, "udp", c.name, dnsmessage.TypeSRV)
		if m.RCode != c.rcode || len(m.Answers) != 0 {
			t.Errorf("%s: %v with %d answers, want %v with none", c.name, m.RCode, len(m.Answers), c.rcode)
		}
	}
}

func TestDNSFollowsConsulAndAnswersTheLastKnownWhileItIsDown(t *testing.T) {
	consul := newFakeConsul()
	api := web(9)
	api.Name = "api"
	consul.setInstances(append(webs(3), api)...)
	r := startTestDNS(t, consul, 0)
	wantInstances(t, srvInstances(t, ask(t, r, "udp", "_web._tcp.service.consul.", dnsmessage.TypeSRV)), 3)

	consul.setInstances(append(webs(2), api)...)
	waitUntil(t, "the answer follows a deregistration", func() bool {
		return len(ask(t, r, "udp", "_web._tcp.service.consul.", dnsmessage.TypeSRV).Answers) == 2
	})

	consul.setDown(true, false)
	failed := consul.queryCount()
	waitUntil(t, "the watches fail", func() bool { return consul.queryCount() > failed+2 })
	for _, network := range []string{"udp", "tcp"} {
		m := ask(t, r, network, "_web._tcp.service.consul.", dnsmessage.TypeSRV)
		if m.RCode != dnsmessage.RCodeSuccess {
			t.Fatalf("consul down, over %s: %v", network, m.RCode)
		}
		wantInstances(t, srvInstances(t, m), 2)
	}
	// api is in the catalog known from before, but its instances were
	// never read: no answer that would empty nginx's upstream.
	if m := ask(t, r, "udp", "_api._tcp.service.consul.", dnsmessage.TypeSRV); m.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("a service never read while Consul is down: %v, want SERVFAIL", m.RCode)
	}

	consul.setDown(false, true)
	consul.setInstances(append(webs(4), api)...)
	waitUntil(t, "the answer follows Consul once it is back", func() bool {
		return len(ask(t, r, "udp", "_web._tcp.service.consul.", dnsmessage.TypeSRV).Answers) == 4
	})
}

func TestDNSBoundsTheWatchedServices(t *testing.T) {
	consul := newFakeConsul()
	var insts []tmpl.Instance
	for _, name := range []string{"a", "b", "c"} {
		inst := web(1)
		inst.Name = name
		insts = append(insts, inst)
	}
	consul.setInstances(insts...)
	r := startTestDNS(t, consul, 2)
	for i := range 50 { // names that are not services start no watch
		if m := ask(t, r, "udp", fmt.Sprintf("_random%d._tcp.service.consul.", i), dnsmessage.TypeSRV); m.RCode != dnsmessage.RCodeNameError {
			t.Fatalf("random name: %v", m.RCode)
		}
	}
	for _, c := range []struct {
		name  string
		rcode dnsmessage.RCode
	}{{"a", dnsmessage.RCodeSuccess}, {"b", dnsmessage.RCodeSuccess}, {"c", dnsmessage.RCodeServerFailure}, {"a", dnsmessage.RCodeSuccess}} {
		m := ask(t, r, "udp", "_"+c.name+"._tcp.service.consul.", dnsmessage.TypeSRV)
		if m.RCode != c.rcode {
			t.Errorf("%s: %v, want %v", c.name, m.RCode, c.rcode)
		}
	}
	r.w.mu.Lock()
	views := len(r.w.views)
	r.w.mu.Unlock()
	if views != 3 { // the catalog, a and b
		t.Errorf("%d watches, want 3", views)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
