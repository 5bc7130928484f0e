package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// operation is a step ready to run: its undo, computed from live state
// before anything changes, and the change itself.
type operation struct {
	undo *Undo
	do   func(ctx context.Context) error
}

// ErrUnsupported is a step this version of apply cannot carry out.
var ErrUnsupported = errors.New("not supported by this version of stackctl apply")

// operation prepares a step. It only reads.
func (e *Executor) operation(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	if st.destroy {
		return e.destroyOp(ctx, st, step)
	}
	switch step.Kind {
	case plan.KindNetwork:
		return e.networkOp(step)
	case plan.KindConsul:
		return e.consulOp(ctx, st, step)
	case plan.KindLB:
		// Waiting for a Consul that is still electing itself holds no
		// pool slot; the one container the LB step then creates may go
		// one over the bound.
		releaseSlot(ctx)
		if _, err := e.consul.get(ctx); err != nil {
			return nil, err
		}
		return e.lbOp(ctx, st, step)
	case plan.KindReconcile:
		return e.reconcileOp(ctx, st, step)
	case plan.KindImage:
		return e.imageOp(ctx, step)
	case plan.KindWorker:
		return e.workerOp(ctx, st, step)
	case plan.KindRegistration:
		return e.registrationOp(ctx, st, step)
	case plan.KindTemplate:
		releaseSlot(ctx) // Consul's work only, no Docker's
		return e.templateOp(ctx, st, step)
	}
	return nil, fmt.Errorf("%s %s: kind %s: %w", step.Action, step.Target, step.Kind, ErrUnsupported)
}

func unsupported(step plan.Step) error {
	return fmt.Errorf("%s of %s %s: %w", step.Action, step.Kind, step.Target, ErrUnsupported)
}

// labels adds the apply's label to an object's labels.
func (e *Executor) labels(base map[string]string) map[string]string {
	out := maps.Clone(base)
	out[LabelApply] = e.opts.ApplyID
	return out
}

func (e *Executor) networkOp(step plan.Step) (*operation, error) {
	switch step.Action {
	case plan.ActionCreate:
		return &operation{
			undo: &Undo{Op: UndoNetwork, Name: step.Target},
			do: func(ctx context.Context) error {
				_, err := e.Docker.CreateNetwork(ctx, step.Target, e.labels(plan.NetworkLabels(e.Stack)))
				if errors.Is(err, ErrNameConflict) && e.adoptNetwork(ctx, step) {
					return nil
				}
				if err != nil {
					return fmt.Errorf("create network %s: %w%s", step.Target, err, conflictHint(err))
				}
				return nil
			},
		}, nil
	case plan.ActionDestroy:
		// Removed at the end, once no container of the stack is left on it.
		return &operation{undo: &Undo{Op: UndoNone, Name: step.Target}, do: func(context.Context) error { return nil }}, nil
	}
	return nil, unsupported(step)
}

// adoptNetwork takes on the stack's network when it appeared after the plan
// was made: the create of an apply killed a moment before this one began
// lands late, with no other trace this apply could have waited for (no
// lock, no container yet). The network is the stack's by its label, and
// empty; this apply did not create it, so its undo no longer removes it.
// A live apply creating the same stack at once is still refused, at its
// Consul container (conflictHint), before anything is attached here.
func (e *Executor) adoptNetwork(ctx context.Context, step plan.Step) bool {
	n, err := e.Docker.InspectNetwork(ctx, step.Target)
	if err != nil || n == nil || n.Labels[spec.LabelStack] != e.Stack.Name {
		return false
	}
	// No Name: a network step's UndoNone with its name is a destroy's,
	// which removeKept carries out.
	v := e.journal.set(step.ID, plan.JournalRunning, &Undo{Op: UndoNone}, "")
	if err := e.journal.flushVersion(ctx, e.consul.current(), v); err != nil {
		return false
	}
	e.opts.Progress.Note(fmt.Sprintf("network %s appeared after the plan was made (an interrupted apply's create landing late); using it", step.Target))
	return true
}

// conflictHint explains a name clash on a first apply: another apply of the
// same stack is creating it right now.
func conflictHint(err error) string {
	if errors.Is(err, ErrNameConflict) {
		return " (another apply of this stack may be running: on a first apply the lock can only be taken once Consul runs)"
	}
	return ""
}

func (e *Executor) templateOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	c, err := e.consul.get(ctx)
	if err != nil {
		return nil, err
	}
	prev, ok, err := c.KVGet(ctx, step.Target)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", step.Target, err)
	}
	undo := &Undo{Op: UndoKV, Name: step.Target}
	if ok {
		s := string(prev)
		undo.Value = &s
	}
	switch step.Action {
	case plan.ActionCreate, plan.ActionRender:
		if e.Stack.LB == nil {
			return nil, unsupported(step)
		}
		src := []byte(e.Stack.LB.TemplateSource)
		return &operation{undo: undo, do: func(ctx context.Context) error {
			served := e.lbServes(ctx)
			since := time.Now().UTC()
			if err := c.KVPut(ctx, step.Target, src); err != nil {
				return err
			}
			// Written is not served: the LB renders it, nginx -t may
			// reject it, and then nginx keeps the old config.
			return e.waitLBTemplate(ctx, st, since, served)
		}}, nil
	case plan.ActionDestroy:
		return &operation{undo: undo, do: func(ctx context.Context) error {
			return c.KVDelete(ctx, step.Target)
		}}, nil
	}
	return nil, unsupported(step)
}

func (e *Executor) imageOp(ctx context.Context, step plan.Step) (*operation, error) {
	if step.Action == plan.ActionPull {
		return nil, fmt.Errorf("image %s is not present locally and stackctl never pulls (no registry): build it first (for the reference images: make images)", step.Target)
	}
	if step.Action == plan.ActionCopy {
		return e.copyImageOp(ctx, step)
	}
	if step.Action != plan.ActionBuild {
		return nil, unsupported(step)
	}
	svc := e.Stack.Service(step.Service)
	if svc == nil || svc.Build == nil {
		return nil, fmt.Errorf("build %s: service %q has no build section", step.Target, step.Service)
	}
	prev, err := e.Docker.InspectImage(ctx, step.Target)
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", step.Target, err)
	}
	undo := &Undo{Op: UndoImage, Name: step.Target}
	if prev != nil {
		undo.ImageID = prev.ID
	}
	return &operation{undo: undo, do: func(ctx context.Context) error {
		hash, err := plan.ContextHash(svc.Build.Context)
		if err != nil {
			return err
		}
		dockerfile := svc.Build.Dockerfile
		if dockerfile == "" {
			dockerfile = "Dockerfile"
		}
		_, err = e.Docker.BuildImage(ctx, BuildSpec{
			Context: svc.Build.Context, Dockerfile: dockerfile, Tag: step.Target,
			Labels: e.labels(plan.ImageBuildLabels(e.Stack, hash)),
		})
		if err != nil {
			return fmt.Errorf("build %s from %s: %w", step.Target, svc.Build.Context, err)
		}
		return nil
	}}, nil
}

func (e *Executor) registrationOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	c, err := e.consul.get(ctx)
	if err != nil {
		return nil, err
	}
	prev, err := c.Registration(ctx, step.Target)
	if err != nil {
		return nil, fmt.Errorf("read registration %s: %w", step.Target, err)
	}
	undo := &Undo{Op: UndoRegistration, Name: step.Target, Registration: prev}
	switch step.Action {
	case plan.ActionDeregister:
		return &operation{undo: undo, do: func(ctx context.Context) error {
			return e.deregister(ctx, step.Target)
		}}, nil
	case plan.ActionRegister, plan.ActionUpdate:
		svc := e.Stack.Service(step.Service)
		if svc == nil {
			return nil, unsupported(step)
		}
		return &operation{undo: undo, do: func(ctx context.Context) error {
			ctr, err := e.Docker.InspectContainer(ctx, step.Target)
			if err != nil || ctr == nil {
				return fmt.Errorf("register %s: its container: %v", step.Target, orMissing(err))
			}
			status, _ := c.Status(ctx, step.Target)
			reg := e.workerRegistration(svc, step.Slot, step.Target, ctr)
			reg.Passing = status == plan.CheckPassing
			if err := c.Register(ctx, reg); err != nil {
				return err
			}
			if !reg.Passing {
				e.syncWhenPassing(ctx, step.Target, min(svc.Update.HealthyDeadline, e.opts.LBSettle))
			}
			return nil
		}}, nil
	}
	return nil, unsupported(step)
}

func orMissing(err error) error {
	if err == nil {
		return errors.New("does not exist")
	}
	return err
}
