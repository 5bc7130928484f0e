package main

import (
	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/spec"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the stack file format",
		Long: `Schema prints the JSON Schema (draft 2020-12) of the stack file format, for
editors that check and complete YAML as you type. It covers the shape of the
file; "stackctl validate" also checks what a schema cannot, such as whether
files exist and host ports clash.`,
		Example: `  stackctl schema > stack.schema.json
  # then, first line of stack.yaml for editors using yaml-language-server:
  # yaml-language-server: $schema=./stack.schema.json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(spec.Schema())
			return err
		},
	}
}
