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
	"github.com/stackctl/stackctl/plan/views"
)

// destroyOptions are destroy's flags.
type destroyOptions struct {
	file        string
	autoApprove bool
	lock        bool
	lockTimeout time.Duration
}

func newDestroyCmd() *cobra.Command {
	var opts destroyOptions
	cmd := &cobra.Command{
		Use:   "destroy [-f FILE] [--auto-approve]",
		Short: "Remove everything the stack owns, and only that",
		Long: `Destroy removes every container, network, Consul registration and Consul KV
entry that carries the stack's ownership label, after showing them and asking
for confirmation (unless --auto-approve). Nothing without the label is ever
touched. It takes the same lock as apply.`,
		Example: `  stackctl destroy -f stack.yaml
  stackctl destroy -f stack.yaml --auto-approve`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runDestroy(ctx, cmd.InOrStdin(), cmd.OutOrStdout(), opts)
		},
	}
	addFileFlag(cmd, &opts.file)
	cmd.Flags().BoolVar(&opts.autoApprove, "auto-approve", false, "destroy without asking for confirmation")
	cmd.Flags().BoolVar(&opts.lock, "lock", true, "hold the stack's lock in Consul while destroying (-lock=false to skip)")
	cmd.Flags().DurationVar(&opts.lockTimeout, "lock-timeout", 0, "how long to wait for the lock (0: fail at once if it is held)")
	return cmd
}

func runDestroy(ctx context.Context, in io.Reader, out io.Writer, o destroyOptions) error {
	st, _, err := loadStack(o.file)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	s, err := openSession(ctx, out, st, "destroy", o.lock, o.lockTimeout, 0)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer s.close()
	p := apply.DestroyPlan(st, s.state)
	if p.Empty() {
		fmt.Fprintf(out, "Nothing to destroy: stack %s owns no containers, network, registrations or keys.\n", st.Name)
		return nil
	}
	if err := views.Human(out, p, styleFor(out).on); err != nil {
		return exitWith(exitFailure, err)
	}
	if !o.autoApprove {
		if err := confirm(in, out, "Do you really want to destroy stack "+st.Name+"?",
			"Every object listed above will be removed. There is no undo."); err != nil {
			return err
		}
	}
	return s.execute(ctx, out, p)
}
