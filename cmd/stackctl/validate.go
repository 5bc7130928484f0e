package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/spec"
)

func newValidateCmd() *cobra.Command {
	var file stackFile
	cmd := &cobra.Command{
		Use:   "validate [-f FILE]",
		Short: "Check a stack file; touches nothing",
		Long: `Validate parses and checks a stack file, and touches nothing: no Docker
engine or Consul agent is needed.

Every problem is printed, one per line, as FILE:LINE:COL: what is wrong
(what was expected), and the exit status is 1. A valid file prints a summary
and exits 0: the stack, and the LB template's form (a conf.d include or a
whole nginx.conf) and what it renders against the workers the stack declares,
each at its container name. ${VAR} references are expanded from the environment, so set the
variables the file uses.`,
		Example: `  stackctl validate
  stackctl validate -f stack.example.yaml
  PRIME_DIGITS=9 stackctl validate -f stacks/primes/stack.yaml`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return validate(cmd, file)
		},
	}
	addFileFlag(cmd, &file)
	return cmd
}

// validate loads the stack file; its problems, if any, are printed by run
// (see reportError).
func validate(cmd *cobra.Command, file stackFile) error {
	st, _, err := spec.LoadEnv(file.path, file.env)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	if err := checkEnvPorts(file, st); err != nil {
		return exitWith(exitFailure, err)
	}
	lbt, err := checkLBTemplate(st)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	workers := 0
	for _, svc := range st.Services {
		workers += svc.Replicas
	}
	stdout := cmd.OutOrStdout()
	fmt.Fprintf(stdout, "%s: %s (stack %q: %s, %s)\n", file, styleFor(stdout).green("valid"), st.Name,
		plural(len(st.Services), "service"), plural(workers, "worker"))
	if lbt != nil {
		fmt.Fprintf(stdout, "lb template %s: %s\n", lbt.File, lbt.Summary())
	}
	return nil
}
