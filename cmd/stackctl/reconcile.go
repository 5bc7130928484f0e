package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/reconcile"
	"github.com/stackctl/stackctl/spec"
)

// reconcileOptions are reconcile's flags.
type reconcileOptions struct {
	repo, ref, path, env string
	interval             time.Duration
	once, allowRewind    bool
	sshKey, knownHosts   string
	tokenEnv             string
	cache                string
	lockTimeout          time.Duration
	parallelism          int
}

// Environment variables reconcile reads besides Docker's and Consul's.
const (
	envGitToken      = "STACKCTL_GIT_TOKEN"
	envSSHPassphrase = "STACKCTL_SSH_KEY_PASSPHRASE"
)

// minReconcileInterval keeps the agent from fetching and planning in a
// tight loop.
const minReconcileInterval = time.Second

// peekEvery is how often the agent looks at a repository on this machine
// for a new commit between passes.
const peekEvery = time.Second

func newReconcileCmd() *cobra.Command {
	var o reconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile --repo URL|PATH [--ref main] [--path stack.yaml] [-e ENV] [--interval 30s] [--once]",
		Short: "Follow a git ref and keep the stack at its newest good commit, healing drift",
		Long: `Reconcile is an agent that keeps a stack at the stack file committed on a git
ref. Every --interval it fetches the ref (a repository on this machine is
also watched, so a new commit is seen within a second):

  - a new commit is checked out and applied, under the stack's lock, as
    "stackctl apply --auto-approve" would;
  - a commit whose stack file is invalid is refused and recorded with its
    FILE:LINE:COL problems; the stack stays at the last good commit;
  - a commit that does not descend from the one applied last (a force-push,
    a rewind) is refused unless --allow-rewind;
  - otherwise the last good commit is planned against live state, and
    applied when the plan is not empty (a missing, stopped or critical
    worker, a changed template): drift is healed.

An apply that fails (and rolls back) is tried again after 1 interval, then
2, 4, ... at most 10m; a new commit, or SIGHUP, tries at once. Every pass
that applied or refused something is recorded in the stack's Consul KV
(stackctl/<stack>/reconcile/...): see "stackctl history" and "stackctl
status". SIGTERM or Ctrl-C stops the agent between two steps; an apply under
way rolls back first. Git is spoken by stackctl itself (go-git): no git
binary is needed. Full description: docs/reconcile.md.

Repositories: file:// URLs and paths; ssh (ssh://host/org/repo.git or
git@host:org/repo.git) with a deploy key (--ssh-key, its passphrase in
$STACKCTL_SSH_KEY_PASSPHRASE) and the server's key in --known-hosts (else
$SSH_KNOWN_HOSTS, ~/.ssh/known_hosts); https with a token read from the
environment variable --token-env names ($STACKCTL_GIT_TOKEN by default).

--once makes one pass and exits: 0 when the stack is at the head (applied,
or nothing to change), 1 when something failed or the head was refused, 3
when the head's apply failed and was rolled back.`,
		Example: `  stackctl reconcile --repo /srv/git/stacks.git --path primes/stack.yaml
  stackctl reconcile --repo git@git.example.com:ops/stacks.git --ssh-key /etc/stackctl/deploy_key \
      --known-hosts /etc/stackctl/known_hosts --ref production --path primes/stack.yaml -e prod
  STACKCTL_GIT_TOKEN=... stackctl reconcile --repo https://git.example.com/ops/stacks.git --once`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runReconcile(ctx, cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", "", "the git repository: a URL (file://, ssh://, https://, git@host:path) or a path")
	f.StringVar(&o.ref, "ref", "main", "the branch or tag to follow")
	f.StringVar(&o.path, "path", "stack.yaml", "the stack file's path in the repository")
	f.StringVarP(&o.env, "env", "e", "", "the environment: the stack file merged with its overlay beside it in the repository (stack.yaml -e staging reads stack.staging.yaml)")
	f.DurationVar(&o.interval, "interval", reconcile.DefaultInterval, "time between two passes")
	f.BoolVar(&o.once, "once", false, "make one pass and exit (for CI and cron)")
	f.BoolVar(&o.allowRewind, "allow-rewind", false, "apply a commit that does not descend from the one applied last")
	f.StringVar(&o.sshKey, "ssh-key", "", "the private key (a deploy key) for an ssh repository")
	f.StringVar(&o.knownHosts, "known-hosts", "", "the known_hosts file with the ssh server's key (default: $SSH_KNOWN_HOSTS, ~/.ssh/known_hosts)")
	f.StringVar(&o.tokenEnv, "token-env", envGitToken, "the environment variable holding the token of an https repository")
	f.StringVar(&o.cache, "cache", "", "the cache folder of the repositories (default: $XDG_CACHE_HOME/stackctl/reconcile)")
	f.DurationVar(&o.lockTimeout, "lock-timeout", apply.DefaultLockWait, lockTimeoutUsage)
	f.IntVar(&o.parallelism, "parallelism", 0, "how many steps of a group may work on Docker at once (default: 4 per CPU)")
	return cmd
}

// check refuses flags that cannot work, before anything is reached.
func (o reconcileOptions) check() error {
	switch {
	case o.repo == "":
		return errors.New("--repo is required: the git repository to follow")
	case o.interval < minReconcileInterval:
		return fmt.Errorf("--interval %s is too short: the least is %s", o.interval, minReconcileInterval)
	case !filepath.IsLocal(filepath.FromSlash(o.path)):
		return fmt.Errorf("--path %s must be a path inside the repository", o.path)
	}
	return nil
}

func runReconcile(ctx context.Context, stdout io.Writer, o reconcileOptions) error {
	log := newLogLines(stdout)
	src, err := reconcile.OpenGit(reconcile.GitOptions{
		Repo: o.repo, Ref: o.ref, Dir: path.Dir(o.path), Cache: o.cache, Env: o.env,
		SSHKey: o.sshKey, SSHKeyPassphrase: os.Getenv(envSSHPassphrase), KnownHosts: o.knownHosts,
		Token: os.Getenv(o.tokenEnv),
	})
	if err != nil {
		return exitWith(exitFailure, err)
	}
	docker, err := openDocker()
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer docker.Close()
	pool := &consulapi.Pool{}
	defer pool.Close()
	kv := &stackKV{docker: docker, pool: pool}
	cfg := reconcile.Config{
		Source: src, Load: committedStack(o.path, o.env, os.Getenv(apply.EnvReconciler)),
		Deploy: newReconcileDeployer(log, docker, pool, o), KV: kv.dial,
		Log: log.line, Interval: o.interval, AllowRewind: o.allowRewind, DriftConfirm: driftConfirm,
		Repo: src.Repo(), Ref: o.ref, Path: o.path, Env: o.env,
	}
	if src.Local() {
		cfg.PeekEvery = peekEvery
	}
	agent := reconcile.New(cfg)
	if o.once {
		return onceResult(agent.Once(ctx))
	}
	stopWaking := wakeOnHangup(agent)
	defer stopWaking()
	return agent.Run(ctx)
}

// committedStack loads the stack file at path (in the repository) of a
// checkout as apply does: the file and its overlay, one engine, no port
// shared with another environment, a template that renders.
//
// self is the stack whose own agent this is (STACKCTL_RECONCILER, set in
// the <stack>-reconcile container), "" on the host. The agent's plans then
// leave its container alone (spec.Stack.InAgent): replacing or removing
// itself, it would die in the middle of that apply. A change to the
// reconcile section is applied by a person's `stackctl apply`. A commit
// that renames the stack is refused: the agent would start another stack
// beside its own, with an agent of its own.
func committedStack(path, env, self string) reconcile.Loader {
	return func(dir string) (*spec.Stack, error) {
		file := stackFile{path: filepath.Join(dir, filepath.FromSlash(path)), env: env}
		st, _, err := loadStack(file)
		if err != nil {
			return nil, err
		}
		if err := checkEnvPorts(file, st); err != nil {
			return nil, err
		}
		if _, err := checkLBTemplate(st); err != nil {
			return nil, err
		}
		if self != "" {
			if st.Name != self {
				return nil, fmt.Errorf("%s names the stack %s, but this agent is the one of stack %s (%s=%s): a stack renamed in its file is a new stack, for a person to apply",
					file.path, st.Name, self, apply.EnvReconciler, self)
			}
			st.InAgent = true
		}
		return st, nil
	}
}

// wakeOnHangup makes SIGHUP ask the agent for a pass now, past its
// backoff: what to do after fixing what made an apply fail.
func wakeOnHangup(agent *reconcile.Agent) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				agent.Wake()
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// onceResult is the exit of reconcile --once: what the pass did to the
// head, or why it did not.
func onceResult(p reconcile.Pass) error {
	worst := plan.ReconcileEntry{Result: plan.ResultNoChanges}
	entries := p.Entries
	if p.Held != nil {
		entries = append(entries, *p.Held)
	}
	for _, e := range entries {
		if rank(e.Result) > rank(worst.Result) {
			worst = e
		}
	}
	switch {
	case rank(worst.Result) == 0 && p.FetchErr != nil:
		return exitWith(exitFailure, p.FetchErr)
	case worst.Result == plan.ResultRolledBack:
		return exitWith(exitRolledBack, fmt.Errorf("%s (%s) was rolled back: %s", worst.Short, worst.Subject, worst.Error))
	case rank(worst.Result) > 0:
		return exitWith(exitFailure, fmt.Errorf("%s (%s): %s:\n%s", worst.Short, worst.Subject, worst.Result, worst.Error))
	}
	return nil
}

// rank orders results by how much they need a person: 0 for none.
func rank(r plan.ReconcileResult) int {
	switch r {
	case plan.ResultRolledBack:
		return 1
	case plan.ResultError, plan.ResultInvalid, plan.ResultRefused:
		return 2
	}
	return 0
}

// driftConfirm is how long the agent looks again before healing drift: a
// few check intervals of a typical stack, short beside its interval.
const driftConfirm = 3 * time.Second
