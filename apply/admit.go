package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// admit is a worker's health gate: it enters the worker's container c in
// Consul under id once it is healthy, and returns when the catalog, which
// the LB follows, serves it; since is when the registration was made, what
// a wait for the LB to follow it counts from.
//
// The gate asks the worker itself, as Consul's check will, every
// probeEvery from the moment it starts, and registers it already passing:
// waiting for Consul's first check instead would cost up to a check
// interval per batch, for the same answer. Consul's check then goes on
// judging it. Where stackctl cannot reach the worker (an engine on another
// host), the registration starts critical and Consul's check alone admits
// it (waitPassing).
func (e *Executor) admit(ctx context.Context, svc *spec.Service, slot int, id string, c *plan.Container) (time.Time, error) {
	if ip, port := e.workerAddress(svc, c); ip == "" || port == 0 {
		return time.Time{}, fmt.Errorf("container %s has no address on network %s", c.Name, e.Stack.NetworkName())
	}
	releaseSlot(ctx) // what is left is the worker's start, and Consul's work
	consul, err := e.consul.get(ctx)
	if err != nil {
		return time.Time{}, err
	}
	reg := e.workerRegistration(svc, slot, id, c)
	deadline := healthyDeadline(svc)
	switch err := e.awaitHealthy(ctx, id, reg.Check.URL, svc.Check.Timeout, deadline); {
	case err == nil:
		reg.Passing = true
	case errors.Is(err, errProbeUnreachable):
	default:
		return time.Time{}, err
	}
	since := time.Now().UTC()
	if err := consul.Register(ctx, reg); err != nil {
		return time.Time{}, fmt.Errorf("register %s: %w", id, err)
	}
	if !reg.Passing {
		return since, e.waitPassing(ctx, id, deadline)
	}
	return since, e.waitServing(ctx, reg, deadline)
}

func healthyDeadline(svc *spec.Service) time.Duration {
	if d := svc.Update.HealthyDeadline; d > 0 {
		return d
	}
	return spec.DefaultHealthyDeadline // a stack not loaded by spec
}

// waitServing waits until the catalog serves reg at its address, passing.
// The agent copies a registration to the catalog by anti-entropy, which
// Consul 1.14 sometimes holds back (see waitPassing): when the first look
// does not find it, the agent is made to sync at once.
func (e *Executor) waitServing(ctx context.Context, reg Registration, deadline time.Duration) error {
	c := e.consul.current()
	tctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	for try := 0; ; try++ {
		ok, err := c.Serving(tctx, reg.Service, reg.ID, reg.Address)
		if err == nil && ok {
			return nil
		}
		if try > 0 {
			_ = c.SyncNow(tctx, reg.ID)
		}
		select {
		case <-tctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &NotPassingError{ID: reg.ID, Deadline: deadline, Status: "not in the catalog",
				Output: "registered passing, but the catalog does not serve it at " + reg.Address}
		case <-time.After(pollInterval / 4):
		}
	}
}
