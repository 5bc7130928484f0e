package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

// observeTimeout bounds reading live state: a plan that cannot read Docker
// and Consul in this long has nothing trustworthy to say.
const observeTimeout = 60 * time.Second

type planOptions struct {
	file     stackFile
	out      string
	json     bool
	format   string
	detailed bool
}

// Plan output formats (--format).
const (
	formatHuman    = "human"
	formatJSON     = "json"
	formatMarkdown = "markdown"
)

// errFormatConflict: --json is short for --format json, so the two can
// only agree.
var errFormatConflict = errors.New("--json is --format json: give one or the other")

// outputFormat is the format --format and --json ask for, refusing an
// unknown one and the two flags at odds. formatSet tells a --format given
// from its default.
func (o planOptions) outputFormat(formatSet bool) (string, error) {
	switch o.format {
	case formatHuman, formatJSON, formatMarkdown:
	default:
		return "", usageError{fmt.Errorf("--format %q: want human, json or markdown", o.format)}
	}
	if o.json && formatSet && o.format != formatJSON {
		return "", usageError{errFormatConflict}
	}
	if o.json {
		return formatJSON, nil
	}
	return o.format, nil
}

func newPlanCmd() *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan [-f FILE] [-out PLAN] [--format human|json|markdown] [--detailed-exitcode]",
		Short: "Show what apply would change; change nothing",
		Long: `Read the stack's live state from Docker and Consul (only objects labelled
io.stackctl.stack=<name>), compare it with the stack file and print the
changes apply would make, in the order it would make them. Nothing is changed.

Docker is reached through DOCKER_HOST or the default socket; Consul through
CONSUL_HTTP_ADDR, else the stack's consul.address, else the host port the
stack's Consul container publishes. CONSUL_HTTP_TOKEN is sent when set.

--format markdown prints the plan as a pull-request comment (docs/plan-markdown.md):
its first line, <!-- stackctl-plan: STACK -->, lets a CI job find the comment it
posted before and update it. Env values are never shown in it.`,
		Example: `  stackctl plan -f stack.yaml
  stackctl plan -f stack.yaml -out primes.plan && stackctl apply primes.plan
  stackctl plan -f stack.yaml --json | jq '.summary'
  stackctl plan -f stack.yaml --format markdown --detailed-exitcode > plan.md`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := o.outputFormat(cmd.Flags().Changed("format"))
			if err != nil {
				return err
			}
			o.format = format
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runPlan(ctx, cmd.OutOrStdout(), o)
		},
	}
	addFileFlag(cmd, &o.file)
	addExcludeFlag(cmd, &o.file)
	cmd.Flags().StringVar(&o.out, "out", "", "also save the plan to this file, for `stackctl apply PLAN`")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the plan as JSON (format: docs/plan-json.md); the same as --format json")
	cmd.Flags().StringVar(&o.format, "format", formatHuman, "how to print the plan: human, json (docs/plan-json.md) or markdown, a pull-request comment (docs/plan-markdown.md)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{formatHuman, formatJSON, formatMarkdown}, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().BoolVar(&o.detailed, "detailed-exitcode", false, "exit 2 when the plan has changes, 0 when it has none")
	return cmd
}

func runPlan(ctx context.Context, stdout io.Writer, o planOptions) error {
	// The bytes parsed are the bytes returned, so that a saved plan's stack
	// hash is that of exactly the file the plan was made from.
	stack, sources, err := loadAnyStack(o.file)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	if err := checkEnvPorts(o.file, stack); err != nil {
		return exitWith(exitFailure, err)
	}
	if _, err := checkLBTemplate(stack); err != nil {
		return exitWith(exitFailure, err)
	}

	state, err := observe(ctx, stack)
	if err != nil {
		return exitWith(exitFailure, fmt.Errorf("cannot read the live state of stack %s: %w", stack.Name, err))
	}
	p := plan.Compute(stack, state)
	if w := stressLeftWarning(stack); w != nil {
		p.Warnings = append(p.Warnings, *w)
	}

	if o.out != "" {
		var tmpl *string
		if stack.LB != nil {
			tmpl = &stack.LB.TemplateSource
		}
		f := plan.NewFile(p, o.file.path, sources[0].Data, tmpl, state)
		if o.file.env != "" {
			f.Env, f.OverlaySHA256 = o.file.env, plan.SHA256(sources[1].Data)
		}
		f.ExcludeHosts = o.file.exclude
		if err := plan.Save(o.out, f); err != nil {
			return exitWith(exitFailure, err)
		}
	}
	if err := printPlan(stdout, p, state, o); err != nil {
		return exitWith(exitFailure, err)
	}
	if o.detailed && !p.Empty() {
		return exitWith(exitChanges, nil)
	}
	return nil
}

func observe(ctx context.Context, stack *spec.Stack) (*plan.State, error) {
	en, err := openEngines(stack)
	if err != nil {
		return nil, err
	}
	defer en.close()
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	return en.observer().Observe(ctx, stack)
}

// printPlan prints the plan in o.format. Markdown shows the fingerprint of
// the state the plan was computed from, which a plan file saved with -out
// records too.
func printPlan(w io.Writer, p *plan.Plan, state *plan.State, o planOptions) error {
	switch o.format {
	case formatJSON:
		return views.JSON(w, p)
	case formatMarkdown:
		return views.Markdown(w, p, views.MarkdownOptions{Fingerprint: plan.Fingerprint(state)})
	}
	if err := views.Human(w, p, styleFor(w).on); err != nil {
		return err
	}
	if o.out != "" {
		_, err := fmt.Fprintf(w, "\nSaved the plan to %s. To make exactly these changes, run:\n  stackctl apply %s\n", o.out, o.out)
		return err
	}
	return nil
}
