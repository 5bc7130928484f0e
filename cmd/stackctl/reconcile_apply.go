package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/reconcile"
	"github.com/stackctl/stackctl/spec"
)

// reconcileDeployer is the agent's reconcile.Deployer: plan reads live
// state as `stackctl plan` does (with one Docker client and a Consul
// client per address for the agent's whole run), and apply is apply's own
// path (applyStack: lock, journal, rollback), auto-approved, its progress
// written as log lines.
type reconcileDeployer struct {
	log         io.Writer
	observer    *plan.Observer
	lockTimeout time.Duration
	parallelism int
}

var _ reconcile.Deployer = (*reconcileDeployer)(nil)

func newReconcileDeployer(log io.Writer, docker *dockerapi.Client, pool *consulapi.Pool, o reconcileOptions) *reconcileDeployer {
	return &reconcileDeployer{
		log: log,
		observer: &plan.Observer{
			Docker: docker, DockerAt: docker.Endpoint(), Consul: pool.Dial, ConsulAddr: os.Getenv("CONSUL_HTTP_ADDR"),
		},
		lockTimeout: o.lockTimeout,
		parallelism: o.parallelism,
	}
}

// Plan is what an apply of st would change now.
func (d *reconcileDeployer) Plan(ctx context.Context, st *spec.Stack) (*plan.Plan, error) {
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	state, err := d.observer.Observe(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("cannot read the live state of stack %s: %w", st.Name, err)
	}
	return plan.Compute(st, state), nil
}

// Apply applies st as `stackctl apply --auto-approve` does.
func (d *reconcileDeployer) Apply(ctx context.Context, st *spec.Stack) reconcile.Outcome {
	if err := undoStressLeftovers(ctx, d.log, st); err != nil {
		return reconcile.Outcome{Result: plan.ResultError, Err: err}
	}
	view := &reconcileView{out: d.log}
	o := applyOptions{autoApprove: true, lock: true, lockTimeout: d.lockTimeout, parallelism: d.parallelism}
	err := applyStack(ctx, nil, d.log, view, st, o, nil, "")
	return view.outcome(err)
}

// reconcileView shows an apply the agent makes as log lines and keeps what
// the agent records of it: the plan carried out and the report.
type reconcileView struct {
	out    io.Writer // a logLines
	plan   *plan.Plan
	report *apply.Report
}

var _ applyView = (*reconcileView)(nil)

func (v *reconcileView) StepStarted(st plan.Step) {
	fmt.Fprintf(v.out, "start   %s %s\n", st.Action, st.ID)
}

func (v *reconcileView) StepFinished(st plan.Step, elapsed time.Duration, err error) {
	d := elapsed.Round(100 * time.Millisecond)
	if err != nil {
		fmt.Fprintf(v.out, "  ✗ FAILED %s %s (%s): %v\n", st.Action, st.ID, d, err)
		return
	}
	fmt.Fprintf(v.out, "  ✓ %s %s (%s)\n", st.Action, st.ID, d)
}

func (v *reconcileView) StepUndone(id string, elapsed time.Duration, err error) {
	d := elapsed.Round(100 * time.Millisecond)
	if err != nil {
		fmt.Fprintf(v.out, "  ✗ FAILED undo %s (%s): %v\n", id, d, err)
		return
	}
	fmt.Fprintf(v.out, "  ↺ undone %s (%s)\n", id, d)
}

func (v *reconcileView) Note(msg string) { fmt.Fprintln(v.out, msg) }

func (v *reconcileView) showPlan(p *plan.Plan) error {
	v.plan = p
	return views.Human(v.out, p, false)
}

func (v *reconcileView) showRecovered(r *apply.Report) {
	if r.Err != nil {
		_ = r.Write(v.out)
		return
	}
	if r.Recovered == apply.RecoveredRolledBack {
		fmt.Fprintf(v.out, "Rolled back the unfinished %s: %d step(s) undone.\n", trimRecover(r.Operation), len(r.RolledBack))
	}
}

func (v *reconcileView) starting() {}

func (v *reconcileView) showReport(r *apply.Report) error {
	v.report = r
	return r.Write(v.out)
}

// failure is the report's error: the agent records it.
func (v *reconcileView) failure(r *apply.Report) error { return r.Err }

func (v *reconcileView) stop() {}

// outcome is how the apply ended, from what applyStack returned and what
// the view saw.
func (v *reconcileView) outcome(err error) reconcile.Outcome {
	out := reconcile.Outcome{Plan: v.plan, Err: err}
	var exit *exitError
	if errors.As(err, &exit) && exit.err != nil {
		out.Err = exit.err
	}
	switch {
	case err == nil && (v.plan == nil || v.plan.Empty()):
		out.Result = plan.ResultNoChanges
	case err == nil:
		out.Result = plan.ResultApplied
	case v.report != nil && v.report.Restored:
		// As apply's exit code 3: the rollback put the stack back as it
		// was. A pause, or a rollback that failed, is an error: the stack
		// is not known to be whole.
		out.Result, out.Err = plan.ResultRolledBack, v.report.Err
	default:
		out.Result = plan.ResultError
	}
	return out
}
