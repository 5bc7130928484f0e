package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// watchReads runs watchStatus over reads scripted by statuses (nil: Docker
// is down), then presses Ctrl-C during the next read.
func watchReads(t *testing.T, out *frameWriter, statuses ...*plan.Status) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	read := func(context.Context) *plan.Status {
		if n == len(statuses) {
			n++
			cancel()
			return fixtureStatus(t) // read, but never shown
		}
		st := statuses[n]
		n++
		if st == nil {
			st = plan.StatusError("primes", errors.New("Docker at unix:///var/run/docker.sock: connection refused"))
		}
		st.ObservedAt = time.Date(2026, 11, 25, 14, 0, n, 0, time.UTC)
		return st
	}
	if err := watchStatus(ctx, out, 5*time.Millisecond, read); err != nil {
		t.Fatalf("watch ended with %v, want a clean end on Ctrl-C", err)
	}
	if n != len(statuses)+1 {
		t.Fatalf("read %d times, want %d", n, len(statuses)+1)
	}
}

func fixtureStatus(t *testing.T) *plan.Status {
	stack, state := statusFixture(t)
	return plan.BuildStatus(stack, state)
}

func TestWatchOnAPipeSeparatesFramesAndOutlivesErrors(t *testing.T) {
	var out bytes.Buffer
	fw := newFrameWriter(&out, statusOptions{file: stackFile{path: "stack.yaml"}})
	watchReads(t, fw, fixtureStatus(t), nil, fixtureStatus(t))

	text := out.String()
	if got := strings.Count(text, "Every 5ms: stackctl status -f stack.yaml"); got != 3 {
		t.Errorf("%d frame headers, want 3:\n%s", got, text)
	}
	if got := strings.Count(text, "\n"+plainSeparator+"\n"); got != 2 {
		t.Errorf("%d separators, want 2:\n%s", got, text)
	}
	if !strings.Contains(text, "cannot read the live state: Docker at unix:///var/run/docker.sock: connection refused") {
		t.Errorf("the frame of a failed read does not say why:\n%s", text)
	}
	if strings.Contains(text, "\x1b") {
		t.Errorf("escape sequences on a pipe:\n%q", text)
	}
}

func TestWatchJSONIsOneObjectPerLine(t *testing.T) {
	var out bytes.Buffer
	fw := newFrameWriter(&out, statusOptions{file: stackFile{path: "stack.yaml"}, json: true})
	watchReads(t, fw, fixtureStatus(t), nil, fixtureStatus(t))

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out.String())
	}
	for i, line := range lines {
		var frame map[string]any
		if err := json.Unmarshal([]byte(line), &frame); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i+1, err, line)
		}
		if frame["format_version"] != 1.0 || frame["stack"] != "primes" || frame["observed_at"] == nil {
			t.Errorf("line %d: %s", i+1, line)
		}
		if _, failed := frame["error"]; failed != (i == 1) {
			t.Errorf("line %d: error field present=%v: %s", i+1, failed, line)
		}
	}
}

// writes records each Write separately.
type writes struct{ each []string }

func (w *writes) Write(b []byte) (int, error) { w.each = append(w.each, string(b)); return len(b), nil }

func TestWatchOnATerminalRedrawsInPlaceInOneWrite(t *testing.T) {
	out := &writes{}
	fw := &frameWriter{w: out, mode: framesTerminal, title: "stackctl status -f stack.yaml", rows: func() int { return 12 }}
	watchReads(t, fw, fixtureStatus(t), fixtureStatus(t))

	if len(out.each) != 3 {
		t.Fatalf("%d writes, want one per frame and one to show the cursor again: %q", len(out.each), out.each)
	}
	first, second := out.each[0], out.each[1]
	if !strings.HasPrefix(first, ansiHideCursor+ansiClearAll+ansiHome) || !strings.HasPrefix(second, ansiHome) ||
		strings.Contains(second, ansiClearAll) {
		t.Errorf("frames do not redraw from the top without clearing the screen first:\n%q\n%q", first, second)
	}
	lines := strings.Split(strings.TrimSuffix(second, ansiClearBelow), "\n")
	lines = lines[:len(lines)-1] // after the last newline
	if len(lines) != 11 {
		t.Errorf("frame of %d lines on a 12-row terminal, want 11:\n%s", len(lines), second)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, ansiClearLine) {
			t.Errorf("line %q does not clear the rest of the old line", l)
		}
	}
	if !strings.Contains(second, "Every 5ms: stackctl status -f stack.yaml    2026-11-25") ||
		!strings.Contains(second, "more lines: make the terminal taller") {
		t.Errorf("frame lacks its header or the cut note:\n%s", second)
	}
	if out.each[2] != ansiShowCursor {
		t.Errorf("last write %q, want the cursor shown again", out.each[2])
	}
}

func TestWatchRefusesATinyInterval(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"status", "-f", "../../stack.example.yaml", "--watch", "--interval", "10ms"}, &stdout, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "--interval 10ms is too short") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
