package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/internal/consulapi"
)

// unlockOptions are unlock's flags.
type unlockOptions struct {
	file  stackFile
	force bool
}

func newUnlockCmd() *cobra.Command {
	var opts unlockOptions
	cmd := &cobra.Command{
		Use:   "unlock [-f FILE] [--force] [LOCK-ID]",
		Short: "Break the stack's lock, held by an apply that will not finish",
		Long: `Unlock shows who holds the stack's lock in Consul and, once you confirm
(or with --force), releases it by destroying the holder's Consul session.
The journal of the apply that held it stays: the next apply rolls back
what it left unfinished before planning. An apply still running under the
lock notices at once, stops, and rolls back if it can take the lock again.

You rarely need it: apply takes the lock over by itself from a holder that
ran on this machine and whose process is gone, and Consul releases the lock
of a holder that died elsewhere within 20s. Unlock is for a holder that
hangs, or a lock you know to be stale sooner.

LOCK-ID, as apply's "locked by" error and unlock itself print it, must be
the ID of the lock held now: a lock that changed hands is not broken. Without
a terminal to confirm on, unlock needs --force.`,
		Example: `  stackctl unlock -f stack.yaml
  stackctl unlock -f stack.yaml --force 5c1f0c59-5f4b-2d5d-8e1e-3a3c0f0b6a11`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			id := ""
			if len(argv) == 1 {
				id = argv[0]
			}
			return runUnlock(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), opts, id)
		},
	}
	addFileFlag(cmd, &opts.file)
	cmd.Flags().BoolVar(&opts.force, "force", false, "break the lock without asking for confirmation")
	return cmd
}

// unlockTimeout bounds unlock's reads and writes: it waits for nothing.
const unlockTimeout = time.Minute

func runUnlock(ctx context.Context, in io.Reader, out io.Writer, o unlockOptions, id string) error {
	ctx, cancel := context.WithTimeout(ctx, unlockTimeout)
	defer cancel()
	st, _, err := loadStack(o.file)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	docker, err := openDocker()
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer docker.Close()
	exec := apply.New(st, docker, consulapi.Dialer, apply.Options{Operation: "unlock"})
	exec.ConsulAddr = os.Getenv("CONSUL_HTTP_ADDR")
	state, err := observe(ctx, st)
	if err != nil {
		return exitWith(exitFailure, fmt.Errorf("cannot read the live state of stack %s: %w", st.Name, err))
	}
	info, err := exec.ReadLock(ctx, state)
	if err != nil {
		return exitWith(exitFailure, fmt.Errorf("read the lock of stack %s: %w", st.Name, err))
	}
	if info == nil {
		if id != "" {
			return exitWith(exitFailure, &apply.LockChangedError{Stack: st.Name, Want: id})
		}
		fmt.Fprintf(out, "Stack %s is not locked: nothing to unlock.\n", st.Name)
		return nil
	}
	showLock(out, st.Name, info)
	if id != "" && id != info.ID {
		return exitWith(exitFailure, &apply.LockChangedError{Stack: st.Name, Want: id, Now: info.ID})
	}
	if !o.force {
		err := confirmOr(in, out, "Do you really want to break the lock of stack "+st.Name+"?",
			"An apply still running under it stops and rolls back; the next apply rolls back one that is gone.",
			errors.New("no terminal to confirm on: run with --force to break the lock without confirmation"))
		if err != nil {
			return err
		}
	}
	if err := exec.BreakLock(ctx, info.ID); err != nil {
		return exitWith(exitFailure, err)
	}
	fmt.Fprintf(out, "\nReleased the lock %s of stack %s.\n", info.ID, st.Name)
	if j := info.Journal; j != nil && !j.Paused {
		fmt.Fprintf(out, "The journal of the unfinished %s %s stays: the next apply rolls it back before planning.\n", j.Operation, j.ApplyID)
	}
	return nil
}

// showLock prints who holds the lock and what is known of its process.
func showLock(out io.Writer, stack string, info *apply.LockInfo) {
	h := info.Holder
	fmt.Fprintf(out, "Stack %s is locked by %s.\n", stack, h)
	fmt.Fprintf(out, "  Lock ID:  %s (%s)\n", info.ID, info.Key)
	switch {
	case info.Gone:
		fmt.Fprintf(out, "  Process:  pid %d on this machine has ended (an apply would take the lock over by itself)\n", h.PID)
	case info.Here:
		fmt.Fprintf(out, "  Process:  pid %d on this machine is still running\n", h.PID)
	case h.Host != "":
		fmt.Fprintf(out, "  Process:  pid %d on %s, not this machine: whether it runs is unknown\n", h.PID, h.Host)
	default:
		fmt.Fprintln(out, "  Process:  unknown (the lock does not say where its holder runs)")
	}
	if j := info.Journal; j != nil {
		state := "unfinished"
		if j.Paused {
			state = "paused"
		}
		fmt.Fprintf(out, "  Journal:  the %s %s started at %s is %s\n", j.Operation, j.ApplyID, j.StartedAt.UTC().Format(time.RFC3339), state)
	}
}
