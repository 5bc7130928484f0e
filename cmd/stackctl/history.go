package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/reconcile"
)

// historyOptions are history's flags.
type historyOptions struct {
	file  stackFile
	json  bool
	limit int
}

func newHistoryCmd() *cobra.Command {
	var o historyOptions
	cmd := &cobra.Command{
		Use:   "history [-f FILE] [-n N] [--json]",
		Short: "List what stackctl reconcile applied and refused, newest first",
		Long: `History lists the passes "stackctl reconcile" recorded for the stack in
Consul KV (stackctl/<stack>/reconcile/history, the last 100): when, the
commit, what triggered it (a new commit, drift, or a manual pass), the
result (applied, no changes, rolled back, error, invalid, refused) and how
long it took, with the error or the drift that was healed below.

--json prints the record as it is stored (docs/reconcile.md).`,
		Example: `  stackctl history -f stack.yaml
  stackctl history -f stack.yaml -n 5
  stackctl history --json | jq '.entries[] | select(.result != "applied")'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runHistory(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	addFileFlag(cmd, &o.file)
	cmd.Flags().BoolVar(&o.json, "json", false, "print the history record as JSON")
	cmd.Flags().IntVarP(&o.limit, "number", "n", 0, "show the newest N entries only (0: all)")
	return cmd
}

// historyTimeout bounds history's reads: it waits for nothing.
const historyTimeout = 30 * time.Second

func runHistory(ctx context.Context, out io.Writer, o historyOptions) error {
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
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
	pool := &consulapi.Pool{}
	defer pool.Close()
	kv := &stackKV{docker: docker, pool: pool}
	client, err := kv.client(ctx, st)
	if errors.Is(err, reconcile.ErrNoConsul) {
		return exitWith(exitFailure, fmt.Errorf("stack %s has no Consul running: nothing was applied to it, or it was destroyed", st.Name))
	}
	if err != nil {
		return exitWith(exitFailure, err)
	}
	key := st.KVPrefix() + plan.KVReconcileHistory
	data, ok, err := client.KVGet(ctx, key)
	if err != nil {
		return exitWith(exitFailure, fmt.Errorf("read %s: %w", key, err))
	}
	if !ok {
		fmt.Fprintf(out, "No history: stackctl reconcile has recorded nothing for stack %s.\n", st.Name)
		return nil
	}
	h, err := plan.ParseReconcileHistory(data)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	if o.limit > 0 && len(h.Entries) > o.limit {
		h.Entries = h.Entries[len(h.Entries)-o.limit:]
	}
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(h)
	}
	return writeHistory(out, h.Entries)
}

// writeHistory prints entries newest first, one row each, with the error
// or the drift of an entry on the lines below its row.
func writeHistory(out io.Writer, entries []plan.ReconcileEntry) error {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tCOMMIT\tTRIGGER\tRESULT\tDURATION\tSUBJECT")
	details := [][]string{nil}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		subject := e.Subject
		if e.Changes != "" && e.Result == plan.ResultApplied {
			subject += " (" + e.Changes + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.Short, e.Trigger, e.Result,
			e.Duration().Round(100*time.Millisecond), subject)
		details = append(details, entryDetails(e))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for i, row := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		b.WriteString(strings.TrimRight(row, " ") + "\n")
		for _, d := range details[i] {
			b.WriteString("    " + d + "\n")
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// entryDetails are the lines under an entry's row: its error, else the
// drift it healed.
func entryDetails(e plan.ReconcileEntry) []string {
	if e.Error != "" {
		return strings.Split(strings.TrimSpace(e.Error), "\n")
	}
	if len(e.Drift) > 0 {
		return append([]string{"drift:"}, e.Drift...)
	}
	return nil
}
