package views

import (
	"fmt"
	"strings"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// reconcile writes what `stackctl reconcile` recorded, in the status head:
// the commit the stack runs, the latest drift and the latest pass when it
// says something the first two lines do not (a refused or failed commit).
func (h *human) reconcile(r *plan.ReconcileStatus, now time.Time) {
	if r == nil {
		return
	}
	if a := r.Applied; a != nil {
		h.printf("  git      at commit %s (%s), applied %s\n", a.Short, a.Subject, when(a.AppliedAt, now))
	} else {
		h.printf("  git      no commit applied by stackctl reconcile yet\n")
	}
	if d := r.LastDrift; d != nil {
		if d.Result.Failed() {
			h.printf("  drift    seen %s, %s: %s\n", when(d.Time, now), h.red("NOT healed"), outcome(d))
		} else {
			h.printf("  drift    seen and healed %s: %s\n", when(d.Time.Add(d.Duration()), now), driftLine(d))
		}
	}
	if l := r.Last; l != nil && !sameEntry(l, r.LastDrift) && !isApplied(l, r.Applied) {
		h.printf("  latest   %s (%s) %s %s\n", l.Short, l.Subject, h.result(l.Result), when(l.Time, now))
		for _, line := range strings.Split(strings.TrimSpace(l.Error), "\n") {
			if line != "" {
				h.printf("             %s\n", line)
			}
		}
	}
	if r.Error != "" {
		h.printf("  records  %s %s\n", h.red("unreadable:"), r.Error)
	}
}

// isApplied reports whether e is the successful pass of the applied commit,
// which the commit line has said already.
func isApplied(e *plan.ReconcileEntry, a *plan.ReconcileApplied) bool {
	return a != nil && e.Commit == a.Commit && !e.Result.Failed() && e.Result != plan.ResultInvalid && e.Result != plan.ResultRefused
}

func sameEntry(a, b *plan.ReconcileEntry) bool {
	return b != nil && a.Time.Equal(b.Time) && a.Commit == b.Commit && a.Trigger == b.Trigger
}

func (h *human) result(r plan.ReconcileResult) string {
	switch r {
	case plan.ResultApplied, plan.ResultNoChanges:
		return h.green(string(r))
	}
	return h.red(string(r))
}

// driftLine is the first drift an entry saw, and how many more.
func driftLine(e *plan.ReconcileEntry) string {
	switch len(e.Drift) {
	case 0:
		return e.Changes
	case 1:
		return e.Drift[0]
	}
	return fmt.Sprintf("%s, and %d more", e.Drift[0], len(e.Drift)-1)
}

// outcome is an entry's result and the first line of its error.
func outcome(e *plan.ReconcileEntry) string {
	if e.Error == "" {
		return string(e.Result)
	}
	return string(e.Result) + ": " + firstLine(e.Error)
}

// when is "2m ago (2025-11-25 14:00:00)", or "at 2025-11-25 14:00:00" when
// the time of the observation is not known.
func when(t, now time.Time) string {
	at := t.Local().Format(time.DateTime)
	if now.IsZero() {
		return "at " + at
	}
	return Ago(now.Sub(t)) + " (" + at + ")"
}

// Ago says how long ago something was, rounded down to one unit: "40s ago",
// "2m ago", "5h ago", "3d ago".
func Ago(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}
