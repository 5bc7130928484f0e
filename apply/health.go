package apply

import (
	"context"
	"fmt"
	"time"

	"github.com/stackctl/stackctl/internal/lbsync"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// pollInterval is how often apply asks Consul about a check or the LB.
const pollInterval = 200 * time.Millisecond

// lbGrace lets nginx finish a reload after the LB reported the render that
// triggered it: new requests go to the new workers once this has passed.
const lbGrace = 500 * time.Millisecond

// awaitReload waits lbGrace (or until ctx ends) for nginx to switch to the
// config the LB just reported.
func awaitReload(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(lbGrace):
	}
}

// NotPassingError is a worker whose check did not pass in time.
type NotPassingError struct {
	ID       string
	Deadline time.Duration
	Status   string
	Output   string
}

func (e *NotPassingError) Error() string {
	status := e.Status
	if status == "" {
		status = "not registered"
	}
	msg := fmt.Sprintf("%s did not pass its health check within %s (status %s", e.ID, e.Deadline, status)
	if e.Output != "" {
		msg += ": " + firstLine(e.Output)
	}
	return msg + ")"
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// waitPassing waits until the registration's checks pass in the catalog,
// which is what the LB renders from. The agent runs the checks and copies
// their results to the catalog by anti-entropy, and Consul 1.14 sometimes
// holds that back: for up to 3s after a new server's election, and for
// 15-30s when a full sync met a registration in progress (docs/apply.md).
// So the gate watches the agent's own view, and once that passes, has the
// agent sync at once and confirms it in the catalog.
func (e *Executor) waitPassing(ctx context.Context, id string, deadline time.Duration) error {
	if deadline <= 0 {
		deadline = spec.DefaultHealthyDeadline // a journal's restore without one
	}
	releaseSlot(ctx)
	c := e.consul.current()
	tctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	status := ""
	for {
		if s, err := c.LocalStatus(tctx, id); err == nil {
			status = s
			if s == plan.CheckPassing {
				if cs, err := c.Status(tctx, id); err == nil && cs == plan.CheckPassing {
					return nil
				}
				_ = c.SyncNow(tctx, id) // confirmed on the next round
			}
		}
		select {
		case <-tctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &NotPassingError{ID: id, Deadline: deadline, Status: status, Output: e.checkOutput(ctx, id)}
		case <-time.After(pollInterval):
		}
	}
}

// syncWhenPassing has the agent copy a new registration's check to the
// catalog as soon as it passes, up to limit, as waitPassing does, but
// fails nothing: a registration step (a worker whose container stays, as
// after an apply killed before its Consul answered) is not a health gate,
// yet without this its check can reach the catalog, and the LB, 15-30s
// late (docs/apply.md, Known limits).
func (e *Executor) syncWhenPassing(ctx context.Context, id string, limit time.Duration) {
	releaseSlot(ctx)
	c := e.consul.current()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if s, err := c.LocalStatus(ctx, id); err == nil && s == plan.CheckPassing {
			_ = c.SyncNow(ctx, id)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollInterval):
		}
	}
}

// checkOutput is the last output of a registration's failing check.
func (e *Executor) checkOutput(ctx context.Context, id string) string {
	regs, err := e.consul.current().Registrations(ctx, e.Stack.Name)
	if err != nil {
		return ""
	}
	for _, r := range regs {
		if r.ID == id {
			return r.Output
		}
	}
	return ""
}

// deregister removes a registration and, when it was passing (so in the LB),
// waits until the LB no longer sends it new requests (waitLBMembership).
func (e *Executor) deregister(ctx context.Context, id string) error {
	c := e.consul.current()
	status, err := c.Status(ctx, id)
	if err != nil {
		return fmt.Errorf("status of %s: %w", id, err)
	}
	if err := c.Deregister(ctx, id); err != nil {
		return fmt.Errorf("deregister %s: %w", id, err)
	}
	if status == plan.CheckPassing {
		e.waitLBMembership(ctx, time.Now().UTC())
	}
	return nil
}

// waitLBMembership waits until the stack's LB routes by a change of the
// passing set made at since. How depends on the template's mode: in
// template mode the LB renders the change and reloads nginx (waitLB); in
// resolve mode (plan.LBResolve) nothing is rendered, and nginx takes the
// change from Consul's DNS within the resolver's lag. A template that does
// both gets both waits, and one that cannot be checked the render wait, as
// before there were modes.
func (e *Executor) waitLBMembership(ctx context.Context, since time.Time) {
	if !e.lbRunning(ctx) {
		return
	}
	t := e.lbTarget()
	if t.renders {
		e.waitLB(ctx, since)
	}
	if t.resolveLag > 0 {
		sleepUntil(ctx, since.Add(t.resolveLag))
	}
}

// sleepUntil waits until t, or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

// lbRunning reports whether the stack has an LB container that runs.
func (e *Executor) lbRunning(ctx context.Context) bool {
	if e.Stack.LB == nil {
		return false
	}
	lb, err := e.Docker.InspectContainer(ctx, e.Stack.LBContainerName())
	return err == nil && lb != nil && lb.Running()
}

// waitLB waits until the stack's LB has rendered after since (so without a
// registration removed before since), up to LBSettle. Without a running LB
// there is nothing to wait for. A silent LB is waited out, not an error:
// nginx retries a vanished upstream on the next one anyway.
func (e *Executor) waitLB(ctx context.Context, since time.Time) {
	if !e.lbRunning(ctx) {
		return
	}
	key := e.Stack.KVPrefix() + plan.KVLBStatus
	tctx, cancel := context.WithTimeout(ctx, e.opts.LBSettle)
	defer cancel()
	for {
		if st, ok := e.lbStatus(tctx, key); ok && st.RenderedAt.After(since) {
			break
		}
		select {
		case <-tctx.Done():
			return
		case <-time.After(pollInterval / 2):
		}
	}
	awaitReload(ctx)
}

func (e *Executor) lbStatus(ctx context.Context, key string) (lbsync.Status, bool) {
	b, ok, err := e.consul.current().KVGet(ctx, key)
	if err != nil || !ok {
		return lbsync.Status{}, false
	}
	st, err := lbsync.ParseStatus(b)
	return st, err == nil
}

// waitLBReady waits until a new LB serves a config rendered from the
// stack's template, and fails at once when nginx rejected it for good
// (judgeLBRender), quoting nginx.
func (e *Executor) waitLBReady(ctx context.Context, since time.Time, limit time.Duration) error {
	t := e.lbTarget()
	v, last, err := e.awaitLBVerdict(ctx, t, since, limit, pollInterval)
	switch {
	case err != nil:
		return err
	case v == lbRejected:
		return t.rejected(last)
	case v == lbPending && last.Error != "":
		return fmt.Errorf("load balancer not ready within %s: %s", limit, last.Error)
	case v == lbPending && last.RenderedAt.IsZero():
		return fmt.Errorf("load balancer not ready within %s: no status at %s", limit, t.key)
	case v == lbPending:
		return fmt.Errorf("load balancer not ready within %s: its last status at %s, rendered at %s, is from before it started or of another template",
			limit, t.key, last.RenderedAt.Format(time.RFC3339Nano))
	}
	return e.waitLBInstances(ctx, t, since)
}

// lbInstancesWait bounds the wait for a new LB to see every worker.
const lbInstancesWait = 15 * time.Second

// waitLBInstances waits (a little) until the LB renders with every desired
// worker, so that an apply ends with all of them behind it. A template that
// reads fewer instances is not an error: the wait just ends. A render with
// the workers in that nginx rejects is: the LB would go on serving the
// config it had without them. In resolve mode nothing renders the workers:
// nginx looks them up itself, within the resolver's lag.
func (e *Executor) waitLBInstances(ctx context.Context, t lbTarget, since time.Time) error {
	if !t.renders {
		sleepUntil(ctx, time.Now().Add(t.resolveLag))
		return nil
	}
	want := 0
	for _, svc := range e.Stack.Services {
		want += svc.Replicas
	}
	tctx, cancel := context.WithTimeout(ctx, lbInstancesWait)
	defer cancel()
	for {
		if st, ok := e.lbStatus(tctx, t.key); ok {
			if judgeLBRender(st, since, t.sum, t.expected) == lbRejected {
				return t.rejected(st)
			}
			if st.OK && st.Instances >= want {
				if st.Reloads > 0 {
					// The config with every worker came by a reload (a new
					// LB of a first apply renders workers as they pass):
					// nginx needs a moment to switch to it.
					awaitReload(ctx)
				}
				return nil
			}
		}
		select {
		case <-tctx.Done():
			return nil
		case <-time.After(pollInterval / 2):
		}
	}
}
