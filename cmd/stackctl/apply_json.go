package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
)

// applyJSONFormatVersion is the version of the event stream of `apply --json`
// and `destroy --json` (docs/apply-json.md).
const applyJSONFormatVersion = 1

// errJSONNeedsApproval: in JSON mode nobody reads a prompt, so consent is
// given up front or not at all, as with Terraform's `apply -json`.
var errJSONNeedsApproval = errors.New("--json cannot ask for confirmation: add --auto-approve (or apply a PLAN saved with `stackctl plan -out`); nothing was changed")

// checkJSONApproval refuses --json when the run would have to ask.
func checkJSONApproval(jsonOut, approved bool) error {
	if jsonOut && !approved {
		return exitWith(exitFailure, errJSONNeedsApproval)
	}
	return nil
}

// jsonProgress shows an apply or destroy as newline-delimited JSON objects,
// one event per line, for CI. Executor calls come from many goroutines: one
// mutex keeps every line whole and in the order it was written.
type jsonProgress struct {
	mu  sync.Mutex
	enc *json.Encoder
	now func() time.Time
	err error // the first write error; the report returns it
}

func newJSONProgress(out io.Writer) *jsonProgress {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	return &jsonProgress{enc: enc, now: time.Now}
}

// eventHeader starts every event.
type eventHeader struct {
	Type      string `json:"type"`
	Timestamp string `json:"@timestamp"`
}

type planEvent struct {
	eventHeader
	FormatVersion int             `json:"format_version"`
	Plan          json.RawMessage `json:"plan"`
}

type stepStartedEvent struct {
	eventHeader
	ID     string      `json:"id"`
	Action plan.Action `json:"action"`
	Kind   plan.Kind   `json:"kind"`
	Group  string      `json:"group"`
}

type stepFinishedEvent struct {
	eventHeader
	ID        string      `json:"id"`
	Action    plan.Action `json:"action"`
	ElapsedMS int64       `json:"elapsed_ms"`
	Error     string      `json:"error,omitempty"`
}

type stepUndoneEvent struct {
	eventHeader
	ID        string `json:"id"`
	ElapsedMS int64  `json:"elapsed_ms"`
	Error     string `json:"error,omitempty"`
}

type noteEvent struct {
	eventHeader
	Message string `json:"message"`
}

type recoveredEvent struct {
	eventHeader
	Operation      string   `json:"operation"`
	ApplyID        string   `json:"apply_id"`
	Outcome        string   `json:"outcome"`
	OK             bool     `json:"ok"`
	Error          string   `json:"error,omitempty"`
	RolledBack     []string `json:"rolled_back"`
	RollbackErrors []string `json:"rollback_errors"`
}

type reportEvent struct {
	eventHeader
	FormatVersion  int          `json:"format_version"`
	Stack          string       `json:"stack"`
	ApplyID        string       `json:"apply_id"`
	Operation      string       `json:"operation"`
	OK             bool         `json:"ok"`
	Error          string       `json:"error,omitempty"`
	Failed         []failedStep `json:"failed"`
	Done           []string     `json:"done"`
	RolledBack     []string     `json:"rolled_back"`
	RollbackErrors []string     `json:"rollback_errors"`
	Paused         bool         `json:"paused"`
	Restored       bool         `json:"restored"`
	CleanupErrors  []string     `json:"cleanup_errors"`
}

type failedStep struct {
	ID     string      `json:"id"`
	Action plan.Action `json:"action"`
	Error  string      `json:"error"`
}

// header stamps an event of type typ with the time now, in UTC.
func (j *jsonProgress) header(typ string) eventHeader {
	return eventHeader{Type: typ, Timestamp: j.now().UTC().Format(time.RFC3339Nano)}
}

// emit writes one event as one line. Encode writes the line in one call.
func (j *jsonProgress) emit(event any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return
	}
	if err := j.enc.Encode(event); err != nil {
		j.err = fmt.Errorf("write JSON event: %w", err)
	}
}

// showPlan writes the plan exactly as `plan --json` prints it, on one line.
func (j *jsonProgress) showPlan(p *plan.Plan) error {
	var indented, compact bytes.Buffer
	if err := views.JSON(&indented, p); err != nil {
		return err
	}
	if err := json.Compact(&compact, indented.Bytes()); err != nil {
		return err
	}
	j.emit(planEvent{eventHeader: j.header("plan"), FormatVersion: applyJSONFormatVersion, Plan: compact.Bytes()})
	return j.writeErr()
}

func (j *jsonProgress) StepStarted(st plan.Step) {
	j.emit(stepStartedEvent{eventHeader: j.header("step_started"), ID: st.ID, Action: st.Action, Kind: st.Kind, Group: st.Group})
}

func (j *jsonProgress) StepFinished(st plan.Step, elapsed time.Duration, err error) {
	j.emit(stepFinishedEvent{eventHeader: j.header("step_finished"), ID: st.ID, Action: st.Action,
		ElapsedMS: elapsed.Milliseconds(), Error: errorText(err)})
}

func (j *jsonProgress) StepUndone(id string, elapsed time.Duration, err error) {
	j.emit(stepUndoneEvent{eventHeader: j.header("step_undone"), ID: id, ElapsedMS: elapsed.Milliseconds(), Error: errorText(err)})
}

func (j *jsonProgress) Note(msg string) {
	j.emit(noteEvent{eventHeader: j.header("note"), Message: msg})
}

// showRecovered tells what was done with an unfinished apply before this one
// planned: rolled back, or (a paused one) forgotten.
func (j *jsonProgress) showRecovered(r *apply.Report) {
	if r.Recovered == apply.RecoveredSettled {
		return // a note said it: there was no journal to deal with
	}
	j.emit(recoveredEvent{
		eventHeader:    j.header("recovered"),
		Operation:      trimRecover(r.Operation),
		ApplyID:        r.ApplyID,
		Outcome:        string(r.Recovered),
		OK:             r.OK(),
		Error:          errorText(r.Err),
		RolledBack:     nonNil(r.RolledBack),
		RollbackErrors: nonNil(apply.ErrorLines(r.RollbackErr)),
	})
}

// starting has nothing to say: the step events follow.
func (j *jsonProgress) starting() {}

// showReport writes the final event of a run.
func (j *jsonProgress) showReport(r *apply.Report) error {
	failed := []failedStep{}
	for _, f := range r.Failed {
		failed = append(failed, failedStep{ID: f.Step.ID, Action: f.Step.Action, Error: f.Err.Error()})
	}
	j.emit(reportEvent{
		eventHeader:    j.header("report"),
		FormatVersion:  applyJSONFormatVersion,
		Stack:          r.Stack,
		ApplyID:        r.ApplyID,
		Operation:      r.Operation,
		OK:             r.OK(),
		Error:          errorText(r.Err),
		Failed:         failed,
		Done:           nonNil(r.Done),
		RolledBack:     nonNil(r.RolledBack),
		RollbackErrors: nonNil(apply.ErrorLines(r.RollbackErr)),
		Paused:         r.Paused,
		Restored:       r.Restored,
		CleanupErrors:  nonNil(apply.ErrorLines(r.Cleanup)),
	})
	return j.writeErr()
}

// failure is what stderr says about a failed run: the report on stdout has
// the details, but a CI log that keeps only stderr should say why too.
func (j *jsonProgress) failure(r *apply.Report) error {
	return fmt.Errorf("%s of stack %s failed: %s", r.Operation, r.Stack, errorText(r.Err))
}

func (j *jsonProgress) stop() {}

func (j *jsonProgress) writeErr() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// errorText is err on one line: collected errors (go-multierror prints
// one per line) are joined with "; ".
func errorText(err error) string {
	return strings.Join(apply.ErrorLines(err), "; ")
}

// nonNil makes an absent list [] in the JSON rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
