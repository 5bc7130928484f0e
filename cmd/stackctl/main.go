// Command stackctl turns a stack file into a running, load-balanced,
// service-discovered set of containers on Docker, and keeps it that way.
//
// This file holds the root command, exit codes and output helpers; every
// subcommand lives in a file of its own (validate.go, plan.go, ...).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/spec"
)

// Exit codes.
const (
	exitOK      = 0 // success; for plan --detailed-exitcode: no changes
	exitFailure = 1 // an error, or an invalid stack file
	exitChanges = 2 // plan --detailed-exitcode: the plan has changes
	// exitRolledBack: apply failed and was rolled back; the stack is as
	// it was before. A rollback that failed too is exitFailure.
	exitRolledBack = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit code. Tests call it
// in-process.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(longFlagsWithOneDash(root, args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(os.Stdin)
	cmd, err := root.ExecuteC()
	var exit *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &exit):
		if exit.err != nil {
			reportError(stderr, exit.err)
		}
		return exit.code
	}
	reportError(stderr, err)
	if isUsageError(err) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return exitFailure
}

// reportError prints an error as "stackctl: ...". The problems of an
// invalid stack file are printed first, one per line, as FILE:LINE:COL:
// message, so that editors and terminals can jump to them.
func reportError(w io.Writer, err error) {
	var problems *spec.Errors
	if !errors.As(err, &problems) || len(problems.Problems) == 0 {
		fmt.Fprintf(w, "stackctl: %v\n", err)
		return
	}
	printProblems(w, problems)
	fmt.Fprintf(w, "stackctl: %s is not valid: %s\n", problems.Problems[0].Pos.File, plural(len(problems.Problems), "problem"))
}

func printProblems(w io.Writer, problems *spec.Errors) {
	s := styleFor(w)
	for _, p := range problems.Problems {
		fmt.Fprintf(w, "%s: %s\n", s.bold(p.Pos.String()), p.Msg)
	}
}

// plural is "1 service", "2 services".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "stackctl",
		Short: "Run a stack of containers on Docker, load-balanced and registered in Consul",
		Long: `stackctl turns a stack file committed to git into a running, load-balanced,
service-discovered set of containers on Docker, and keeps it that way.

"stackctl plan" shows exactly what would change; "stackctl apply" makes those
changes in a safe order, gated on health, and puts everything back as it was
when something fails.

Environment:
  DOCKER_HOST        the Docker engine to use (default: the local socket)
  CONSUL_HTTP_ADDR   a Consul agent to use instead of the stack's own
  CONSUL_HTTP_TOKEN  the Consul ACL token, if Consul needs one
  NO_COLOR           set to anything to turn colour off

Exit codes: 0 success, 1 error or invalid stack file, 2 plan has changes
(with --detailed-exitcode), 3 apply failed and was rolled back (the stack is
as it was before).`,
		Example: `  stackctl validate -f stack.example.yaml
  stackctl plan -f stack.yaml -out primes.plan
  stackctl apply primes.plan
  stackctl status -f stack.yaml
  stackctl logs -f stack.yaml --follow web`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newValidateCmd(),
		newPlanCmd(),
		newApplyCmd(),
		newDestroyCmd(),
		newUnlockCmd(),
		newStatusCmd(),
		newReconcileCmd(),
		newHistoryCmd(),
		newEnvsCmd(),
		newDiffCmd(),
		newPromoteCmd(),
		newLogsCmd(),
		newStressCmd(),
		newUICmd(),
		newSchemaCmd(),
		newVersionCmd(),
		newLBCmd(),
	)
	return root
}

// exitError ends the command with a given exit code. A nil err means the
// command has already said what went wrong.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitWith returns an error that makes stackctl exit with code, printing err
// (if not nil) as "stackctl: err".
func exitWith(code int, err error) error { return &exitError{code: code, err: err} }

// usageError is a mistake on the command line rather than a failure.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command ")
}

// args wraps a positional-argument check so its failure counts as a usage
// error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// stackFile is what a stack command works on: the stack file (-f) and the
// environment (-e), whose overlay is read beside it.
type stackFile struct {
	path string
	env  string
	// exclude are hosts left out of this run (--exclude-host).
	exclude []string
}

// String is how a command line names it: "stack.yaml -e staging".
func (f stackFile) String() string {
	if f.env == "" {
		return f.path
	}
	return f.path + " -e " + f.env
}

// addFileFlag adds the -f/--file and -e/--env flags every stack command has.
func addFileFlag(cmd *cobra.Command, file *stackFile) {
	cmd.Flags().StringVarP(&file.path, "file", "f", "stack.yaml", "the stack file")
	addEnvFlag(cmd, file)
}

// addExcludeFlag is --exclude-host, for the commands that place a stack
// over its hosts.
func addExcludeFlag(cmd *cobra.Command, file *stackFile) {
	cmd.Flags().StringArrayVar(&file.exclude, "exclude-host", nil,
		"leave a host of the stack file out of this run, as if it were not listed: a host that is down, whose workers are placed on the others until it is back (repeatable)")
}

func addEnvFlag(cmd *cobra.Command, file *stackFile) {
	cmd.Flags().StringVarP(&file.env, "env", "e", "", "the environment: the stack file merged with its overlay beside it (stack.yaml -e staging reads stack.staging.yaml); the stack is named NAME-ENV")
}

// longFlagsWithOneDash lets long flags be written with one dash, as in
// "plan -out PLAN" and "apply -lock-timeout 30s" (the spelling users of
// similar tools type), by adding the second dash that pflag wants. Only
// names of real long flags are rewritten; "-f FILE" stays a shorthand.
func longFlagsWithOneDash(root *cobra.Command, args []string) []string {
	long := map[string]bool{}
	var collect func(*cobra.Command)
	collect = func(c *cobra.Command) {
		mark := func(f *pflag.Flag) { long[f.Name] = len(f.Name) > 1 }
		c.Flags().VisitAll(mark)
		c.PersistentFlags().VisitAll(mark)
		for _, sub := range c.Commands() {
			collect(sub)
		}
	}
	collect(root)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if long[name] {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// style colours terminal output, unless NO_COLOR is set, TERM is dumb or the
// output is not a terminal.
type style struct{ on bool }

func styleFor(w io.Writer) style {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return style{}
	}
	f, ok := w.(*os.File)
	return style{on: ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))}
}

func (s style) wrap(code, text string) string {
	if !s.on {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) bold(text string) string  { return s.wrap("1", text) }
func (s style) red(text string) string   { return s.wrap("31", text) }
func (s style) green(text string) string { return s.wrap("32", text) }

// openDocker is the Docker client of every command: the engine DOCKER_HOST
// names, or the local socket.
func openDocker() (*dockerapi.Client, error) {
	docker, err := dockerapi.New()
	if err != nil {
		return nil, fmt.Errorf("Docker client: %w", err)
	}
	return docker, nil
}
