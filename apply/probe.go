package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Prober asks a worker's health endpoint at url once, as Consul's HTTP check
// does: nil when it answers 2xx within timeout. ErrUnreachable means this
// process cannot reach the worker at all (stackctl runs away from the
// engine's host), so only Consul's own check can judge it.
type Prober func(ctx context.Context, url string, timeout time.Duration) error

// ErrUnreachable is a probe that reached nothing: no route, no answer.
var ErrUnreachable = errors.New("worker not reachable from stackctl")

// HTTPProbe is the Prober of the real engine: one GET, no proxy, no
// keep-alive (a probe must not hold a connection the drain waits for).
func HTTPProbe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := probeClient.Do(req)
	if err != nil {
		// A refused connection is an answer (the app does not listen
		// yet), and so is one that connected and then failed; a dial that
		// reached nothing is not.
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" && !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("HTTP %s: %s", res.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

var probeClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	// A redirect is an answer: Consul's check does not follow it either.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// probeEvery is how often a new worker is asked while it starts: apps of
// the kind stackctl runs start in tens of milliseconds.
const probeEvery = 50 * time.Millisecond

// probeReach bounds how long a worker may be unreachable before the gate
// leaves the judgement to Consul's check (see awaitHealthy).
const probeReach = 2 * time.Second

// errProbeUnreachable is awaitHealthy's "ask Consul instead".
var errProbeUnreachable = errors.New("probe: unreachable")

// awaitHealthy probes url until it passes, deadline passes (an
// *NotPassingError naming the last answer), or, when nothing ever answered
// within probeReach, errProbeUnreachable.
func (e *Executor) awaitHealthy(ctx context.Context, id, url string, timeout, deadline time.Duration) error {
	start := time.Now()
	answered := false
	last := ""
	for {
		err := e.opts.Probe(ctx, url, timeout)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrUnreachable):
		default:
			answered = true
			last = err.Error()
		}
		if !answered && time.Since(start) >= probeReach {
			return errProbeUnreachable
		}
		if time.Since(start) >= deadline {
			return &NotPassingError{ID: id, Deadline: deadline, Status: "failing", Output: last}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(probeEvery):
		}
	}
}
