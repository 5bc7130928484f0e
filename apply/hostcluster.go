package apply

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// serverRunning reports whether a Consul server of a stack with hosts runs,
// as observed.
func serverRunning(s *spec.Stack, observed *plan.State) bool {
	for _, host := range s.Consul.Servers {
		if c := observed.Container(s.ConsulAgentName(host)); c != nil && c.Running() {
			return true
		}
	}
	return false
}

// agentAddress is the HTTP address of the Consul agent on host h.
func agentAddress(h *spec.Host) string {
	return net.JoinHostPort(h.Address, strconv.Itoa(consulHTTPPort))
}

// serverAddress is the HTTP address of the first Consul server whose
// container runs: the cluster is reached through it.
func (e *Executor) serverAddress(ctx context.Context) (string, error) {
	for _, host := range e.Stack.Consul.Servers {
		h := e.Stack.Host(host)
		if h == nil {
			continue
		}
		c, err := e.Docker.InspectContainer(withHost(ctx, host), e.Stack.ConsulAgentName(host))
		if err == nil && c != nil && c.Running() {
			return agentAddress(h), nil
		}
	}
	return "", fmt.Errorf("no Consul server of stack %s runs (servers on %v)", e.Stack.Name, e.Stack.Consul.Servers)
}

// clusterConsul wraps the client of one server's agent into the stack's
// Consul: the cluster for the catalog, KV and sessions, each host's own
// agent for its registrations.
func (e *Executor) clusterConsul(ctx context.Context, c Consul) (Consul, error) {
	addrs := make(map[string]string, len(e.Stack.Hosts))
	for _, h := range e.Stack.Hosts {
		addrs[h.Name] = agentAddress(h)
	}
	e.regMu.Lock()
	where := e.regHosts
	e.regMu.Unlock()
	return newHostConsul(c, e.Dial, addrs, where, e.opts.ConsulReady), nil
}

// seeRegistrations remembers which host's agent holds each registration,
// as observed, for the agent calls of a stack with hosts.
func (e *Executor) seeRegistrations(observed *plan.State) {
	if observed == nil || !e.Stack.MultiHost() {
		return
	}
	where := map[string]string{}
	for _, r := range observed.Consul.Registrations {
		if r.Host != "" {
			where[r.ID] = r.Host
		}
	}
	e.regMu.Lock()
	e.regHosts = where
	e.regMu.Unlock()
}

// ClusterAdmin is what apply needs of a stack with hosts' Consul beyond
// Consul: its secrets and ACLs (docs/multihost.md, "The Consul cluster as
// built"). internal/consulapi's client has it.
type ClusterAdmin interface {
	ReadSecrets(ctx context.Context, s *spec.Stack) (*ClusterSecrets, error)
	StoreSecrets(ctx context.Context, s *spec.Stack, sec ClusterSecrets) error
	SetupACL(ctx context.Context, s *spec.Stack, sec ClusterSecrets) error
	WaitCluster(ctx context.Context, servers int, timeout time.Duration) error
}

// ErrNoManagementToken: a stack with hosts runs Consul with ACLs, and
// CONSUL_HTTP_TOKEN is its management token.
var ErrNoManagementToken = errors.New("a stack with hosts runs Consul with ACLs on, and needs its management token in CONSUL_HTTP_TOKEN " +
	"(any UUID for a new cluster: export CONSUL_HTTP_TOKEN=$(cat /proc/sys/kernel/random/uuid), and keep it)")

// clusterSecrets are the secrets the agents this apply creates get: the
// cluster's, read when it was connected, or new ones for a new cluster.
func (e *Executor) clusterSecrets() (ClusterSecrets, error) {
	e.regMu.Lock()
	defer e.regMu.Unlock()
	if e.secrets != nil {
		return *e.secrets, nil
	}
	if e.opts.ConsulToken == "" {
		return ClusterSecrets{}, ErrNoManagementToken
	}
	sec, err := NewClusterSecrets(e.opts.ConsulToken)
	if err != nil {
		return ClusterSecrets{}, err
	}
	e.secrets = &sec
	return sec, nil
}

// setupCluster makes a connected cluster ready for the stack: every
// server alive under a leader, the secrets this apply gave new agents kept
// in KV, the ACL policies and tokens in place. On a cluster that runs
// already it reads the secrets instead.
func (e *Executor) setupCluster(ctx context.Context, c Consul) error {
	admin, ok := c.(ClusterAdmin)
	if !ok {
		return errors.New("the Consul client cannot manage a cluster's secrets and ACLs")
	}
	e.regMu.Lock()
	e.admin = admin
	e.regMu.Unlock()
	if err := admin.WaitCluster(ctx, len(e.Stack.LiveServers()), e.opts.ConsulReady); err != nil {
		return err
	}
	e.regMu.Lock()
	made := e.secrets
	e.regMu.Unlock()
	if made == nil {
		sec, err := admin.ReadSecrets(ctx, e.Stack)
		if err != nil {
			return fmt.Errorf("read the cluster's secrets: %w", err)
		}
		if sec == nil {
			return fmt.Errorf("the Consul cluster of stack %s runs, but its secrets are not in %s%s: an apply was stopped while it made the cluster; `stackctl destroy` it and apply again",
				e.Stack.Name, e.Stack.KVPrefix(), plan.KVSecrets)
		}
		e.regMu.Lock()
		e.secrets = sec
		e.regMu.Unlock()
		made = sec
	} else if err := admin.StoreSecrets(ctx, e.Stack, *made); err != nil {
		return fmt.Errorf("keep the cluster's secrets: %w", err)
	}
	if err := admin.SetupACL(ctx, e.Stack, *made); err != nil {
		return fmt.Errorf("set up the cluster's ACLs: %w", err)
	}
	return nil
}

// consulAgentOp creates the Consul agent of the step's host, or replaces
// it (replaceAgent).
func (e *Executor) consulAgentOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	if step.Action == plan.ActionReplace {
		return e.replaceAgentOp(ctx, st, step)
	}
	if step.Action != plan.ActionCreate {
		return nil, unsupported(step)
	}
	cs, err := e.agentSpec(step.Host)
	if err != nil {
		return nil, err
	}
	r := &Restore{Role: plan.RoleConsul, Name: step.Target}
	return &operation{undo: &Undo{Op: UndoContainer, Restore: r}, do: func(ctx context.Context) error {
		if _, err := e.runContainer(ctx, cs); err != nil {
			e.consul.fail(err)
			return err
		}
		e.connectInBackground(ctx)
		return nil
	}}, nil
}

// lbTokenFile is where the LB of a stack with hosts finds its Consul token
// (CONSUL_HTTP_TOKEN_FILE), copied in before it starts.
const lbTokenFile = "/etc/stackctl/consul-token"

// lbOnHosts gives the LB of a stack with hosts its token, as a file.
func (e *Executor) lbOnHosts(cs ContainerSpec) (ContainerSpec, error) {
	e.regMu.Lock()
	sec := e.secrets
	e.regMu.Unlock()
	if sec == nil {
		return cs, errors.New("the LB's Consul token is not known: the cluster was not set up")
	}
	cs.Env = append(cs.Env, "CONSUL_HTTP_TOKEN_FILE="+lbTokenFile)
	cs.Files = append(cs.Files, File{Path: lbTokenFile, Mode: 0o400, Content: []byte(sec.LBToken)})
	return cs, nil
}

// volumeRemover is an engine that removes named volumes.
type volumeRemover interface {
	RemoveVolume(ctx context.Context, name string) error
}

// removeConsulVolumes removes the Consul agents' data volume from every
// host, or the single-host server's, once a destroy has removed Consul.
func (e *Executor) removeConsulVolumes(ctx context.Context) error {
	hd, ok := e.Docker.(*hostDocker)
	if !ok {
		return e.removeConsulVolume(ctx)
	}
	var errs *multierror.Error
	for _, h := range e.Stack.Hosts {
		vr, ok := hd.Hosts[h.Name].(volumeRemover)
		if !ok {
			continue
		}
		if err := vr.RemoveVolume(ctx, e.Stack.ConsulDataVolume()); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("remove volume %s on host %s: %w", e.Stack.ConsulDataVolume(), h.Name, err))
		}
	}
	return errs.ErrorOrNil()
}

// removeConsulVolume removes the managed single-host server's data volume,
// if it exists and is this stack's: one of that name that is not is left
// alone, and the error says so.
func (e *Executor) removeConsulVolume(ctx context.Context) error {
	vr, ok := e.Docker.(stackVolumeRemover)
	if !ok || !e.Stack.Consul.Managed() || e.Stack.MultiHost() {
		return nil
	}
	return vr.RemoveStackVolume(ctx, e.Stack.ConsulDataVolume(), e.Stack.Name)
}

// stackVolumeRemover is an engine that removes a named volume only when it
// is labelled as a stack's.
type stackVolumeRemover interface {
	RemoveStackVolume(ctx context.Context, name, stack string) error
}

// agentSpec is the Consul agent container of host, with the cluster's
// secrets and this apply's labels.
func (e *Executor) agentSpec(host string) (ContainerSpec, error) {
	sec, err := e.clusterSecrets()
	if err != nil {
		return ContainerSpec{}, err
	}
	cs, err := ConsulAgentSpec(e.Stack, host, sec)
	if err != nil {
		return ContainerSpec{}, err
	}
	cs.Labels = e.labels(cs.Labels)
	return cs, nil
}

// replaceAgentOp replaces a Consul agent of a running cluster (a new image,
// a change of servers): the old container stops and steps aside, kept until
// the apply has succeeded; the new one starts on the same data volume, so
// a server comes back as the same raft peer; and the step ends only once
// every server not left out is alive under a leader again and the host's
// agent has rejoined. The plan chains an apply's agent replacements, so
// servers go one at a time and the quorum holds. The apply's own lock
// session has no node checks, so it outlives the restart of the agent it
// was made through (its TTL covers the gap); the calls that agent cannot
// answer meanwhile are retried by the waits.
func (e *Executor) replaceAgentOp(ctx context.Context, st *runState, step plan.Step) (*operation, error) {
	old := st.before.ContainerByID(step.Replaces)
	if old == nil {
		return nil, fmt.Errorf("replace %s: its container %s is not in the state the plan was made from", step.Target, plan.ShortID(step.Replaces))
	}
	if _, err := e.consul.get(ctx); err != nil {
		return nil, err // the cluster's secrets come with the connection
	}
	cs, err := e.agentSpec(step.Host)
	if err != nil {
		return nil, err
	}
	r := &Restore{Role: plan.RoleConsul, Name: step.Target, OldID: old.ID, OldRunning: old.Running(), Discard: true}
	return &operation{undo: &Undo{Op: UndoContainer, Restore: r}, do: func(ctx context.Context) error {
		if err := e.retire(ctx, old); err != nil {
			return err
		}
		if _, err := e.runContainer(ctx, cs); err != nil {
			return err
		}
		return e.waitRejoined(ctx, step.Host)
	}}, nil
}

// waitRejoined waits until the cluster has every server not left out alive
// under a leader, the host's agent (a client, or the server just replaced)
// knows the leader, and the workers it checks pass again: it restores their
// registrations from its data volume with their checks critical until
// they first run, and the LB would go without that host's workers for a
// moment if the next agent went meanwhile.
func (e *Executor) waitRejoined(ctx context.Context, host string) error {
	e.regMu.Lock()
	admin := e.admin
	e.regMu.Unlock()
	if admin == nil {
		return errors.New("the Consul client cannot wait for the cluster")
	}
	if err := admin.WaitCluster(ctx, len(e.Stack.LiveServers()), e.opts.ConsulReady); err != nil {
		return err
	}
	c, err := e.consul.get(ctx)
	if err != nil {
		return err
	}
	hc, ok := c.(*hostConsul)
	if !ok {
		return errors.New("the Consul client does not reach each host's agent")
	}
	a, err := hc.join(ctx, host) // dialed afresh: the agent just restarted
	if err != nil {
		return err
	}
	return e.waitAgentPassing(ctx, a, host)
}

// waitAgentPassing waits until every registration of the stack on agent a
// passes (or has no check), up to ConsulReady.
func (e *Executor) waitAgentPassing(ctx context.Context, a Consul, host string) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.ConsulReady)
	defer cancel()
	for {
		regs, err := a.Registrations(ctx, e.Stack.Name)
		failing := 0
		for _, r := range regs {
			if r.Status != plan.CheckPassing && r.Status != plan.CheckNone {
				failing++
			}
		}
		if err == nil && failing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the workers on host %s do not pass again after its Consul agent was replaced (%d failing, %v)", host, failing, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
