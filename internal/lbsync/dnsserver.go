package lbsync

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// The DNS responder of `stackctl lb run --dns`: nginx in resolve mode
// asks it, instead of Consul's DNS interface, for the passing instances
// of its upstreams. Consul's DNS answers with the agent's default token,
// which under default-deny ACLs reads nothing (and a default token that
// read services would open the catalog to anyone); this one answers from
// the LB's own watch, with the LB's own narrow token.

const (
	dnsMaxInFlight  = 64               // queries answered at once; more wait
	dnsQueryTimeout = 2 * time.Second  // nginx's resolver_timeout in the reference template
	dnsIdleTimeout  = 10 * time.Second // a TCP connection with no query for this long is closed
)

// instanceLookup is what the responder needs: a service's passing
// instances, and whether Consul knows the service at all.
type instanceLookup interface {
	lookup(ctx context.Context, name string) (insts []tmpl.Instance, known bool, err error)
}

// dnsServer answers DNS queries on one address over UDP and TCP.
type dnsServer struct {
	udp      net.PacketConn
	tcp      net.Listener
	services instanceLookup
	log      *log.Logger
	slots    chan struct{} // one per query in flight

	ctx    context.Context // ends every query and connection
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

// listenDNS binds addr over UDP and TCP (the same port, also when addr's
// port is 0) and starts answering.
func listenDNS(addr string, services instanceLookup, logger *log.Logger) (*dnsServer, error) {
	udp, tcp, err := bindDNS(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &dnsServer{udp: udp, tcp: tcp, services: services, log: logger,
		slots: make(chan struct{}, dnsMaxInFlight), ctx: ctx, cancel: cancel, conns: map[net.Conn]bool{}}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.serveUDP() }()
	go func() { defer s.wg.Done(); s.serveTCP() }()
	return s, nil
}

func bindDNS(addr string) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 5 { // with port 0, the port UDP got may be taken over TCP
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listen on %s/udp: %w", addr, err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		lastErr = fmt.Errorf("dns: listen on %s/tcp: %w", addr, err)
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, nil, lastErr
}

// Addr is the address answered on, UDP and TCP.
func (s *dnsServer) Addr() string { return s.udp.LocalAddr().String() }

// close stops answering and waits for the queries in flight.
func (s *dnsServer) close() {
	s.cancel()
	s.udp.Close()
	s.tcp.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *dnsServer) serveUDP() {
	for {
		buf := make([]byte, 1500)
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Printf("dns: udp: %v", err)
			}
			return
		}
		if !s.acquire() {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.release()
			if out := s.answer(buf[:n], udpAnswerLimit); out != nil {
				s.udp.WriteTo(out, from) //nolint:errcheck // the client asks again
			}
		}()
	}
}

func (s *dnsServer) serveTCP() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Printf("dns: tcp: %v", err)
			}
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

// serveConn answers the length-prefixed queries of one TCP connection in
// turn, each answer complete.
func (s *dnsServer) serveConn(c net.Conn) {
	for {
		c.SetReadDeadline(time.Now().Add(dnsIdleTimeout)) //nolint:errcheck // a failed read ends the loop
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		if !s.acquire() {
			return
		}
		out := s.answer(msg, 0)
		s.release()
		if out == nil {
			return
		}
		c.SetWriteDeadline(time.Now().Add(dnsIdleTimeout)) //nolint:errcheck // a failed write ends the loop
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(out)))); err != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (s *dnsServer) acquire() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *dnsServer) release() { <-s.slots }

func (s *dnsServer) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.conns[c] = true
	return true
}

func (s *dnsServer) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}
