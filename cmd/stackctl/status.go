package main

import "github.com/spf13/cobra"

// statusOptions are status's flags.
type statusOptions struct {
	file string
	json bool
}

func newStatusCmd() *cobra.Command {
	var opts statusOptions
	cmd := &cobra.Command{
		Use:   "status [-f FILE] [--json]",
		Short: "Show what runs, where, and whether Consul sees it passing",
		Long: `Status lists the stack's containers with their state, image and published
ports, and the health of each worker as Consul sees it. It changes nothing.`,
		Example: `  stackctl status -f stack.yaml
  stackctl status --json | jq '.workers[] | select(.health != "passing")'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errNotBuilt("status")
		},
	}
	addFileFlag(cmd, &opts.file)
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the status as JSON")
	return cmd
}
