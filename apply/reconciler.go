package apply

import (
	"context"
	"fmt"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// EnvReconciler is set in the reconcile agent's container to the name of
// the stack it belongs to. `stackctl reconcile` reads it to know it runs as
// that stack's own agent, whose plans leave its container alone
// (spec.Stack.InAgent).
const EnvReconciler = "STACKCTL_RECONCILER"

// DockerSocket is where the agent's container finds the Docker engine: the
// engine's own socket on its host, mounted at the same path.
const DockerSocket = "/var/run/docker.sock"

// ReconcileCache is the agent's git cache in its container (the image
// has the folder). It goes with the container: a new agent fetches again.
const ReconcileCache = "/var/cache/stackctl"

// reconcileStopTimeout is how long `docker stop` gives the agent: an apply
// it is cut short in is rolled back first (docs/reconcile.md).
const reconcileStopTimeout = 120 * time.Second

// ReconcileCommand is the agent container's command: `stackctl reconcile`
// following the stack file's reconcile section.
func ReconcileCommand(s *spec.Stack) []string {
	r := s.Reconcile
	cmd := []string{"stackctl", "reconcile", "--repo", r.Repo, "--ref", r.Ref, "--path", r.Path,
		"--interval", r.Interval.String(), "--cache", ReconcileCache}
	if r.Env != "" {
		cmd = append(cmd, "--env", r.Env)
	}
	if r.SSHKey != "" {
		cmd = append(cmd, "--ssh-key", r.SSHKey)
	}
	if r.KnownHosts != "" {
		cmd = append(cmd, "--known-hosts", r.KnownHosts)
	}
	return cmd
}

// ReconcileMounts are the agent's bind mounts: the Docker socket, and the
// host's files it names (a local repository, the ssh key, known_hosts)
// read-only at the paths the stack file gives, so that the stack file the
// agent loads names them as they are.
func ReconcileMounts(s *spec.Stack) []Mount {
	r := s.Reconcile
	mounts := []Mount{{Source: DockerSocket, Target: DockerSocket}}
	for _, p := range []string{r.LocalRepo(), r.SSHKey, r.KnownHosts} {
		if p != "" {
			mounts = append(mounts, Mount{Source: p, Target: p, ReadOnly: true})
		}
	}
	return mounts
}

// ReconcileEnv is the agent's environment: who it is, and where the
// stack's Consul is, by its container name on the stack network (or the
// stack's consul.address).
func ReconcileEnv(s *spec.Stack) []string {
	return []string{EnvReconciler + "=" + s.Name, "CONSUL_HTTP_ADDR=" + plan.LBConsulAddress(s)}
}

func (e *Executor) reconcileSpec() ContainerSpec {
	s := e.Stack
	return ContainerSpec{
		Name: s.ReconcileContainerName(), Image: s.Reconcile.Image, Cmd: ReconcileCommand(s),
		Env: ReconcileEnv(s), Labels: e.labels(plan.ReconcileLabels(s)), Network: s.NetworkName(),
		Mounts: ReconcileMounts(s), StopTimeout: reconcileStopTimeout, Restart: "unless-stopped",
	}
}

// reconcileOp runs a step of the stack's reconcile agent. Nothing waits
// for the agent to be ready: it is last, and the stack works without it.
func (e *Executor) reconcileOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	if step.Action == plan.ActionDestroy {
		return e.destroyContainerOp(ctx, st, step)
	}
	if e.Stack.Reconcile == nil || e.Stack.InAgent {
		return nil, unsupported(step)
	}
	old := st.before.ContainerOn(step.Target, step.Host)
	r := &Restore{Role: plan.RoleReconcile, Name: step.Target}
	if old != nil {
		r.OldID, r.OldRunning = old.ID, old.Running()
	}
	undo := &Undo{Op: UndoContainer, Restore: r}
	create := func(ctx context.Context) error {
		_, err := e.runContainer(ctx, e.reconcileSpec())
		return err
	}
	switch {
	case step.Action == plan.ActionCreate && old == nil:
		return &operation{undo: undo, do: create}, nil
	case step.Action == plan.ActionStart && old != nil:
		return &operation{undo: undo, do: func(ctx context.Context) error {
			if err := e.Docker.StartContainer(ctx, old.ID); err != nil {
				return fmt.Errorf("start %s: %w", old.Name, err)
			}
			return nil
		}}, nil
	case step.Action == plan.ActionReplace && old != nil:
		r.Discard = true
		return &operation{undo: undo, do: func(ctx context.Context) error {
			if err := e.retireAgent(ctx, old); err != nil {
				return err
			}
			return create(ctx)
		}}, nil
	}
	return nil, unsupported(step)
}

// retireAgent stops the old agent, giving an apply it may be in the time
// to roll back, and keeps it aside until the apply has succeeded.
func (e *Executor) retireAgent(ctx context.Context, old *plan.Container) error {
	ctx, err := dockerCall(ctx)
	if err != nil {
		return err
	}
	if err := e.Docker.StopContainer(ctx, old.ID, reconcileStopTimeout); err != nil {
		return fmt.Errorf("stop %s: %w", old.Name, err)
	}
	return e.setAside(ctx, old)
}
