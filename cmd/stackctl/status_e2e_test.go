//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/images"
	"github.com/stackctl/stackctl/plan"
)

// The stack of newE2EStack checks every checkInterval with checkTimeout.
const (
	checkInterval = time.Second
	checkTimeout  = time.Second
	// reportMargin covers what is not the check: Consul's scheduling, one
	// status run, the poll's period.
	reportMargin = 2 * time.Second
)

// statusJSON runs `stackctl status --json` and decodes it.
func (s *e2eStack) statusJSON(env ...string) *plan.Status {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), runTimeout)
	defer cancel()
	cmd := s.command(ctx, "status", "-f", s.file, "--json")
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if code := exitCode(s.t, cmd.Run(), cmd.Args); code != 0 {
		s.t.Fatalf("status --json exited %d: %s", code, errOut.String())
	}
	var st plan.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		s.t.Fatalf("status --json is not a status: %v\n%s", err, out.String())
	}
	return &st
}

// waitStatus polls status --json until ok accepts it, failing at deadline.
func (s *e2eStack) waitStatus(deadline time.Time, what string, ok func(*plan.Status) bool) *plan.Status {
	s.t.Helper()
	for {
		st := s.statusJSON()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(st, "", "  ")
			s.t.Fatalf("%s: not seen by %s; last status:\n%s", what, deadline.Format(time.TimeOnly), b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func worker(st *plan.Status, name string) *plan.WorkerStatus {
	for i := range st.Workers {
		if st.Workers[i].Name == name {
			return &st.Workers[i]
		}
	}
	return nil
}

func TestStatusReportsAKilledWorkerWithinACheck(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 3, "30s")
	s.mustRun("apply", "-f", s.file, "--auto-approve")

	st := s.waitStatus(time.Now().Add(30*time.Second), "3 passing workers", func(st *plan.Status) bool {
		return st.Summary.Passing == 3
	})
	if st.FormatVersion != 1 || st.Consul.Leader == "" || !st.Consul.Reached {
		t.Fatalf("format_version %d, consul %+v; want 1 and a reached Consul with a leader", st.FormatVersion, st.Consul)
	}

	victim := s.name + "-web-2"
	if err := s.env.Docker.ContainerKill(t.Context(), victim, "KILL"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(checkInterval + checkTimeout + reportMargin)
	st = s.waitStatus(deadline, victim+" critical with its check's output", func(st *plan.Status) bool {
		w := worker(st, victim)
		return w != nil && (w.Health == plan.CheckCritical || w.State == plan.ContainerExited) && w.Output != ""
	})
	w := worker(st, victim)
	t.Logf("%s: state %s, health %s, output %q", victim, w.State, w.Health, w.Output)
	if st.Summary.Passing != 2 || st.Consul.Leader == "" {
		t.Errorf("summary %+v, leader %q; want 2 passing and a leader", st.Summary, st.Consul.Leader)
	}

	t.Run("watch on a pipe", func(t *testing.T) {
		out := s.watchFor(2500*time.Millisecond, nil, "--watch", "--interval", "1s")
		if frames := strings.Count(out, "Every 1s: stackctl status -f "); frames < 2 {
			t.Errorf("%d frames in 2.5s at --interval 1s, want at least 2:\n%s", frames, out)
		}
		if strings.Contains(out, "\x1b") || !strings.Contains(out, "\n"+plainSeparator+"\n") || !strings.Contains(out, "leader ") {
			t.Errorf("frames on a pipe are not plain and separated, or lack the leader:\n%s", out)
		}
	})
	t.Run("watch on a terminal", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
		defer cancel()
		tm := s.onTerminal(ctx, "status", "-f", s.file, "--watch", "--interval", "1s")
		time.Sleep(2500 * time.Millisecond)
		if _, err := tm.ptmx.Write([]byte{3}); err != nil { // Ctrl-C
			t.Fatal(err)
		}
		code, out := tm.wait()
		if code != 0 {
			t.Errorf("exit %d after Ctrl-C, want 0:\n%q", code, out)
		}
		if redraws := strings.Count(out, ansiHome+"Every 1s: stackctl status -f "); redraws < 2 ||
			!strings.HasSuffix(out, ansiShowCursor) || strings.Count(out, ansiClearAll) != 1 {
			t.Errorf("%d redraws in 2.5s, want at least 2, the screen cleared once and the cursor shown at the end:\n%q", redraws, out)
		}
	})
	t.Run("watch --json while Consul cannot be reached", func(t *testing.T) {
		out := s.watchFor(2500*time.Millisecond, []string{"CONSUL_HTTP_ADDR=127.0.0.1:1"}, "--watch", "--json", "--interval", "1s")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) < 2 {
			t.Fatalf("%d lines in 2.5s, want at least 2:\n%s", len(lines), out)
		}
		for _, line := range lines {
			var st plan.Status
			if err := json.Unmarshal([]byte(line), &st); err != nil || st.FormatVersion != 1 || !strings.Contains(st.Error, "Consul at 127.0.0.1:1") {
				t.Errorf("line %q: %v; want an error frame about Consul", line, err)
			}
		}
	})
}

// watchFor runs stackctl status with args for d, then presses Ctrl-C and
// expects a clean exit; it returns stdout.
func (s *e2eStack) watchFor(d time.Duration, env []string, args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), runTimeout)
	defer cancel()
	cmd := s.command(ctx, append([]string{"status", "-f", s.file}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	time.Sleep(d)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		s.t.Fatal(err)
	}
	if code := exitCode(s.t, cmd.Wait(), cmd.Args); code != 0 {
		s.t.Errorf("status %v exited %d after Ctrl-C, want 0: %s", args, code, errOut.String())
	}
	return out.String()
}
