package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
)

// TestJSONNeedsApproval: with --json nobody can answer the prompt, so a run
// that would ask is refused before anything is read or changed.
func TestJSONNeedsApproval(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"apply", "--json", "-f", missing}, errJSONNeedsApproval.Error()},
		{[]string{"apply", "-json", "-f", missing}, errJSONNeedsApproval.Error()},
		{[]string{"destroy", "--json", "-f", missing}, errJSONNeedsApproval.Error()},
		// Approved: the run goes on, and fails on the missing file instead.
		{[]string{"apply", "--json", "--auto-approve", "-f", missing}, "read stack file"},
		{[]string{"apply", "--json", missing + ".plan"}, "missing.yaml.plan"},
		{[]string{"destroy", "--json", "--auto-approve", "-f", missing}, "read stack file"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, tt.args...)
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1, no stdout and %q", tt.args, code, stdout, stderr, tt.want)
		}
		if strings.Contains(tt.want, "read stack file") && strings.Contains(stderr, "--json") {
			t.Errorf("%v: approved run refused: %q", tt.args, stderr)
		}
	}
}

func TestCheckJSONApproval(t *testing.T) {
	for _, tt := range []struct {
		json, approved, refused bool
	}{
		{false, false, false}, {false, true, false}, {true, true, false}, {true, false, true},
	} {
		err := checkJSONApproval(tt.json, tt.approved)
		if (err != nil) != tt.refused || (err != nil && !errors.Is(err, errJSONNeedsApproval)) {
			t.Errorf("json %t, approved %t: %v", tt.json, tt.approved, err)
		}
	}
}

// fixedClock ticks one millisecond per event, from a fixed instant in a
// zone other than UTC, so that the golden file shows the conversion.
func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 25, 15, 0, 0, 0, time.FixedZone("CET", 3600))
	return func() time.Time {
		t = t.Add(time.Millisecond)
		return t
	}
}

func eventsPlan() *plan.Plan {
	return &plan.Plan{
		FormatVersion: plan.FormatVersion, Stack: "primes", StackFile: "stack.yaml",
		Steps: []plan.Step{
			{ID: "worker/primes-web-1", Group: "workers/web/1", Action: plan.ActionReplace, Kind: plan.KindWorker,
				Target: "primes-web-1", Service: "web", Slot: 1, Reason: "configuration changed", Replaces: "0c1d2e3f4a5b",
				Diff: []plan.FieldDiff{{Field: "image", Before: "stackctl.local/primes:v1", After: "stackctl.local/primes:<bad>"}}},
			{ID: "worker/primes-web-2", Group: "workers/web/1", Action: plan.ActionReplace, Kind: plan.KindWorker,
				Target: "primes-web-2", Service: "web", Slot: 2, Reason: "configuration changed", Replaces: "6a7b8c9d0e1f"},
		},
		Summary: plan.Summary{Replace: 2},
	}
}

// writeEvents drives a jsonProgress through a failed apply that was
// preceded by the recovery of an unfinished one.
func writeEvents(t *testing.T, j *jsonProgress) {
	t.Helper()
	p := eventsPlan()
	j.showRecovered(&apply.Report{Stack: "primes", ApplyID: "0badc0ffee00", Operation: "recover apply",
		Recovered: apply.RecoveredRolledBack, RolledBack: []string{"worker/primes-web-3"}})
	if err := j.showPlan(p); err != nil {
		t.Fatal(err)
	}
	j.starting()
	j.StepStarted(p.Steps[0])
	j.StepStarted(p.Steps[1])
	j.StepFinished(p.Steps[0], 1500*time.Millisecond, nil)
	stepErr := errors.New(`primes-web-2 did not pass its health check within 5s: "HTTP 503"`)
	j.StepFinished(p.Steps[1], 5*time.Second+time.Millisecond, stepErr)
	j.Note("Rolling back 2 steps.")
	j.StepUndone("worker/primes-web-1", 800*time.Millisecond, nil)
	j.StepUndone("worker/primes-web-2", 10*time.Millisecond, errors.New("remove primes-web-2: no such container"))
	report := &apply.Report{
		Stack: "primes", ApplyID: "c0ffee000001", Operation: "apply",
		Failed:      []*apply.StepError{{Step: p.Steps[1], Err: stepErr}},
		Err:         multierror.Append(nil, &apply.StepError{Step: p.Steps[1], Err: stepErr}),
		RolledBack:  []string{"worker/primes-web-1"},
		RollbackErr: multierror.Append(nil, errors.New("remove primes-web-2: no such container"), errors.New("delete journal: timeout")),
	}
	if err := j.showReport(report); err != nil {
		t.Fatal(err)
	}
}

func TestJSONProgressGolden(t *testing.T) {
	var out bytes.Buffer
	j := newJSONProgress(&out)
	j.now = fixedClock()
	writeEvents(t, j)
	golden.Assert(t, "apply-events.golden", out.Bytes())
}

func TestJSONProgressEveryLineIsAnEvent(t *testing.T) {
	var out bytes.Buffer
	j := newJSONProgress(&out)
	writeEvents(t, j)
	events := decodeLines(t, out.Bytes())
	wantTypes := []string{"recovered", "plan", "step_started", "step_started", "step_finished", "step_finished",
		"note", "step_undone", "step_undone", "report"}
	if len(events) != len(wantTypes) {
		t.Fatalf("%d events, want %d:\n%s", len(events), len(wantTypes), out.String())
	}
	for i, ev := range events {
		if ev["type"] != wantTypes[i] {
			t.Errorf("event %d is %v, want %s", i, ev["type"], wantTypes[i])
		}
		ts, _ := ev["@timestamp"].(string)
		parsed, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || !strings.HasSuffix(ts, "Z") || time.Since(parsed) > time.Minute {
			t.Errorf("event %d: @timestamp %q is not a recent UTC RFC3339Nano time (%v)", i, ts, err)
		}
	}
	report := events[len(events)-1]
	if report["ok"] != false || report["error"] == nil || report["paused"] != false {
		t.Errorf("report: %v", report)
	}
	if got := fmt.Sprint(report["rollback_errors"]); got != "[remove primes-web-2: no such container delete journal: timeout]" {
		t.Errorf("rollback_errors = %s", got)
	}
	if got := fmt.Sprint(report["done"]) + fmt.Sprint(report["cleanup_errors"]); got != "[][]" {
		t.Errorf("done, cleanup_errors = %s, want empty lists", got)
	}
}

// TestJSONPlanEventIsPlanJSON: the plan event holds exactly what
// `plan --json` prints, compacted.
func TestJSONPlanEventIsPlanJSON(t *testing.T) {
	p := eventsPlan()
	p.Steps[0].TextDiff = "<a & b>\n"
	var out, want, compact bytes.Buffer
	if err := newJSONProgress(&out).showPlan(p); err != nil {
		t.Fatal(err)
	}
	if err := views.JSON(&want, p); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&compact, want.Bytes()); err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Plan json.RawMessage `json:"plan"`
	}
	if err := json.Unmarshal(out.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Plan, compact.Bytes()) {
		t.Errorf("plan event's plan\n%s\nwant (plan --json, compacted)\n%s", ev.Plan, compact.Bytes())
	}
	if bytes.Count(out.Bytes(), []byte("\n")) != 1 {
		t.Errorf("plan event is not one line:\n%s", out.Bytes())
	}
}

// TestJSONProgressFromManyGoroutines: the executor reports from many
// goroutines at once; every line must still be one whole event.
func TestJSONProgressFromManyGoroutines(t *testing.T) {
	var out bytes.Buffer
	j := newJSONProgress(&out)
	const goroutines, each = 16, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				st := plan.Step{ID: fmt.Sprintf("worker/primes-web-%d-%d", g, i), Action: plan.ActionCreate}
				j.StepStarted(st)
				j.StepFinished(st, time.Duration(i)*time.Millisecond, nil)
			}
		}()
	}
	wg.Wait()
	if n := len(decodeLines(t, out.Bytes())); n != goroutines*each*2 {
		t.Errorf("%d events, want %d", n, goroutines*each*2)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestJSONProgressReportsWriteErrors(t *testing.T) {
	j := newJSONProgress(failingWriter{})
	j.Note("lost")
	err := j.showReport(&apply.Report{Stack: "primes", Operation: "apply"})
	if err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("showReport = %v, want the write error", err)
	}
}

func decodeLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var events []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", len(events)+1, err, sc.Bytes())
		}
		events = append(events, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// TestErrorTextIsOneLine: collected errors print one per line; in a JSON
// field and on stderr they are joined on one line.
func TestErrorTextIsOneLine(t *testing.T) {
	two := multierror.Append(nil, errors.New("a failed"), multierror.Append(nil, errors.New("b failed")))
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("boom"), "boom"},
		{two, "a failed; b failed"},
	} {
		if got := errorText(tt.err); got != tt.want {
			t.Errorf("errorText(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
	j := newJSONProgress(&bytes.Buffer{})
	got := j.failure(&apply.Report{Stack: "primes", Operation: "apply", Err: two}).Error()
	if got != "apply of stack primes failed: a failed; b failed" {
		t.Errorf("failure = %q", got)
	}
}
