package plan

import (
	"encoding/json"
	"fmt"
	"time"
)

// Journal is what apply keeps at <KVPrefix>journal while it runs, and deletes
// when it finishes. A journal found by plan means an apply stopped halfway;
// the plan says so and what was left, and the next apply converges anyway.
type Journal struct {
	FormatVersion int           `json:"format_version"`
	StartedAt     time.Time     `json:"started_at"`
	Steps         []JournalStep `json:"steps"`
}

// JournalStep is one plan step as apply recorded it.
type JournalStep struct {
	ID     string `json:"id"` // Step.ID
	Status string `json:"status"`
}

// Journal step statuses.
const (
	JournalPending = "pending"
	JournalRunning = "running"
	JournalDone    = "done"
	JournalFailed  = "failed"
)

func journalWarning(key, raw string) Warning {
	var j Journal
	if err := json.Unmarshal([]byte(raw), &j); err != nil || j.FormatVersion != 1 {
		return Warning{
			Summary: "An apply did not finish: its journal is still in Consul at " + key + ".",
			Detail:  []string{"The journal could not be read; this plan is computed from live state alone."},
		}
	}
	var left []string
	for _, st := range j.Steps {
		if st.Status != JournalDone {
			left = append(left, fmt.Sprintf("%s (%s)", st.ID, st.Status))
		}
	}
	w := Warning{Summary: fmt.Sprintf(
		"An apply started at %s did not finish: %d of %d steps were not done.",
		j.StartedAt.UTC().Format(time.RFC3339), len(left), len(j.Steps))}
	w.Detail = append(w.Detail, left...)
	w.Detail = append(w.Detail, "This plan is computed from live state; applying it converges the stack.")
	return w
}
