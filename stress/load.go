package stress

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Limits keep a load test bounded in time and size, whatever the flags say.
const (
	MaxDuration    = 10 * time.Minute
	MaxRate        = 50000 // requests per second
	MaxConnections = 4096
)

// Load is how load is made: an open model (Rate requests a second, whether
// or not earlier ones were answered) or a closed one (Connections clients,
// each sending its next request when its last one was answered).
//
// The open model sends over a pool of at most Pool connections (default
// DefaultPool), as an HTTP client library or a browser does: a request
// that finds every connection busy waits for one, and the wait counts in
// its latency. Without a bound, every stall (a GC pause, a busy CPU) opens
// a burst of new connections that makes the stall worse: on the 2-core
// reference machine that cost about a quarter of the highest sustained
// rate (docs/stress.md).
type Load struct {
	Target      Target
	Path        string
	Rate        float64
	Connections int
	Pool        int
	KeepAlive   bool
	Timeout     time.Duration
}

// DefaultPool is the open model's connection pool when Load.Pool is 0.
const DefaultPool = 64

func (l Load) pool() int {
	if l.Pool > 0 {
		return l.Pool
	}
	return DefaultPool
}

// Model is "open" or "closed".
func (l Load) Model() string {
	if l.Connections > 0 && l.Rate == 0 {
		return "closed"
	}
	return "open"
}

// Check refuses a load that is not bounded or not well formed.
func (l Load) Check() error {
	switch {
	case l.Rate < 0 || l.Rate > MaxRate:
		return fmt.Errorf("--rate %g: between 1 and %d a second", l.Rate, MaxRate)
	case l.Connections < 0 || l.Connections > MaxConnections:
		return fmt.Errorf("--connections %d: between 1 and %d", l.Connections, MaxConnections)
	case l.Pool < 0 || l.Pool > MaxConnections:
		return fmt.Errorf("--pool %d: between 1 and %d", l.Pool, MaxConnections)
	case l.Rate == 0 && l.Connections == 0:
		return fmt.Errorf("give --rate (an open model) or --connections (a closed one)")
	case l.Timeout <= 0:
		return fmt.Errorf("--timeout %s: must be more than 0", l.Timeout)
	case !strings.HasPrefix(l.Path, "/"):
		return fmt.Errorf("--path %q: must start with /", l.Path)
	}
	return nil
}

// url is the one URL the load asks for.
func (l Load) url() string { return "http://" + l.Target.Addr + l.Path }

// attacker builds the vegeta attacker. Its HTTP client is stackctl's own:
// it dials only the target (guardDial), follows no redirect and ignores
// HTTP_PROXY, so the load cannot leave the stack's LB. Like wrk, it keeps
// connections alive unless told not to.
func (l Load) attacker() *vegeta.Attacker {
	dialer := &net.Dialer{Timeout: l.Timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         guardDial(l.Target.Addr, dialer.DialContext),
		DisableKeepAlives:   !l.KeepAlive,
		DisableCompression:  true, // as wrk: ask for the bytes the app sends
		MaxIdleConnsPerHost: MaxConnections,
		IdleConnTimeout:     90 * time.Second,
	}
	if l.Connections > 0 {
		transport.MaxConnsPerHost = l.Connections
		transport.MaxIdleConnsPerHost = l.Connections
	} else {
		transport.MaxConnsPerHost = l.pool()
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   l.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	// MaxBody(0): each answer is read to its end (so the connection can
	// be used again) but not kept: nothing looks at it, and keeping it
	// would cost the load generator an allocation per request on a
	// machine it shares with the stack.
	opts := []func(*vegeta.Attacker){vegeta.Client(client), vegeta.MaxBody(0)}
	if l.Model() == "closed" {
		opts = append(opts, vegeta.Workers(uint64(l.Connections)), vegeta.MaxWorkers(uint64(l.Connections)))
	} else {
		// An open model adds a client for every request that waits; bound
		// them by what the rate can have in flight within a timeout.
		most := uint64(min(MaxConnections, max(64, l.Rate*l.Timeout.Seconds())))
		opts = append(opts, vegeta.MaxWorkers(most))
	}
	return vegeta.NewAttacker(opts...)
}

func (l Load) pacer() vegeta.Pacer {
	if l.Model() == "closed" {
		return vegeta.ConstantPacer{} // as fast as the clients get answers
	}
	return vegeta.ConstantPacer{Freq: int(l.Rate + 0.5), Per: time.Second}
}

// Run puts the load on the target for d, or until ctx ends, and hands each
// result to rec. It returns when the last request has been answered or has
// timed out.
func (l Load) Run(ctx context.Context, d time.Duration, rec *Recorder) {
	a := l.attacker()
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: l.url()})
	results := a.Attack(targeter, l.pacer(), d, "stress")
	stop := context.AfterFunc(ctx, func() { a.Stop() })
	defer stop()
	for r := range results {
		rec.Add(r)
	}
}
