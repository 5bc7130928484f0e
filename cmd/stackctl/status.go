package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

// statusOptions are status's flags.
type statusOptions struct {
	file     stackFile
	json     bool
	watch    bool
	interval time.Duration
}

// minWatchInterval keeps --watch from turning into a load test of Docker
// and Consul.
const minWatchInterval = 200 * time.Millisecond

func newStatusCmd() *cobra.Command {
	var opts statusOptions
	cmd := &cobra.Command{
		Use:   "status [-f FILE] [--json] [--watch [--interval 2s]]",
		Short: "Show what runs, where, and whether Consul sees it passing",
		Long: `Status lists the stack's containers with their state, address and published
ports, the health of each worker as Consul sees it (with the output of a
failing check), Consul's Raft leader, an apply that did not finish, and the
load balancer's last render: whether the config nginx serves is current, or
why the latest render was refused. It changes nothing.

--json prints the status in a versioned format (format_version 1), documented
in docs/status-json.md.

--watch reads and shows the status again every --interval until Ctrl-C: on a
terminal the screen is redrawn in place; otherwise each frame is printed
after a separator line; with --json each frame is one JSON object on one
line (NDJSON). When Docker or Consul cannot be reached, the frame says so and
watching goes on.

Exit status is 0 when the status could be read, whatever it shows, and 1 when
Docker or Consul could not be reached (without --watch).`,
		Example: `  stackctl status -f stack.yaml
  stackctl status --json | jq '.workers[] | select(.health != "passing")'
  stackctl status --watch --interval 1s
  stackctl status --watch --json | jq -c '.summary'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.interval < minWatchInterval {
				return usageError{fmt.Errorf("--interval %s is too short: the least is %s", opts.interval, minWatchInterval)}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runStatus(ctx, cmd.OutOrStdout(), opts)
		},
	}
	addFileFlag(cmd, &opts.file)
	addExcludeFlag(cmd, &opts.file)
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the status as JSON (docs/status-json.md)")
	cmd.Flags().BoolVar(&opts.watch, "watch", false, "show the status again every --interval, until Ctrl-C")
	cmd.Flags().DurationVar(&opts.interval, "interval", 2*time.Second, "time between two reads with --watch")
	return cmd
}

func runStatus(ctx context.Context, stdout io.Writer, o statusOptions) error {
	stack, _, err := loadAnyStack(o.file)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	reader, err := newStatusReaderFor(stack)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer reader.close()
	if o.watch {
		return watchStatus(ctx, newFrameWriter(stdout, o), o.interval, func(ctx context.Context) *plan.Status {
			return reader.status(ctx, stack, max(watchObserveTimeout, o.interval))
		})
	}
	st := reader.status(ctx, stack, observeTimeout)
	if st.Error != "" {
		return exitWith(exitFailure, fmt.Errorf("cannot read the live state of stack %s: %s", stack.Name, st.Error))
	}
	if o.json {
		return views.StatusJSON(stdout, st, false)
	}
	return views.StatusHuman(stdout, st, styleFor(stdout).on)
}

// watchObserveTimeout bounds one read of --watch (or the interval, if
// longer): a hung engine shows as an error frame rather than a frozen one.
const watchObserveTimeout = 10 * time.Second

// statusReader observes a stack again and again with one Docker client and
// one Consul client per address, so that a long --watch does not pile up
// connections.
type statusReader struct {
	observer *plan.Observer
	docker   *dockerapi.Client // the observer's, for reads it does not make
	close    func()
}

// newStatusReaderFor is newStatusReader for a stack that may have hosts:
// its observer reads every host's engine too.
func newStatusReaderFor(st *spec.Stack) (*statusReader, error) {
	if !st.MultiHost() {
		return newStatusReader()
	}
	en, err := openEngines(st)
	if err != nil {
		return nil, err
	}
	pool := &consulapi.Pool{}
	o := en.observer()
	o.Consul = pool.Dial
	return &statusReader{docker: en.control, observer: o, close: func() { pool.Close(); en.close() }}, nil
}

func newStatusReader() (*statusReader, error) {
	docker, err := openDocker()
	if err != nil {
		return nil, err
	}
	pool := &consulapi.Pool{}
	return &statusReader{
		docker: docker,
		observer: &plan.Observer{
			Docker:     docker,
			DockerAt:   docker.Endpoint(),
			Consul:     pool.Dial,
			ConsulAddr: os.Getenv("CONSUL_HTTP_ADDR"),
		},
		close: func() { pool.Close(); docker.Close() },
	}, nil
}

// status reads the live state and builds its status, or an error status
// when it cannot be read.
func (r *statusReader) status(ctx context.Context, stack *spec.Stack, timeout time.Duration) *plan.Status {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	state, err := r.observer.Observe(ctx, stack)
	if err != nil {
		st := plan.StatusError(stack.Name, err)
		st.ObservedAt = time.Now().UTC()
		return st
	}
	st := plan.BuildStatus(stack, state)
	st.ObservedAt = time.Now().UTC()
	return st
}

// watchStatus shows a frame every interval until ctx ends (Ctrl-C), which
// is a clean exit. A read that fails is a frame that says so.
func watchStatus(ctx context.Context, out *frameWriter, interval time.Duration, read func(context.Context) *plan.Status) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		st := read(ctx)
		if ctx.Err() != nil {
			return out.end()
		}
		if err := out.frame(st, interval); err != nil {
			return errors.Join(err, out.end())
		}
		select {
		case <-ctx.Done():
			return out.end()
		case <-ticker.C:
		}
	}
}
