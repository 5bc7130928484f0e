package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

type envsOptions struct {
	file string
	json bool
}

func newEnvsCmd() *cobra.Command {
	var o envsOptions
	cmd := &cobra.Command{
		Use:   "envs [-f FILE] [--json]",
		Short: "List the stack file's environments with their version, health and LB address",
		Long: `Envs lists the stack file on its own and every environment with an overlay
beside it (stack.yaml and stack.ENV.yaml), each with the images its workers
run, how many of them Consul sees passing, and the load balancer's address;
then any environment of the stack that runs on the engine but has no overlay
any more. It changes nothing.`,
		Example: `  stackctl envs -f stacks/primes/stack.yaml
  stackctl envs --json | jq '.[] | select(.passing < .desired)'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runEnvs(ctx, cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVarP(&o.file, "file", "f", "stack.yaml", "the stack file")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the environments as a JSON array")
	return cmd
}

// envRow is one environment in `stackctl envs`.
type envRow struct {
	Env      string   `json:"env"` // "" for the stack file on its own
	Stack    string   `json:"stack"`
	File     string   `json:"file,omitempty"` // the overlay; "" for none
	Deployed bool     `json:"deployed"`
	Images   []string `json:"images,omitempty"` // what the workers run, sorted
	Desired  int      `json:"desired"`
	Passing  int      `json:"passing"`
	LB       []string `json:"lb,omitempty"` // HOST_IP:HOST_PORT->PORT/PROTO
	// Error says why the environment could not be read: its files are not
	// a valid stack, or Docker or Consul did not answer.
	Error string `json:"error,omitempty"`
}

func runEnvs(ctx context.Context, stdout io.Writer, o envsOptions) error {
	envs, err := spec.Environments(o.file)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	base, _, err := spec.LoadEnv(o.file, "")
	if err != nil {
		return exitWith(exitFailure, err)
	}
	reader, err := newStatusReader()
	if err != nil {
		return exitWith(exitFailure, err)
	}
	defer reader.close()
	var rows []envRow
	known := map[string]bool{}
	for _, env := range append([]string{""}, envs...) {
		row := envRow{Env: env, Stack: spec.StackName(base.Name, env)}
		if env != "" {
			row.File = spec.OverlayPath(o.file, env)
		}
		known[row.Stack] = true
		st, _, err := loadStack(stackFile{path: o.file, env: env})
		if err != nil {
			row.Error = err.Error()
			rows = append(rows, row)
			continue
		}
		fillEnvRow(&row, reader.status(ctx, st, observeTimeout))
		rows = append(rows, row)
	}
	// Environments on the engine whose overlay is gone: shown, so that
	// nothing of the stack runs unseen.
	if live, err := reader.docker.ListEnvironments(ctx); err == nil {
		var orphans []envRow
		for stack, env := range live {
			if !known[stack] && stack == spec.StackName(base.Name, env) {
				orphans = append(orphans, envRow{Env: env, Stack: stack, Deployed: true,
					Error: "no overlay " + spec.OverlayPath(o.file, env) + ": destroy it with the overlay back in place"})
			}
		}
		sort.Slice(orphans, func(i, j int) bool { return orphans[i].Env < orphans[j].Env })
		rows = append(rows, orphans...)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return printEnvs(stdout, rows)
}

func fillEnvRow(row *envRow, st *plan.Status) {
	if st.Error != "" {
		row.Error = st.Error
		return
	}
	row.Desired, row.Passing = st.Summary.Desired, st.Summary.Passing
	images := map[string]bool{}
	for _, w := range st.Workers {
		if w.State != plan.StateMissing && !w.Old {
			row.Deployed = true
			images[w.Image] = true
		}
	}
	for img := range images {
		row.Images = append(row.Images, img)
	}
	sort.Strings(row.Images)
	if st.LB != nil && st.LB.State != plan.StateMissing {
		row.Deployed = true
		row.LB = st.LB.Ports
	}
}

func printEnvs(w io.Writer, rows []envRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "ENV\tSTACK\tVERSION\tHEALTH\tLB")
	for _, r := range rows {
		env := r.Env
		if env == "" {
			env = "(none)"
		}
		version, health, lb := "-", "not deployed", "-"
		switch {
		case r.Error != "":
			// One line per row: the first problem of an invalid overlay
			// (validate -e ENV lists them all).
			first, rest, more := strings.Cut(r.Error, "\n")
			health = "error: " + first
			if more {
				health += fmt.Sprintf(" (and %d more: stackctl validate -e %s)", strings.Count(rest, "\n")+1, r.Env)
			}
		case r.Deployed:
			version = strings.Join(r.Images, ", ")
			health = fmt.Sprintf("%d/%d passing", r.Passing, r.Desired)
			if len(r.LB) > 0 {
				lb = strings.Join(r.LB, ", ")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", env, r.Stack, version, health, lb)
	}
	return tw.Flush()
}
