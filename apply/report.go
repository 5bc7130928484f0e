package apply

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Report is what an apply did: the steps done, what failed, what was rolled
// back and what could not be.
type Report struct {
	Stack     string
	ApplyID   string
	Operation string

	Done   []string
	Failed []*StepError
	// Err is why the apply failed (nil: it succeeded).
	Err error
	// Paused: the failure left the partial state in place (on_failure: pause).
	Paused bool
	// RolledBack lists the steps undone; RollbackErr what could not be.
	RolledBack  []string
	RollbackErr error
	// ForwardOnly: a destroy failed, and a destroy is never rolled back.
	ForwardOnly bool
	// Restored: the apply failed and its rollback undid every step it had
	// done (there may have been none), journal included: the stack is as
	// it was before. False when it succeeded, paused, was a destroy, or
	// could not roll back in full.
	Restored bool
	// Cleanup is what went wrong removing kept containers after success.
	Cleanup error
	// Recovered says what Prepare did with an unfinished apply.
	Recovered Recovery
}

// OK reports whether the apply succeeded.
func (r *Report) OK() bool { return r.Err == nil }

// Write explains the report to a person.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	switch {
	case r.Err == nil:
		fmt.Fprintf(&b, "%s complete: %d steps done.\n", capitalize(r.Operation), len(r.Done))
		if r.Cleanup != nil {
			fmt.Fprintf(&b, "Warning: some objects could not be removed (plan shows them):\n%s", indent(ErrorLines(r.Cleanup)))
		}
		_, err := io.WriteString(w, b.String())
		return err
	case len(r.Failed) > 0:
		fmt.Fprintf(&b, "%s of stack %s failed:\n", capitalize(r.Operation), r.Stack)
		if errors.Is(r.Err, ErrLockLost) {
			fmt.Fprintf(&b, "  %v\n", r.Err)
		}
		for _, f := range r.Failed {
			fmt.Fprintf(&b, "  ✗ %s %s: %v\n", f.Step.Action, f.Step.ID, f.Err)
		}
	default:
		fmt.Fprintf(&b, "%s of stack %s failed: %v\n", capitalize(r.Operation), r.Stack, r.Err)
	}
	switch {
	case r.ForwardOnly:
		fmt.Fprintf(&b, "A destroy is not rolled back: what it removed stays removed. Run `stackctl plan` to see what is\n"+
			"left, and destroy again to remove it.\n")
		if r.RollbackErr != nil {
			fmt.Fprintf(&b, "Also:\n%s", indent(ErrorLines(r.RollbackErr)))
		}
	case r.Paused:
		fmt.Fprintf(&b, "update.on_failure is pause: the stack is left as it is now, part old and part new.\n"+
			"Old containers are kept stopped (named <name>.old-<id>). Run `stackctl plan` to see the state,\n"+
			"then apply again (fixed stack file) to converge.\n")
	case len(r.RolledBack) > 0 || r.RollbackErr != nil:
		ids := append([]string(nil), r.RolledBack...)
		sort.Strings(ids)
		fmt.Fprintf(&b, "Rolled back %d step(s): %s\n", len(ids), strings.Join(ids, ", "))
		if r.RollbackErr != nil {
			fmt.Fprintf(&b, "Could NOT roll back:\n%s", indent(ErrorLines(r.RollbackErr)))
			fmt.Fprintf(&b, "The journal is kept at %sjournal; the next apply tries again.\n", "stackctl/"+r.Stack+"/")
		} else {
			fmt.Fprintf(&b, "The stack is as it was before the apply: the same containers, registrations and LB config.\n")
		}
	default:
		fmt.Fprintf(&b, "Nothing had been changed.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func capitalize(s string) string {
	if s == "" {
		return "Apply"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ErrorLines flattens an error, and the errors a go-multierror collected in
// it, into one line each; none for nil.
func ErrorLines(err error) []string {
	if err == nil {
		return nil
	}
	var merr *multierror.Error
	if errors.As(err, &merr) {
		var out []string
		for _, e := range merr.Errors {
			out = append(out, ErrorLines(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  - " + l + "\n")
	}
	return b.String()
}
