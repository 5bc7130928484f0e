package apply

import (
	"context"
	"fmt"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// lbReadyTimeout bounds the wait for a new LB to serve its first config.
const lbReadyTimeout = 60 * time.Second

// ConsulCommand is the managed Consul server's command: a single server
// that elects itself, with the UI, reachable on every interface of its
// container. raft_multiplier 1 makes a lone server lead in about a second
// instead of several.
//
// enable_truncate is for an LB in resolve mode: Consul's DNS answers a UDP
// query with at most 3 records (dns_config.udp_answer_limit, and never more
// than 512 bytes) and, without it, does not say the answer was cut, so
// nginx would balance over 3 workers of 20 at a time. With the TC bit set
// nginx asks again over TCP, where Consul answers with every passing
// instance. The command is not in the container's config hash: a Consul
// made before this keeps answering 3 until the stack is destroyed and
// applied again.
func ConsulCommand(s *spec.Stack) []string {
	return []string{"agent", "-server", "-bootstrap-expect=1", "-client=0.0.0.0", "-ui",
		"-data-dir=" + ConsulDataDir, "-node=" + s.ConsulContainerName(),
		"-hcl=performance { raft_multiplier = 1 }",
		"-hcl=dns_config { enable_truncate = true }"}
}

// LBCommand is the LB container's command: stackctl's template sync
// supervising nginx (see cmd/stackctl/lb.go). It renders to conf.d (the
// flag's default) or, for a whole-nginx.conf template, to nginx.conf.
func LBCommand(s *spec.Stack) []string {
	cmd := []string{"stackctl", "lb", "run",
		"--consul", plan.LBConsulAddress(s),
		"--template-key", s.KVPrefix() + plan.KVLBTemplate,
		"--status-key", s.KVPrefix() + plan.KVLBStatus}
	if s.LB != nil && s.LB.WholeConfig() {
		// The template is all of nginx.conf; nginx -t checks that file.
		cmd = append(cmd, "--out", plan.LBConfigPath(s.LB))
	}
	if s.MultiHost() {
		// Consul's DNS answers with its default token, which reads nothing
		// under default deny: the LB answers nginx's queries itself. The
		// flag is not in the LB's hash (which, by design, is the same with
		// hosts as without): an LB made before it keeps its command until
		// it is replaced for another reason.
		cmd = append(cmd, "--dns", plan.LBDNSAddress)
	}
	return append(cmd, "--", "nginx", "-g", "daemon off;")
}

// consulSpec is the managed single-host Consul server's container. Its data
// (raft log, KV, registrations) is in a named volume, not in the
// container's own filesystem: on an engine whose storage driver is
// fuse-overlayfs every raft write and fsync went through a FUSE process,
// which made Consul's share of a destroy of 200 workers (200
// deregistrations, then their catalog sync) cost some 3 s of the engine's
// time (docs/apply.md, destroy). The volume lives and dies with the
// container: a created server starts on an empty one (consulOp, create), and
// destroy and rollback remove it. A server made before it kept its data in
// /tmp/consul and keeps running as it is: the data dir is not in the hash.
func (e *Executor) consulSpec() ContainerSpec {
	s := e.Stack
	return ContainerSpec{
		Name: s.ConsulContainerName(), Image: s.Consul.Image, Cmd: ConsulCommand(s),
		Labels: e.labels(plan.ConsulLabels(s)), Network: s.NetworkName(), Ports: s.Consul.Ports,
		Restart: "unless-stopped",
		Volumes: []VolumeMount{{Name: s.ConsulDataVolume(), Target: ConsulDataDir, Labels: plan.VolumeLabels(s)}},
	}
}

func (e *Executor) lbSpec() ContainerSpec {
	s := e.Stack
	return ContainerSpec{
		Name: s.LBContainerName(), Image: s.LB.Image, Cmd: LBCommand(s),
		Labels: e.labels(plan.LBLabels(s)), Network: s.NetworkName(), Ports: s.LB.Ports,
		StopTimeout: 30 * time.Second, Restart: "unless-stopped",
	}
}

func (e *Executor) consulOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	if step.Host != "" && step.Action != plan.ActionDestroy && step.Action != plan.ActionStart {
		return e.consulAgentOp(ctx, st, step)
	}
	switch step.Action {
	case plan.ActionDestroy:
		return e.destroyContainerOp(ctx, st, step)
	case plan.ActionCreate:
		r := &Restore{Role: plan.RoleConsul, Name: step.Target}
		return &operation{undo: &Undo{Op: UndoContainer, Restore: r}, do: func(ctx context.Context) error {
			// A new server starts empty, as one without a volume did:
			// data left by a server removed by hand or a destroy that
			// could not finish would bring back an old journal and old
			// registrations the plan knows nothing of.
			if err := e.removeConsulVolume(ctx); err != nil {
				e.consul.fail(err)
				return err
			}
			if _, err := e.runContainer(ctx, e.consulSpec()); err != nil {
				e.consul.fail(err)
				return err
			}
			// New workers are created while Consul elects itself; they
			// wait for it only to register.
			e.connectInBackground(ctx)
			return nil
		}}, nil
	case plan.ActionStart:
		old := st.before.ContainerOn(step.Target, step.Host)
		if old == nil {
			return nil, fmt.Errorf("start %s: container not found", step.Target)
		}
		r := &Restore{Role: plan.RoleConsul, Name: old.Name, OldID: old.ID, OldRunning: false}
		return &operation{undo: &Undo{Op: UndoContainer, Restore: r}, do: func(ctx context.Context) error {
			if err := e.Docker.StartContainer(ctx, old.ID); err != nil {
				e.consul.fail(err)
				return err
			}
			e.connectInBackground(ctx)
			return nil
		}}, nil
	}
	// Replacing the server would lose every registration and key it holds.
	return nil, fmt.Errorf("%s of the Consul container %s (%s): %w; remove it with `stackctl destroy` and apply again",
		step.Action, step.Target, step.Reason, ErrUnsupported)
}

func (e *Executor) lbOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	if step.Action == plan.ActionDestroy {
		return e.destroyContainerOp(ctx, st, step)
	}
	if e.Stack.LB == nil {
		return nil, unsupported(step)
	}
	old := st.before.ContainerOn(step.Target, step.Host)
	r := &Restore{Role: plan.RoleLB, Name: step.Target}
	if old != nil {
		r.OldID, r.OldRunning = old.ID, old.Running()
	}
	undo := &Undo{Op: UndoContainer, Restore: r}
	switch {
	case step.Action == plan.ActionCreate && old == nil:
		return &operation{undo: undo, do: func(ctx context.Context) error { return e.createLB(ctx) }}, nil
	case step.Action == plan.ActionStart && old != nil:
		return &operation{undo: undo, do: func(ctx context.Context) error {
			since := time.Now().UTC()
			if err := e.Docker.StartContainer(ctx, old.ID); err != nil {
				return fmt.Errorf("start %s: %w", old.Name, err)
			}
			// A start a killed apply sent can land after this apply
			// observed the LB as created: it then runs already, and
			// rendered before since. A render by the running LB counts.
			if c, err := e.Docker.InspectContainer(ctx, old.ID); err == nil && c != nil &&
				!c.StartedAt.IsZero() && c.StartedAt.Before(since) {
				since = c.StartedAt
			}
			return e.waitLBReady(ctx, since, lbReadyTimeout)
		}}, nil
	case step.Action == plan.ActionReplace && old != nil:
		// The host port is the old LB's until it stops: a short gap, the
		// only one in an apply, and only when the LB itself changes.
		r.Discard = true
		return &operation{undo: undo, do: func(ctx context.Context) error {
			if err := e.retire(ctx, old); err != nil {
				return err
			}
			return e.createLB(ctx)
		}}, nil
	}
	return nil, unsupported(step)
}

// createLB runs a new LB and waits until it serves. Its template is in
// Consul already (the plan makes the LB step depend on the template step).
// In a first apply the workers start beside it: it renders them as they
// pass, and is ready once it serves them all (waitLBReady).
func (e *Executor) createLB(ctx context.Context) error {
	since := time.Now().UTC()
	cs := e.lbSpec()
	if e.Stack.MultiHost() {
		var err error
		if cs, err = e.lbOnHosts(cs); err != nil {
			return err
		}
	}
	if _, err := e.runContainer(ctx, cs); err != nil {
		return err
	}
	releaseSlot(ctx)
	return e.waitLBReady(ctx, since, lbReadyTimeout)
}
