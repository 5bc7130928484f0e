package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/spec"
)

// logsOptions are logs's flags.
type logsOptions struct {
	file       stackFile
	follow     bool
	since      string
	tail       string
	timestamps bool
}

func newLogsCmd() *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [--file FILE] [SERVICE[/SLOT] | lb | consul]... [-f|--follow] [--since D] [--tail N] [--timestamps]",
		Short: "Show the output of the stack's containers, one prefixed line at a time",
		Long: `Logs prints what the stack's containers wrote to stdout and stderr, as
"docker compose logs" does: every line behind the short name of its container
("web-3 |", "lb |", "consul |"), coloured per container on a terminal. Both
streams go to stdout.

Arguments choose containers: SERVICE (every slot of it), SERVICE/SLOT, lb, or
consul; none means all. Containers are found by the stack's ownership label,
so old containers an apply keeps stopped (<name>.old-<id>) are shown too,
marked "(old)"; a start-first replacement not yet passing is marked "(new)".

Without --follow, each container's output is printed in turn (consul, lb, then
workers by service and slot), not merged by time: use --timestamps to see when
each line was written. With -f/--follow (as in docker logs -f; here the
stack file is given with --file), the output of every container is streamed as it comes, containers that
appear later (a worker created by a concurrent apply) or start again are
picked up within a second, and Ctrl-C ends it.`,
		Example: `  stackctl logs                          # every container of stack.yaml's stack
  stackctl logs web lb --tail 20         # the last 20 lines of each worker and the LB
  stackctl logs web/3 --since 5m --timestamps
  stackctl logs -f web                   # stream the workers until Ctrl-C
  stackctl logs --file stacks/primes/stack.yaml lb`,
		ValidArgsFunction: completeLogsArgs(&opts.file),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runLogs(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), a, opts)
		},
	}
	// -f is --follow here, as in docker logs, kubectl logs and tail: the
	// habit of every user of a logs command outweighs -f meaning the stack
	// file in stackctl's other commands.
	cmd.Flags().StringVar(&opts.file.path, "file", "stack.yaml", "the stack file (-f is --follow in logs)")
	addEnvFlag(cmd, &opts.file)
	cmd.Flags().BoolVarP(&opts.follow, "follow", "f", false, "keep streaming new output, and containers that appear later, until Ctrl-C")
	cmd.Flags().StringVar(&opts.since, "since", "", `only output since a time ("2026-12-01T14:00:00Z") or for a duration back ("5m")`)
	cmd.Flags().StringVarP(&opts.tail, "tail", "n", "all", `the number of lines to show from the end of each container's output, or "all"`)
	cmd.Flags().BoolVarP(&opts.timestamps, "timestamps", "t", false, "show the time Docker received each line")
	return cmd
}

func runLogs(ctx context.Context, stdout, stderr io.Writer, args []string, o logsOptions) error {
	if err := checkNotAStackFile(args); err != nil {
		return usageError{err}
	}
	sels, err := parseSelectors(args)
	if err != nil {
		return usageError{err}
	}
	if err := checkTail(o.tail); err != nil {
		return usageError{err}
	}
	if err := dockerapi.CheckSince(o.since); err != nil {
		return usageError{err}
	}
	stack, docker, cs, err := stackContainers(ctx, o.file)
	if err != nil {
		return err
	}
	defer docker.Close()
	targets, err := selectTargets(stack.Name, cs, sels)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	out := newLogPrinter(stdout, styleFor(stdout))
	opts := dockerapi.LogOptions{Follow: o.follow, Since: o.since, Tail: o.tail, Timestamps: o.timestamps}
	if o.follow {
		f := &follower{src: docker, stack: stack.Name, sels: sels, opts: opts, out: out, stderr: stderr, poll: followPoll}
		return f.run(ctx, targets)
	}
	return printLogs(ctx, docker, targets, opts, out)
}

// printLogs prints each target's output in turn. A container whose output
// cannot be read is reported after the others have been printed.
func printLogs(ctx context.Context, src logSource, targets []logTarget, o dockerapi.LogOptions, out *logPrinter) error {
	streams := make([]*logStream, len(targets))
	for i, t := range targets {
		streams[i] = out.add(t.label) // all first, so that every prefix has one width
	}
	var errs *multierror.Error
	for i, t := range targets {
		if err := copyLogs(ctx, src, t.id, o, streams[i]); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("%s: %w", t.name, err))
		}
		if ctx.Err() != nil {
			return out.err()
		}
	}
	if err := out.err(); err != nil {
		return err
	}
	if err := errs.ErrorOrNil(); err != nil {
		return exitWith(exitFailure, err)
	}
	return nil
}

// checkTail accepts what docker logs --tail does: "all" or a count.
func checkTail(tail string) error {
	if tail == "all" {
		return nil
	}
	if n, err := strconv.Atoi(tail); err != nil || n < 0 {
		return fmt.Errorf(`--tail %q: give a number of lines, such as 100, or "all"`, tail)
	}
	return nil
}

// completeLogsArgs offers the stack file's services, lb and consul.
func completeLogsArgs(file *stackFile) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		names := []string{"lb", "consul"}
		if stack, _, err := spec.LoadEnv(file.path, file.env); err == nil {
			for _, svc := range stack.Services {
				names = append(names, svc.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// checkNotAStackFile catches "logs -f stack.yaml": -f follows in logs, so
// the file would otherwise be taken for a service name.
func checkNotAStackFile(args []string) error {
	for _, a := range args {
		if ext := filepath.Ext(a); ext == ".yaml" || ext == ".yml" {
			return fmt.Errorf("%q looks like a stack file, not a service: in logs, -f means --follow (as in docker logs -f); give the stack file with --file %s", a, a)
		}
	}
	return nil
}
