package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
	"github.com/stackctl/stackctl/stress"
)

// stressOptions are stress's flags.
type stressOptions struct {
	file        stackFile
	rate        string
	connections int
	pool        int
	duration    time.Duration
	path        string
	noKeepAlive bool
	timeout     time.Duration
	target      string
	chaos       []string
	seed        uint64
	applyFile   string
	applyAt     time.Duration
	heal        bool
	json        bool
	plot        string
	findMax     bool
	maxP99      time.Duration
	maxErrors   string
	stepFor     time.Duration
	startRate   int
	undo        bool
}

func newStressCmd() *cobra.Command {
	var o stressOptions
	cmd := &cobra.Command{
		Use:   "stress [-f FILE] [--rate 200/s | --connections 32] [--duration 30s] [--chaos FAULT...] [--heal] [--json] [--plot FILE]",
		Short: "Put load on the stack's own LB, inject faults, and report what clients saw",
		Long: `Stress sends HTTP load to the stack's own load balancer, and to nothing else:
the address comes from the live LB container (a port it publishes, else its
address on the stack network), and --target may only pick another of those.
The client follows no redirect and uses no proxy.

Load is an open model (--rate N/s: requests leave on schedule whether or not
earlier ones were answered) or a closed one (--connections N: N clients, each
sending when its last answer came). Connections are kept alive unless
--no-keepalive; a request without a whole answer within --timeout fails.

--chaos injects faults into the stack's own containers while the load runs,
each spelled KIND[=N][@AT[:FOR]]:
  kill=N@AT              SIGKILL N workers (they stay down until healed or the run ends)
  pause=N@AT:FOR         freeze N workers (a hung process) for FOR
  disconnect=N@AT:FOR    take N workers off the stack network (an outage) for FOR
  cut-consul=N@AT:FOR    Consul cannot reach N workers, the LB still can (root, local engine)
  restart-consul@AT      restart the stack's Consul server
  restart-lb@AT          restart the LB
  random=N               N faults drawn from --seed
Workers are picked from --seed, so a run with the same seed and schedule hits
the same workers. Every fault is recorded before it is injected, and undone
when it ends, at the end of the run, or on Ctrl-C; if stress dies, the next
stackctl apply, destroy or stress undoes what it left.

--apply FILE applies FILE in the middle of the load (at --apply-at) to show
how invisible a deploy is. --heal applies the stack file as soon as the faults
end if the stack drifted. After the faults, stress waits until the LB serves
the full passing set again and reports how long that took.

--find-max raises the rate step by step until more than --max-errors fail or
p99 passes --max-p99, and reports the highest sustained rate and what ran
out (per-container CPU and memory, the machine's CPUs).

The report gives requests, successes, failures by kind (each HTTP status,
refused, reset, closed, timeout), latency percentiles, throughput, each fault
with its time, the recovery and advice computed from what failed. --json
prints it as JSON (docs/stress-json.md); --plot draws it over time (PNG or
SVG). Exit status: 0 when the run completed, 1 on an error, 130 after Ctrl-C.`,
		Example: `  stackctl stress -f stack.yaml --rate 200/s --duration 30s
  stackctl stress -f stack.yaml --duration 30s --chaos kill=5@10s --heal --json
  stackctl stress -f stack.yaml --chaos disconnect=3@5s:10s --plot run.png
  stackctl stress -f stack.yaml --connections 32 --apply stack.v2.yaml
  stackctl stress -f stack.yaml --find-max`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.findMax && !cmd.Flags().Changed("duration") {
				o.duration = 3 * time.Minute // the search's budget
			}
			// The load generator shares the machine with the stack: fewer
			// garbage collections leave more CPU to what is measured.
			debug.SetGCPercent(400)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runStress(ctx, cmd, o)
		},
	}
	addFileFlag(cmd, &o.file)
	f := cmd.Flags()
	f.StringVar(&o.rate, "rate", "", "an open model: requests per second, as 200 or 200/s or 6000/m (default 100/s unless --connections)")
	f.IntVar(&o.connections, "connections", 0, "a closed model: this many clients, each sending when its last answer came")
	f.IntVar(&o.pool, "pool", stress.DefaultPool, "the open model's connection pool: a request that finds every connection busy waits for one")
	f.DurationVar(&o.duration, "duration", 30*time.Second, "how long the load runs (at most 10m)")
	f.StringVar(&o.path, "path", "/", "the path to GET")
	f.BoolVar(&o.noKeepAlive, "no-keepalive", false, "open a new connection for every request")
	f.DurationVar(&o.timeout, "timeout", 3*time.Second, "a request without a whole answer by then fails")
	f.StringVar(&o.target, "target", "", "HOST:PORT: another of the stack's LB addresses (nothing else is accepted)")
	f.StringArrayVar(&o.chaos, "chaos", nil, "faults to inject, comma-separated or repeated (see above)")
	f.Uint64Var(&o.seed, "seed", 0, "picks the victims and random faults; the same seed repeats a run (default: from the clock, printed)")
	f.StringVar(&o.applyFile, "apply", "", "apply this stack file in the middle of the load")
	f.DurationVar(&o.applyAt, "apply-at", 0, "when --apply starts (default: a third of --duration)")
	f.BoolVar(&o.heal, "heal", false, "when the faults end, apply the stack file if the stack drifted")
	f.BoolVar(&o.json, "json", false, "print the report as JSON (docs/stress-json.md)")
	f.StringVar(&o.plot, "plot", "", "draw the run over time into this .png or .svg file")
	f.BoolVar(&o.findMax, "find-max", false, "find the highest rate the stack sustains (--duration bounds the search; default 3m)")
	f.DurationVar(&o.maxP99, "max-p99", 500*time.Millisecond, "--find-max: the highest p99 a sustained rate may have")
	f.StringVar(&o.maxErrors, "max-errors", "0.1%", "--find-max: the largest share of failures a sustained rate may have")
	f.DurationVar(&o.stepFor, "step", 5*time.Second, "--find-max: how long each rate is tried")
	f.IntVar(&o.startRate, "start-rate", 50, "--find-max: the first rate tried")
	f.BoolVar(&o.undo, "undo", false, "only undo the faults a stress run left behind, even one not known to be dead, and exit")
	return cmd
}

// parseRate reads 200, 200/s or 6000/m as requests per second.
func parseRate(s string) (float64, error) {
	num, per, _ := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, usageError{fmt.Errorf("--rate %q: a number of requests per second, such as 200/s", s)}
	}
	switch per {
	case "", "s":
	case "m":
		v /= 60
	default:
		return 0, usageError{fmt.Errorf("--rate %q: per s or per m", s)}
	}
	return v, nil
}

// parseRatio reads 0.1% or 0.001.
func parseRatio(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v < 0 || v >= 1 {
		return 0, usageError{fmt.Errorf("--max-errors %q: a share such as 0.1%%", s)}
	}
	return v, nil
}

func runStress(ctx context.Context, cmd *cobra.Command, o stressOptions) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	load, err := o.loadSettings()
	if err != nil {
		return err
	}
	stack, _, err := loadStack(o.file)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	// One Docker client for everything: the status reader's.
	reader, err := newStatusReader()
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer reader.close()
	docker := reader.docker
	cutter := newCutter(docker)

	undone, err := stress.UndoLeftovers(ctx, docker, cutter, stack.Name, o.undo)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	reportUndone(stderr, stack, undone)
	if o.undo {
		if len(undone) == 0 {
			fmt.Fprintf(stderr, "stackctl: no stress run left anything on stack %s\n", stack.Name)
		}
		return nil
	}

	state, err := reader.observer.Observe(ctx, stack)
	if err != nil {
		return exitWith(exitFailure, fmt.Errorf("cannot read the live state of stack %s: %w", stack.Name, err))
	}
	targets, err := stress.LBTargets(stack, state)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	if load.Target, err = stress.PickTarget(targets, o.target); err != nil {
		return exitWith(exitFailure, err)
	}
	seed := o.seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	meter := newMeter(docker, stack, state)

	if o.findMax {
		return runFindMax(ctx, stdout, o, stack, load, seed, meter, logf)
	}

	live := &liveStack{stack: stack, file: o.file, reader: reader}
	objects := stress.ObjectsOf(stack.NetworkName(), stack.ConsulContainerName(), stack.LBContainerName(), workerNames(stack), state)
	if !stack.Consul.Managed() {
		objects.Consul = nil
	}
	faults, err := stress.Chaos(o.chaos, o.duration, seed, len(objects.Workers))
	if err != nil {
		return exitWith(exitFailure, err)
	}
	run := &stress.Run{
		Load: load, Duration: o.duration, Faults: faults, Stack: live,
		Heal: o.heal, RecoveryLimit: 2 * time.Minute, Log: logf,
	}
	if len(faults) > 0 {
		record, err := stress.NewLeftovers(stack.Name)
		if err != nil {
			return exitWith(exitFailure, err)
		}
		run.Injector = &stress.Injector{Engine: docker, Cutter: cutter, Objects: objects, Seed: seed, Record: record, StopTimeout: 10 * time.Second}
		if err := run.Injector.Check(faults); err != nil {
			return exitWith(exitFailure, err)
		}
	}
	if o.applyFile != "" {
		run.ApplyFile, run.ApplyAt = o.applyFile, o.applyAt
		if run.ApplyAt == 0 {
			run.ApplyAt = o.duration / 3
		}
		if run.ApplyAt >= o.duration {
			return usageError{fmt.Errorf("--apply-at %s is not before the end of the run (--duration %s)", run.ApplyAt, o.duration)}
		}
	}
	logf("stress %s: %s against %s (%s) for %s, seed %d", stack.Name, describeLoad(load), load.Target.Addr, load.Target.Via, o.duration, seed)

	meter.Begin(ctx)
	res := run.Do(ctx)
	rep := stress.NewReport(stack.Name, run, seed, res)
	rep.Usage, _ = meter.End(context.WithoutCancel(ctx))
	if err := writeReport(stdout, rep, o); err != nil {
		return exitWith(exitFailure, err)
	}
	if res.Interrupted {
		return exitWith(130, nil)
	}
	if len(res.UndoErrors) > 0 {
		return exitWith(exitFailure, errors.New("some faults could not be undone; see the report"))
	}
	return nil
}

// loadSettings checks the load flags.
func (o stressOptions) loadSettings() (stress.Load, error) {
	l := stress.Load{Path: o.path, KeepAlive: !o.noKeepAlive, Timeout: o.timeout, Connections: o.connections, Pool: o.pool}
	if o.rate != "" {
		r, err := parseRate(o.rate)
		if err != nil {
			return l, err
		}
		l.Rate = r
	}
	switch {
	case o.rate != "" && o.connections > 0:
		return l, usageError{errors.New("--rate and --connections: give one, an open model or a closed one")}
	case o.rate == "" && o.connections == 0:
		l.Rate = 100
	}
	if o.findMax && o.connections > 0 {
		return l, usageError{errors.New("--find-max raises an open model's rate: leave out --connections")}
	}
	if o.findMax && (len(o.chaos) > 0 || o.applyFile != "" || o.heal) {
		return l, usageError{errors.New("--find-max runs alone: leave out --chaos, --apply and --heal")}
	}
	if o.duration <= 0 || o.duration > stress.MaxDuration {
		return l, usageError{fmt.Errorf("--duration %s: more than 0 and at most %s", o.duration, stress.MaxDuration)}
	}
	if err := l.Check(); err != nil {
		return l, usageError{err}
	}
	return l, nil
}

func describeLoad(l stress.Load) string {
	if l.Model() == "closed" {
		return fmt.Sprintf("%d connections", l.Connections)
	}
	return fmt.Sprintf("%g requests/s", l.Rate)
}

func workerNames(stack *spec.Stack) []string {
	var names []string
	for _, svc := range stack.Services {
		for slot := 1; slot <= svc.Replicas; slot++ {
			names = append(names, stack.WorkerName(svc.Name, slot))
		}
	}
	return names
}

func writeReport(stdout io.Writer, rep *stress.Report, o stressOptions) error {
	if o.plot != "" {
		if err := stress.WritePlot(rep, o.plot); err != nil {
			return err
		}
	}
	if o.json {
		return rep.JSON(stdout)
	}
	if err := rep.Human(stdout); err != nil {
		return err
	}
	if o.plot != "" {
		_, err := fmt.Fprintf(stdout, "\nplot: %s\n", o.plot)
		return err
	}
	return nil
}

func runFindMax(ctx context.Context, stdout io.Writer, o stressOptions, stack *spec.Stack, load stress.Load, seed uint64, meter *stress.Meter, logf func(string, ...any)) error {
	bound, err := parseRatio(o.maxErrors)
	if err != nil {
		return err
	}
	budget := o.duration
	s := &stress.Search{
		Load: load, Start: o.startRate, Factor: 2, StepFor: o.stepFor, Budget: budget, Rest: time.Second,
		ErrorBound: bound, P99Bound: o.maxP99, Meter: meter, Log: logf,
	}
	logf("stress %s --find-max: from %d/s, %s a step, against %s (%s)", stack.Name, o.startRate, o.stepFor, load.Target.Addr, load.Target.Via)
	fm := s.Run(ctx)
	run := &stress.Run{Load: load, Duration: budget}
	rep := stress.NewReport(stack.Name, run, seed, &stress.Result{Start: fm.StartedAt, Interrupted: ctx.Err() != nil, WholeAtStart: true})
	rep.FindMax = fm
	rep.Usage = fm.Usage
	if fm.Rate > 0 {
		rep.RateAsked = fm.Rate
	}
	rep.Advice = []string{fm.Bottleneck}
	if err := writeReport(stdout, rep, o); err != nil {
		return exitWith(exitFailure, err)
	}
	if ctx.Err() != nil {
		return exitWith(130, nil)
	}
	return nil
}

// newMeter watches the stack's containers; the machine's CPUs are read
// only when the engine is this machine's.
func newMeter(docker *dockerapi.Client, stack *spec.Stack, state *plan.State) *stress.Meter {
	m := &stress.Meter{Sampler: docker, Self: stress.SelfCPU}
	for _, c := range state.Containers {
		w := stress.Watched{Object: stress.Object{Name: c.Name, ID: c.ID}}
		switch {
		case !c.Running() || c.Name == stack.ReconcileContainerName():
			continue
		case c.Name == stack.LBContainerName():
			w.Role = "lb"
		case c.Name == stack.ConsulContainerName():
			w.Role = "consul"
		default:
			w.Role = "worker"
			if svc := stack.Service(c.Labels[spec.LabelService]); svc != nil {
				w.CPULimit = float64(svc.Resources.NanoCPUs) / 1e9
				w.MemLimit = uint64(svc.Resources.MemoryBytes)
			}
		}
		m.Watch = append(m.Watch, w)
	}
	if localEngine(docker) {
		m.Host = stress.HostCPU
	}
	return m
}

func localEngine(docker *dockerapi.Client) bool {
	return strings.HasPrefix(docker.Endpoint().Address, "unix://")
}
