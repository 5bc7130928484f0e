package plan

import (
	"encoding/json"
	"fmt"
	"time"
)

// What `stackctl reconcile` keeps in Consul KV under the stack's KVPrefix:
// the commit it last applied and a bounded history of its passes. The format
// lives here, beside the journal's, because plan reads it for status and
// the reconcile package writes it; docs/reconcile.md describes it.
const (
	KVReconcileApplied = "reconcile/applied"
	KVReconcileHistory = "reconcile/history"
)

// ReconcileFormatVersion is the version of both records. A reader refuses a
// higher one: a newer stackctl may have changed what a field means.
const ReconcileFormatVersion = 1

// ReconcileHistoryLimit is how many entries the history keeps, newest last.
const ReconcileHistoryLimit = 100

// ReconcileTrigger is why a pass applied (or tried to).
type ReconcileTrigger string

// Triggers.
const (
	TriggerCommit ReconcileTrigger = "commit" // a new commit on the ref
	TriggerDrift  ReconcileTrigger = "drift"  // live state moved away from the applied commit
	TriggerManual ReconcileTrigger = "manual" // asked for: --once, or SIGHUP to the agent
)

// ReconcileResult is how a pass ended.
type ReconcileResult string

// Results.
const (
	ResultApplied    ReconcileResult = "applied"     // the apply made changes and succeeded
	ResultNoChanges  ReconcileResult = "no changes"  // the live state already matched
	ResultRolledBack ReconcileResult = "rolled back" // the apply failed and put everything back
	ResultError      ReconcileResult = "error"       // it failed otherwise (lock, Docker, Consul, a rollback that failed)
	ResultInvalid    ReconcileResult = "invalid"     // the commit's stack file does not load: never applied
	ResultRefused    ReconcileResult = "refused"     // the commit does not descend from the applied one (a rewind)
)

// Failed reports whether the result is a failed attempt to apply, the kind
// that is retried with a backoff.
func (r ReconcileResult) Failed() bool { return r == ResultRolledBack || r == ResultError }

// GitCommit is a commit as the records name it.
type GitCommit struct {
	Commit  string `json:"commit"` // the full hash
	Short   string `json:"short"`  // its first 7 characters
	Subject string `json:"subject"`
	// CommitTime is the author's time.
	CommitTime time.Time `json:"commit_time,omitzero"`
}

// ReconcileApplied is the record at <KVPrefix>reconcile/applied: the commit
// whose stack file was last applied with success, and where it came from.
// It is what the agent's ancestry rule compares new commits with.
type ReconcileApplied struct {
	FormatVersion int `json:"format_version"`
	GitCommit
	// Repo is the repository as given to reconcile, without credentials.
	Repo      string    `json:"repo"`
	Ref       string    `json:"ref"`
	Path      string    `json:"path"`
	Env       string    `json:"env,omitempty"`
	AppliedAt time.Time `json:"applied_at"`
}

// ReconcileEntry is one pass of the agent that did, or refused, something.
type ReconcileEntry struct {
	GitCommit
	// Time is when the pass began.
	Time    time.Time        `json:"time"`
	Trigger ReconcileTrigger `json:"trigger"`
	Result  ReconcileResult  `json:"result"`
	// Error says why it failed: for an invalid stack file its problems,
	// one FILE:LINE:COL per line, the file named as in the repository.
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	// Drift lists what the plan against live state showed before a drift
	// was healed (or was to be), one step a line.
	Drift []string `json:"drift,omitempty"`
	// Changes is the plan's summary line ("1 to add, 0 to change, ...").
	Changes string `json:"changes,omitempty"`
}

// Duration is how long the pass took.
func (e ReconcileEntry) Duration() time.Duration {
	return time.Duration(e.DurationMS) * time.Millisecond
}

// ReconcileHistory is the record at <KVPrefix>reconcile/history.
type ReconcileHistory struct {
	FormatVersion int              `json:"format_version"`
	Entries       []ReconcileEntry `json:"entries"` // oldest first
}

// Append adds e, dropping the oldest entries beyond ReconcileHistoryLimit.
func (h *ReconcileHistory) Append(e ReconcileEntry) {
	h.FormatVersion = ReconcileFormatVersion
	h.Entries = append(h.Entries, e)
	if over := len(h.Entries) - ReconcileHistoryLimit; over > 0 {
		h.Entries = append([]ReconcileEntry(nil), h.Entries[over:]...)
	}
}

// Last returns the newest entry that matches, or nil.
func (h *ReconcileHistory) Last(match func(ReconcileEntry) bool) *ReconcileEntry {
	for i := len(h.Entries) - 1; i >= 0; i-- {
		if match(h.Entries[i]) {
			e := h.Entries[i]
			return &e
		}
	}
	return nil
}

// ParseReconcileApplied reads the applied record.
func ParseReconcileApplied(data []byte) (*ReconcileApplied, error) {
	var a ReconcileApplied
	if err := decodeVersioned(data, &a, &a.FormatVersion); err != nil {
		return nil, fmt.Errorf("%s: %w", KVReconcileApplied, err)
	}
	return &a, nil
}

// ParseReconcileHistory reads the history record.
func ParseReconcileHistory(data []byte) (*ReconcileHistory, error) {
	var h ReconcileHistory
	if err := decodeVersioned(data, &h, &h.FormatVersion); err != nil {
		return nil, fmt.Errorf("%s: %w", KVReconcileHistory, err)
	}
	return &h, nil
}

func decodeVersioned(data []byte, v any, version *int) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	if *version < 1 || *version > ReconcileFormatVersion {
		return fmt.Errorf("format_version %d (this stackctl reads %d): written by another stackctl", *version, ReconcileFormatVersion)
	}
	return nil
}
