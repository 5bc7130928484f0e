package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/plan"
)

// destroyOptions are destroy's flags.
type destroyOptions struct {
	file        stackFile
	autoApprove bool
	lock        bool
	lockTimeout time.Duration
	json        bool
	parallelism int
}

func newDestroyCmd() *cobra.Command {
	var opts destroyOptions
	cmd := &cobra.Command{
		Use:   "destroy [-f FILE] [--auto-approve]",
		Short: "Remove everything the stack owns, and only that",
		Long: `Destroy removes every container, network, Consul registration and Consul KV
entry that carries the stack's ownership label, after showing them and asking
for confirmation (unless --auto-approve). Nothing without the label is ever
touched. It takes the same lock as apply.

The plan it shows is the one it runs, group by group: the LB first (then
nothing routes to the workers), then every worker container at once (at most
--parallelism at a time, each given 1s to exit before it is killed; with an
external Consul, the stack's registrations and then its KV keys too), and
last Consul's container, with the registrations and keys it holds, and the
network. A destroy is not rolled back when a step fails:
what was removed stays removed, and destroying again removes what is left.

With --json (which needs --auto-approve), stdout carries one JSON object per
line, as for apply: docs/apply-json.md.`,
		Example: `  stackctl destroy -f stack.yaml
  stackctl destroy -f stack.yaml --auto-approve
  stackctl destroy -f stack.yaml --auto-approve --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runDestroy(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), opts)
		},
	}
	addFileFlag(cmd, &opts.file)
	addExcludeFlag(cmd, &opts.file)
	cmd.Flags().BoolVar(&opts.autoApprove, "auto-approve", false, "destroy without asking for confirmation")
	cmd.Flags().BoolVar(&opts.lock, "lock", true, "hold the stack's lock in Consul while destroying (-lock=false to skip)")
	cmd.Flags().DurationVar(&opts.lockTimeout, "lock-timeout", apply.DefaultLockWait, lockTimeoutUsage)
	cmd.Flags().IntVar(&opts.parallelism, "parallelism", apply.DestroyWorkers, "how many removals run at once")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print events as JSON lines (format: docs/apply-json.md); needs --auto-approve")
	return cmd
}

func runDestroy(ctx context.Context, in io.Reader, out io.Writer, o destroyOptions) error {
	if err := checkJSONApproval(o.json, o.autoApprove); err != nil {
		return err
	}
	st, _, err := loadAnyStack(o.file)
	if err == nil {
		err = undoStressLeftovers(ctx, os.Stderr, st)
	}
	if err != nil {
		return exitWith(exitFailure, err)
	}
	view := newApplyView(out, o.json)
	defer view.stop()
	s, err := openSession(ctx, view, st, "destroy", o.lock, o.lockTimeout, o.parallelism)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer s.close()
	p := plan.ComputeDestroy(st, s.state)
	if p.Empty() && !o.json {
		fmt.Fprintf(out, "Nothing to destroy: stack %s owns no containers, network, registrations or keys.\n", st.Name)
		return nil
	}
	if err := view.showPlan(p); err != nil {
		return exitWith(exitFailure, err)
	}
	if !o.autoApprove {
		if err := confirm(in, out, "Do you really want to destroy stack "+st.Name+"?",
			"Every object listed above will be removed. There is no undo."); err != nil {
			return err
		}
	}
	return s.execute(ctx, p)
}
