package lbsync

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// ErrTooManyServices is a DNS lookup of a service beyond the watch bound:
// the responder answers it SERVFAIL, and nginx keeps what it has.
var ErrTooManyServices = errors.New("lb dns: too many services watched")

// serviceWatches gives the DNS responder the passing instances of a
// service from blocking queries on Consul, with the LB's own token. The
// catalog is watched once, to tell an unknown service (NXDOMAIN) from one
// with no passing instance (an empty answer) and so that names that are
// not services start no watch; each service asked for is watched from its
// first query on, at most max of them. Every answer is the last Consul
// gave: while Consul does not answer, the instances known before.
type serviceWatches struct {
	w         *watcher
	firstWait time.Duration // how long a query waits for a new watch's first answer
	max       int

	mu      sync.Mutex
	watched map[string]bool // services with a watch, by their Consul name
	full    bool            // the bound was logged
}

func newServiceWatches(w *watcher, firstWait time.Duration, max int) *serviceWatches {
	return &serviceWatches{w: w, firstWait: firstWait, max: max, watched: map[string]bool{}}
}

// lookup returns the passing instances of the service named name (case
// does not matter, as in DNS), and whether Consul knows the service.
func (s *serviceWatches) lookup(ctx context.Context, name string) (insts []tmpl.Instance, known bool, err error) {
	data, err := s.w.view(dep{kind: depCatalog}).await(ctx, s.firstWait)
	if err != nil {
		return nil, false, err
	}
	service, known := catalogName(data.([]tmpl.CatalogService), name)
	if !known {
		return nil, false, nil
	}
	d := dep{kind: depService, name: service, passingOnly: true}
	if err := s.admit(service); err != nil {
		return nil, true, err
	}
	data, err = s.w.view(d).await(ctx, s.firstWait)
	if err != nil {
		return nil, true, err
	}
	for _, inst := range data.([]tmpl.Instance) {
		if inst.Status == tmpl.StatusPassing {
			insts = append(insts, inst)
		}
	}
	return insts, true, nil
}

// admit counts a service's watch against the bound.
func (s *serviceWatches) admit(service string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watched[service] {
		return nil
	}
	if len(s.watched) >= s.max {
		if !s.full {
			s.full = true
			s.w.log.Printf("dns: %d services watched already; %q and any further service are answered SERVFAIL", s.max, service)
		}
		return fmt.Errorf("%w (%d): %s", ErrTooManyServices, s.max, service)
	}
	s.watched[service] = true
	return nil
}

func catalogName(svcs []tmpl.CatalogService, name string) (string, bool) {
	for _, svc := range svcs {
		if strings.EqualFold(svc.Name, name) {
			return svc.Name, true
		}
	}
	return "", false
}

// dnsFirstWait is how long a DNS query waits for a new watch's first
// answer from Consul, within nginx's resolver_timeout (2s in the
// reference template); a query not answered in time is SERVFAIL.
const dnsFirstWait = 1500 * time.Millisecond

// dnsResponder is Run's DNS responder with the watches it answers from.
type dnsResponder struct {
	server *dnsServer
	w      *watcher
	cancel context.CancelFunc
}

// startDNS answers DNS at cfg.DNSAddr from watches of its own, apart from
// the render's (whose views follow the template and are dropped when it
// stops reading them).
func startDNS(ctx context.Context, cfg Config, logger *log.Logger) (*dnsResponder, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := newWatcher(ctx, cfg.Consul, cfg, logger)
	server, err := listenDNS(cfg.DNSAddr, newServiceWatches(w, minDuration(dnsFirstWait, cfg.FirstFetchTimeout), cfg.DNSMaxServices), logger)
	if err != nil {
		cancel()
		return nil, err
	}
	logger.Printf("dns: answering for Consul services on %s (udp, tcp)", server.Addr())
	return &dnsResponder{server: server, w: w, cancel: cancel}, nil
}

func (r *dnsResponder) stop() {
	r.server.close()
	r.cancel()
	r.w.stop()
}
