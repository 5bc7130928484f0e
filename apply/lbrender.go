package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stackctl/stackctl/internal/lbsync"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// lbTemplateWait bounds the wait for a running LB to render a template
// apply has just written; it answers within a quiescence window (at most
// 2s) and an nginx -t.
const lbTemplateWait = 30 * time.Second

// LBRejectedError is a config the LB rendered from the stack's template and
// nginx -t rejected: nginx serves what it served before, so the step fails
// at once and the apply rolls back.
type LBRejectedError struct {
	Template  string // the template's KV key
	Instances int    // the passing instances the rejected render held
	Serving   bool   // nginx serves a previous config (else it never started)
	Message   string // the LB's status error: nginx -t's verdict
}

func (e *LBRejectedError) Error() string {
	kept := "nginx keeps its previous config"
	if !e.Serving {
		kept = "nginx was not started"
	}
	return fmt.Sprintf("the load balancer rejected the config rendered from the new template %s (with %d instances; %s): %s",
		e.Template, e.Instances, kept, e.Message)
}

// lbVerdict is what an LB status says about the template apply wrote.
type lbVerdict int

const (
	lbPending  lbVerdict = iota // no render of it since, or not a final answer yet
	lbServing                   // rendered, and nginx serves the result
	lbRejected                  // nginx rejected it, whatever instances come
)

// judgeLBRender reads an LB status for the template whose hash is want,
// written at since. A rejection is final when the rejected render held at
// least one instance, or when the template reads none even with every
// worker passing (expected 0): a render with no instance yet (a new LB
// whose workers do not pass yet) may be rejected only for its empty
// upstream, and the workers' arrival renders again. An LB too old to
// report template_sha256 is taken at its word for any render since (and
// never judged rejected), as apply did before.
func judgeLBRender(st lbsync.Status, since time.Time, want string, expected int) lbVerdict {
	if !st.RenderedAt.After(since) {
		return lbPending
	}
	if st.TemplateSHA256 == "" {
		if st.OK && st.ConfigSHA256 != "" {
			return lbServing
		}
		return lbPending
	}
	switch {
	case st.TemplateSHA256 != want:
		return lbPending
	case st.OK && st.ConfigSHA256 != "":
		return lbServing
	case st.Rejected && (st.Instances > 0 || expected == 0):
		return lbRejected
	}
	return lbPending
}

// lbTarget is what the LB waits judge against: the stack's template, and
// how many instances it reads once every worker passes.
type lbTarget struct {
	key      string // the status key
	template string // the template's KV key, for messages
	sum      string
	expected int
	// renders: the LB renders (and reloads nginx) when workers come and
	// go. Only a template in resolve mode that reads no service does not.
	renders bool
	// resolveLag bounds how long nginx takes to follow Consul by DNS in
	// resolve mode (plan.LBResolve.Lag); 0 in template mode.
	resolveLag time.Duration
}

func (e *Executor) lbTarget() lbTarget {
	e.lbTargetOnce.Do(func() { e.lbTargetVal = newLBTarget(e.Stack) })
	return e.lbTargetVal
}

func newLBTarget(s *spec.Stack) lbTarget {
	t := lbTarget{key: s.KVPrefix() + plan.KVLBStatus, template: s.KVPrefix() + plan.KVLBTemplate, renders: true}
	if s.LB != nil {
		t.sum = lbsync.TemplateSum(s.LB.TemplateSource)
		if c := plan.CheckLBTemplate(s); c != nil {
			t.expected = c.Instances
			if c.Resolve != nil && c.Error == "" {
				t.resolveLag = c.Resolve.Lag()
				t.renders = c.RendersMembership()
			}
		}
	}
	return t
}

func (t lbTarget) rejected(st lbsync.Status) error {
	return &LBRejectedError{Template: t.template, Instances: st.Instances, Serving: st.ConfigSHA256 != "", Message: st.Error}
}

// waitLBTemplate waits until the running LB has rendered the template
// written at since and nginx serves the result (served is the config it
// served before), and fails as soon as nginx
// rejected it (judgeLBRender). Without a running LB there is nothing to
// wait for; a plan that also replaces, starts or removes the LB has that
// step check the new one instead, since the old one may reject a template
// meant for another form.
func (e *Executor) waitLBTemplate(ctx context.Context, st *runState, since time.Time, served string) error {
	if e.Stack.LB == nil || st.lbChanges {
		return nil
	}
	lb, err := e.Docker.InspectContainer(ctx, e.Stack.LBContainerName())
	if err != nil || lb == nil || !lb.Running() {
		return nil
	}
	t := e.lbTarget()
	v, last, err := e.awaitLBVerdict(ctx, t, since, lbTemplateWait, pollInterval/2)
	switch {
	case err != nil:
		return err
	case v == lbRejected:
		return t.rejected(last)
	case v == lbPending:
		return notRendered(lbTemplateWait, t, last)
	}
	if last.ConfigSHA256 != served {
		awaitReload(ctx) // nginx switches to the new config
	}
	return nil
}

// awaitLBVerdict reads the LB's status every period until judgeLBRender
// gives a final verdict on t's template rendered after since, or limit
// passes. It returns the verdict and the status it came from; when time ran
// out, lbPending and the last status read (zero if none), or ctx's error
// when ctx itself ended.
func (e *Executor) awaitLBVerdict(ctx context.Context, t lbTarget, since time.Time, limit, period time.Duration) (lbVerdict, lbsync.Status, error) {
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last lbsync.Status
	for {
		if st, ok := e.lbStatus(tctx, t.key); ok {
			last = st
			if v := judgeLBRender(st, since, t.sum, t.expected); v != lbPending {
				return v, st, nil
			}
		}
		select {
		case <-tctx.Done():
			return lbPending, last, ctx.Err()
		case <-time.After(period):
		}
	}
}

func notRendered(limit time.Duration, t lbTarget, last lbsync.Status) error {
	msg := fmt.Sprintf("the load balancer did not serve a render of the new template %s within %s", t.template, limit)
	switch {
	case last.Error != "":
		return errors.New(msg + ": " + last.Error)
	case last.RenderedAt.IsZero():
		return errors.New(msg + ": no status at " + t.key)
	}
	return fmt.Errorf("%s: its last render, at %s, was of template sha256 %.12s", msg, last.RenderedAt.Format(time.RFC3339), last.TemplateSHA256)
}

// lbServes is the config_sha256 the LB reports serving now ("" when unknown).
func (e *Executor) lbServes(ctx context.Context) string {
	st, _ := e.lbStatus(ctx, e.Stack.KVPrefix()+plan.KVLBStatus)
	return st.ConfigSHA256
}

// changesLB reports whether p creates, replaces, starts or removes the LB
// container.
func changesLB(p *plan.Plan) bool {
	for _, s := range p.Steps {
		if s.Kind == plan.KindLB {
			return true
		}
	}
	return false
}
