package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// applyOptions are apply's flags.
type applyOptions struct {
	file        stackFile
	autoApprove bool
	lock        bool
	lockTimeout time.Duration
	parallelism int
	json        bool
}

func newApplyCmd() *cobra.Command {
	var opts applyOptions
	cmd := &cobra.Command{
		Use:   "apply [-f FILE] [--auto-approve] [PLAN]",
		Short: "Make the changes a plan shows",
		Long: `Apply makes the live stack match the stack file: it plans, shows the plan,
asks for confirmation (unless --auto-approve) and carries it out in a safe
order, gated on health. New workers pass their checks before old ones leave
the load balancer; if anything fails, everything is put back as it was, and
apply exits 3 (1 for any other error, a rollback that failed included).

Given a PLAN file saved by "stackctl plan -out", apply carries out exactly
that plan without asking, and refuses it if the live state moved since it was
made. Two applies of one stack never run at once: apply takes a lock in
Consul, waiting up to -lock-timeout (1m) for it; the lock of an apply that
ran on this machine and was killed is taken over at once, and what that
apply left unfinished is rolled back first. "stackctl unlock" breaks a lock.

With --json, stdout carries one JSON object per line (the plan, every step as
it starts and ends, the final report) and nothing else; it needs
--auto-approve or a PLAN, as there is nobody to ask. Format: docs/apply-json.md.`,
		Example: `  stackctl apply -f stack.yaml
  stackctl apply -f stack.yaml --auto-approve
  stackctl plan -out primes.plan && stackctl apply primes.plan
  stackctl apply -lock-timeout 2m
  stackctl apply -f stack.yaml --auto-approve --json | jq -c 'select(.type == "report")'`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			planFile := ""
			if len(argv) == 1 {
				planFile = argv[0]
			}
			return runApply(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), opts, planFile)
		},
	}
	addFileFlag(cmd, &opts.file)
	addExcludeFlag(cmd, &opts.file)
	cmd.Flags().BoolVar(&opts.autoApprove, "auto-approve", false, "apply without asking for confirmation")
	cmd.Flags().BoolVar(&opts.lock, "lock", true, "hold the stack's lock in Consul while applying (-lock=false to skip)")
	cmd.Flags().DurationVar(&opts.lockTimeout, "lock-timeout", apply.DefaultLockWait, lockTimeoutUsage)
	cmd.Flags().IntVar(&opts.parallelism, "parallelism", 0, "how many steps of a group may work on Docker at once (default: 4 per CPU)")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print events as JSON lines (format: docs/apply-json.md); needs --auto-approve or a PLAN")
	return cmd
}

// lockTimeoutUsage is apply's and destroy's -lock-timeout.
const lockTimeoutUsage = "how long to wait for a lock held by another apply (0: fail at once); " +
	"a holder on this machine whose process is gone is taken over at once"

// loadStack reads and parses a stack file for a command that works on its
// engine, returning its bytes too (a saved plan records their hash). A
// stack with hosts is refused: this command works on one engine.
func loadStack(file stackFile) (*spec.Stack, []spec.Source, error) {
	st, sources, err := spec.LoadEnv(file.path, file.env)
	if err != nil {
		return nil, nil, err
	}
	if err := oneEngine(st); err != nil {
		return nil, nil, err
	}
	return st, sources, nil
}

// loadAnyStack is loadStack for the commands that work on a stack with
// hosts too: plan, apply and destroy (docs/multihost.md).
func loadAnyStack(file stackFile) (*spec.Stack, []spec.Source, error) {
	st, sources, err := spec.LoadEnv(file.path, file.env)
	if err != nil {
		return nil, nil, err
	}
	for _, h := range file.exclude {
		if err := st.ExcludeHost(h); err != nil {
			return nil, nil, err
		}
	}
	if err := needsToken(st); err != nil {
		return nil, nil, err
	}
	if err := hostsAndReconcile(st); err != nil {
		return nil, nil, err
	}
	return st, sources, nil
}

// errHostsNotYet: the stack file format has hosts:, and plan, apply and
// destroy place a stack over them; the other commands still work on one
// engine, and working on DOCKER_HOST's engine alone would act on the wrong
// machine, so they refuse.
var errHostsNotYet = errors.New("this command does not work on a stack with hosts yet: plan, apply and destroy do (docs/multihost.md)")

// oneEngine refuses a stack that names hosts.
func oneEngine(st *spec.Stack) error {
	if st.MultiHost() {
		return fmt.Errorf("%s: %w", st.File, errHostsNotYet)
	}
	return nil
}

// savedPlan loads a plan file and the stack file it was made from, refusing
// it when the stack file or template changed since.
func savedPlan(path string) (*plan.File, *spec.Stack, error) {
	f, err := plan.LoadFile(path)
	if err != nil {
		return nil, nil, err
	}
	file := stackFile{path: f.StackFile, env: f.Env, exclude: f.ExcludeHosts}
	st, sources, err := loadAnyStack(file)
	if err != nil {
		return nil, nil, err
	}
	if plan.SHA256(sources[0].Data) != f.StackSHA256 {
		return nil, nil, fmt.Errorf("the stack file %s changed since the plan %s was made: run `stackctl plan -f %s -out %s` again", f.StackFile, path, file, path)
	}
	if f.Env != "" && plan.SHA256(sources[1].Data) != f.OverlaySHA256 {
		return nil, nil, fmt.Errorf("the overlay %s changed since the plan %s was made: run `stackctl plan -f %s -out %s` again", sources[1].Path, path, file, path)
	}
	if err := checkEnvPorts(file, st); err != nil {
		return nil, nil, err
	}
	tmpl := ""
	if st.LB != nil {
		tmpl = plan.SHA256([]byte(st.LB.TemplateSource))
	}
	if tmpl != f.TemplateSHA256 {
		return nil, nil, fmt.Errorf("the LB template changed since the plan %s was made: run `stackctl plan -out %s` again", path, path)
	}
	return f, st, nil
}

// applyView shows an apply or destroy as it runs: progressView to a person,
// jsonProgress as JSON lines to a machine.
type applyView interface {
	apply.Progress
	// showPlan shows the plan about to be carried out.
	showPlan(p *plan.Plan) error
	// showRecovered tells what was done with an unfinished apply first.
	showRecovered(r *apply.Report)
	// starting comes just before the first step.
	starting()
	// showReport stops the live progress and shows how the run ended.
	showReport(r *apply.Report) error
	// failure is the error to print on stderr when r failed; nil when the
	// view has already said it.
	failure(r *apply.Report) error
	stop()
}

func newApplyView(out io.Writer, jsonOut bool) applyView {
	if jsonOut {
		return newJSONProgress(out)
	}
	return newProgressView(out)
}

// applySession is the part shared by apply and destroy: the stack, its
// executor and the live state, with the lock held and any unfinished apply
// dealt with.
type applySession struct {
	stack  *spec.Stack
	docker *dockerapi.Client // the control engine
	en     *engines
	exec   *apply.Executor
	state  *plan.State
	view   applyView
}

func openSession(ctx context.Context, view applyView, st *spec.Stack, op string, lock bool, lockTimeout time.Duration, parallelism int) (*applySession, error) {
	en, err := openEngines(st)
	if err != nil {
		return nil, err
	}
	token, err := managementToken()
	if err != nil {
		en.close()
		return nil, err
	}
	exec := apply.New(st, en.docker(), consulapi.Dialer, apply.Options{
		Operation: op, Lock: lock, LockTimeout: lockTimeout, Holder: apply.DefaultHolder(), Progress: view,
		Workers: parallelism, ConsulToken: token,
	})
	exec.ConsulAddr = os.Getenv("CONSUL_HTTP_ADDR")
	s := &applySession{stack: st, docker: en.control, en: en, exec: exec, view: view}
	if s.state, err = observeStarting(ctx, view, st); err != nil {
		s.close()
		return nil, fmt.Errorf("cannot read the live state of stack %s: %w", st.Name, err)
	}
	if err := refuseUnreachable(st, s.state); err != nil {
		s.close()
		return nil, err
	}
	rec, err := exec.Prepare(ctx, s.state)
	if err != nil {
		s.close()
		return nil, err
	}
	if rec != nil {
		view.showRecovered(rec)
		if rec.Err != nil {
			s.close()
			return nil, rec.Err
		}
		if s.state, err = observe(ctx, st); err != nil {
			s.close()
			return nil, fmt.Errorf("cannot read the live state of stack %s: %w", st.Name, err)
		}
	}
	return s, nil
}

// consulStartWait bounds how long apply and destroy wait for the stack's
// own Consul to answer while its container runs: one started a moment ago
// (by an apply killed right after) takes a second or two to listen.
const consulStartWait = 30 * time.Second

// observeStarting observes the stack, waiting up to consulStartWait for a
// managed Consul whose container runs but that does not answer yet.
func observeStarting(ctx context.Context, view applyView, st *spec.Stack) (*plan.State, error) {
	deadline := time.Now().Add(consulStartWait)
	told := false
	for {
		state, err := observe(ctx, st)
		var ee *plan.EndpointError
		if err == nil || !st.Consul.Managed() || !errors.As(err, &ee) || ee.Service != "Consul" || time.Now().After(deadline) {
			return state, err
		}
		if !told {
			view.Note(fmt.Sprintf("stack %s: Consul does not answer yet (its container runs); waiting up to %s", st.Name, consulStartWait))
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *applySession) close() {
	s.exec.Unlock()
	s.en.close()
}

func runApply(ctx context.Context, in io.Reader, out io.Writer, o applyOptions, planFile string) error {
	if err := checkJSONApproval(o.json, o.autoApprove || planFile != ""); err != nil {
		return err
	}
	var saved *plan.File
	var st *spec.Stack
	var err error
	if planFile != "" {
		saved, st, err = savedPlan(planFile)
	} else if st, _, err = loadAnyStack(o.file); err == nil {
		if err = checkEnvPorts(o.file, st); err == nil {
			_, err = checkLBTemplate(st)
		}
	}
	if err == nil {
		err = undoStressLeftovers(ctx, os.Stderr, st)
	}
	if err != nil {
		return exitWith(exitFailure, err)
	}
	view := newApplyView(out, o.json)
	defer view.stop()
	return applyStack(ctx, in, out, view, st, o, saved, planFile)
}

// applyStack is apply after loading: it takes the lock, plans st against
// live state (or checks saved, loaded from planFile, against it), shows the
// plan, asks unless o.autoApprove, and carries it out. reconcile calls it
// with the stack of a commit, auto-approve and a view of its own.
func applyStack(ctx context.Context, in io.Reader, out io.Writer, view applyView, st *spec.Stack, o applyOptions, saved *plan.File, planFile string) error {
	s, err := openSession(ctx, view, st, "apply", o.lock, o.lockTimeout, o.parallelism)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer s.close()

	p := plan.Compute(st, s.state)
	if saved != nil {
		if fp := plan.Fingerprint(s.state); fp != saved.Fingerprint {
			return exitWith(exitFailure, fmt.Errorf("the live state of stack %s changed since the plan %s was made (fingerprint %.19s, now %.19s): run `stackctl plan -out %s` again and review it",
				st.Name, planFile, saved.Fingerprint, fp, planFile))
		}
		p = saved.Plan
	}
	if err := view.showPlan(p); err != nil {
		return exitWith(exitFailure, err)
	}
	if p.Empty() && !o.json {
		// Nothing to change; Run still deletes the journal of an
		// unfinished apply whose every request had landed. (In JSON the
		// empty run goes on to its report.)
		if r := s.exec.Run(ctx, p, s.state); r.Cleanup != nil {
			fmt.Fprintf(out, "Warning: %v\n", r.Cleanup)
		}
		return nil
	}
	if saved == nil && !o.autoApprove {
		if err := confirm(in, out, "Do you want to perform these actions?",
			"stackctl will perform the actions described above."); err != nil {
			return err
		}
	}
	if err := s.execute(ctx, p); err != nil {
		return err
	}
	if !o.json {
		printWhereToLook(ctx, out, s)
	}
	return nil
}

// execute runs p, shows its report and turns a failed run into its exit
// code; apply and destroy end the same way.
func (s *applySession) execute(ctx context.Context, p *plan.Plan) error {
	s.view.starting()
	report := s.exec.Run(ctx, p, s.state)
	if err := s.view.showReport(report); err != nil {
		return exitWith(exitFailure, err)
	}
	if !report.OK() {
		return exitWith(failureExit(report), s.view.failure(report))
	}
	return nil
}

// failureExit is the exit code of a failed run: exitRolledBack when the
// rollback put the stack back as it was, so that CI can tell "nothing
// changed" from a stack left in an unknown state; exitFailure for a run
// that paused, a destroy (never rolled back), a rollback that failed too,
// or a run that stopped before it changed anything (a lock, a journal).
func failureExit(r *apply.Report) int {
	if r.Restored {
		return exitRolledBack
	}
	return exitFailure
}

// confirm asks for "yes", as Terraform does. Without a terminal to ask on it
// is an error: nothing is changed without consent.
func confirm(in io.Reader, out io.Writer, question, detail string) error {
	return confirmOr(in, out, question, detail,
		errors.New("no terminal to confirm on: run with --auto-approve to apply without confirmation"))
}

// confirmOr is confirm with the error to return when there is no terminal.
func confirmOr(in io.Reader, out io.Writer, question, detail string, noTerminal error) error {
	if f, ok := in.(*os.File); !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return exitWith(exitFailure, noTerminal)
	}
	fmt.Fprintf(out, "\n%s\n  %s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question, detail)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return exitWith(exitFailure, fmt.Errorf("read confirmation: %w", err))
	}
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(out, "\nCancelled: nothing was changed.")
		return exitWith(exitFailure, nil)
	}
	return nil
}

// printWhereToLook tells where the stack answers: the LB's and Consul's
// published ports, as Docker bound them.
func printWhereToLook(ctx context.Context, out io.Writer, s *applySession) {
	var lines []string
	if s.stack.LB != nil {
		if c, err := s.exec.Docker.InspectContainer(ctx, s.stack.LBContainerName()); err == nil && c != nil {
			for _, p := range c.Ports {
				lines = append(lines, fmt.Sprintf("  Load balancer:  curl http://%s/", dialable(p)))
			}
		}
	}
	if s.stack.Consul.Managed() && !s.stack.MultiHost() {
		if c, err := s.docker.InspectContainer(ctx, s.stack.ConsulContainerName()); err == nil && c != nil {
			for _, p := range c.Ports {
				if p.ContainerPort == 8500 {
					lines = append(lines, fmt.Sprintf("  Consul UI:      http://%s/ui/", dialable(p)))
				}
			}
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(out, "\nStack %s is up:\n%s\n", s.stack.Name, strings.Join(lines, "\n"))
	}
}

func dialable(p plan.PublishedPort) string {
	ip := p.HostIP
	switch ip {
	case "", "0.0.0.0", "::":
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, strconv.Itoa(p.HostPort))
}

// trimRecover is the operation a recovery report is about: "recover apply"
// is about an apply.
func trimRecover(op string) string { return strings.TrimPrefix(op, "recover ") }
