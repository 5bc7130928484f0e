//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/stackctl/stackctl/internal/images"
	"github.com/stackctl/stackctl/plan"
)

// The GitOps issue's acceptance, end to end: a real local bare repository
// over file://, a real stack, and `stackctl reconcile` as a process.

// reconcileInterval is the agent's interval in these tests: short, so the
// test is quick, and long enough that "within one interval" means something.
const reconcileInterval = 5 * time.Second

// agent is a running `stackctl reconcile`.
type agent struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func (a *agent) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.Write(p)
}

func (a *agent) output() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.String()
}

func (s *e2eStack) startAgent(g *gitRepo) *agent {
	s.t.Helper()
	a := &agent{}
	// Not the test's context: that one ends before the cleanup below, and
	// would SIGKILL the agent where the cleanup checks a clean SIGTERM.
	a.cmd = s.command(context.WithoutCancel(s.t.Context()), "reconcile", "--repo", "file://"+g.origin, "--ref", "main",
		"--path", "stack.yaml", "--interval", reconcileInterval.String(), "--cache", s.dir+"/cache")
	a.cmd.Stdout, a.cmd.Stderr = a, a
	if err := a.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { a.stop(s.t) })
	return a
}

// stop ends the agent as a service manager does, with SIGTERM.
func (a *agent) stop(t *testing.T) {
	if a.cmd.ProcessState != nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent after SIGTERM: %v\n%s", err, a.output())
		}
	case <-time.After(2 * time.Minute):
		_ = a.cmd.Process.Kill()
		t.Errorf("agent did not stop within 2m of SIGTERM:\n%s", a.output())
	}
}

// history reads `stackctl history --json`.
func (s *e2eStack) history() []plan.ReconcileEntry {
	s.t.Helper()
	out, errOut, code := s.run("history", "-f", s.file, "--json")
	if code != 0 {
		return nil // no Consul yet, or no record
	}
	var h plan.ReconcileHistory
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		s.t.Fatalf("history --json: %v\n%s%s", err, out, errOut)
	}
	return h.Entries
}

// waitFor polls cond every half second until it holds or within passes.
func (s *e2eStack) waitFor(what string, within time.Duration, a *agent, cond func() bool) time.Duration {
	s.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			s.t.Fatalf("%s: not within %s; agent's log:\n%s", what, within, a.output())
		}
		time.Sleep(500 * time.Millisecond)
	}
	took := time.Since(start)
	s.t.Logf("%s after %s", what, took.Round(100*time.Millisecond))
	return took
}

func (s *e2eStack) runningWorkers() int {
	n := 0
	for _, o := range s.owned() {
		if strings.HasPrefix(o, "container /"+s.name+"-web-") && strings.HasSuffix(o, " running") {
			n++
		}
	}
	return n
}

// entriesFor is the history of one commit.
func entriesFor(h []plan.ReconcileEntry, commit string) []plan.ReconcileEntry {
	var out []plan.ReconcileEntry
	for _, e := range h {
		if e.Commit == commit {
			out = append(out, e)
		}
	}
	return out
}

// applyBound bounds one apply of this small stack, for "within one interval
// plus the apply's time": a correctness bound, loose enough for a busy
// machine; the times measured are logged.
const applyBound = 90 * time.Second

func TestReconcileFollowsCommitsHealsDriftAndRefusesBadOnes(t *testing.T) {
	s := newE2EStack(t)
	file := func(image string, replicas int, deadline string) []byte {
		s.write(image, replicas, deadline)
		return []byte(readFile(t, s.file))
	}
	g := newGitRepo(t)
	g.commit("main", "stack: 3 workers", map[string][]byte{"stack.yaml": file(images.PrimesV1, 3, "30s")})
	a := s.startAgent(g)
	s.waitFor("first commit applied", reconcileInterval+applyBound, a, func() bool { return s.runningWorkers() == 3 })

	// Commit replicas 3 → 5: applied within one interval plus the apply.
	g.commit("main", "stack: 5 workers", map[string][]byte{"stack.yaml": file(images.PrimesV1, 5, "30s")})
	five := g.git(g.dev, "rev-parse", "HEAD")
	s.waitFor("replicas 3→5 applied", reconcileInterval+applyBound, a, func() bool { return s.runningWorkers() == 5 })
	s.waitFor("the commit recorded as applied", 30*time.Second, a, func() bool {
		return strings.Contains(s.mustRun("status", "-f", s.file), "at commit "+five[:7]+" (stack: 5 workers)")
	})
	t.Logf("status:\n%s", s.mustRun("status", "-f", s.file))

	// docker rm -f of a worker: restored within one interval plus the
	// apply; status shows the drift and the heal.
	if err := s.env.Docker.ContainerRemove(t.Context(), s.name+"-web-4", container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	s.waitFor("removed worker restored", reconcileInterval+applyBound, a, func() bool { return s.running(s.name + "-web-4") })
	s.waitFor("drift recorded as healed", 30*time.Second, a, func() bool {
		for _, e := range s.history() {
			if e.Trigger == plan.TriggerDrift && e.Result == plan.ResultApplied && strings.Contains(strings.Join(e.Drift, " "), s.name+"-web-4") {
				return true
			}
		}
		return false
	})
	if st := s.mustRun("status", "-f", s.file); !strings.Contains(st, "drift") || !strings.Contains(st, "healed") {
		t.Errorf("status does not show the drift and its heal:\n%s", st)
	} else {
		t.Logf("status after the heal:\n%s", head(st, 6))
	}

	// An invalid stack file: nothing changes, the error is recorded with
	// FILE:LINE:COL and the commit; the next good commit is applied.
	before := s.owned()
	g.commit("main", "stack: a typo", map[string][]byte{"stack.yaml": []byte(strings.Replace(readFile(t, s.file), "replicas: 5", "replicas: five", 1))})
	bad := g.git(g.dev, "rev-parse", "HEAD")
	s.waitFor("invalid commit recorded", reconcileInterval+30*time.Second, a, func() bool {
		es := entriesFor(s.history(), bad)
		return len(es) > 0 && es[0].Result == plan.ResultInvalid
	})
	es := entriesFor(s.history(), bad)
	if !strings.Contains(es[0].Error, "stack.yaml:") || !strings.Contains(es[0].Error, "replicas") {
		t.Errorf("invalid commit recorded without FILE:LINE:COL: %q", es[0].Error)
	}
	st := s.mustRun("status", "-f", s.file)
	if !strings.Contains(st, bad[:7]) || !strings.Contains(st, "stack.yaml:") {
		t.Errorf("status does not show the invalid commit and its FILE:LINE:COL:\n%s", st)
	}
	t.Logf("status after the invalid commit:\n%s", head(st, 7))
	time.Sleep(reconcileInterval) // another pass: still nothing changed
	sameObjects(t, "an invalid commit", before, s.owned())
	g.commit("main", "stack: 4 workers", map[string][]byte{"stack.yaml": file(images.PrimesV1, 4, "30s")})
	s.waitFor("the next good commit applied", reconcileInterval+applyBound, a, func() bool { return s.runningWorkers() == 4 })

	// An image that never passes: rolled back, recorded for that commit,
	// retried no faster than the backoff (1, 2, 4 intervals).
	g.commit("main", "stack: a bad image", map[string][]byte{"stack.yaml": file(images.PrimesBad, 4, "3s")})
	badImage := g.git(g.dev, "rev-parse", "HEAD")
	s.waitFor("the bad image tried three times", 3*(reconcileInterval+applyBound), a, func() bool {
		return len(entriesFor(s.history(), badImage)) >= 3
	})
	es = entriesFor(s.history(), badImage)
	for i, e := range es {
		if e.Result != plan.ResultRolledBack {
			t.Errorf("try %d of the bad image: %s, want rolled back (%s)", i+1, e.Result, e.Error)
		}
		if i == 0 {
			continue
		}
		// An entry's time is when its try began; the next try begins a
		// backoff after the end of this one, so later still.
		gap := e.Time.Sub(es[i-1].Time)
		want := reconcileInterval << (i - 1)
		t.Logf("try %d of the bad image %s after the one before (backoff %s)", i+1, gap.Round(100*time.Millisecond), want)
		if gap < want {
			t.Errorf("try %d came %s after try %d: faster than the backoff %s", i+1, gap, i, want)
		}
	}
	if st := s.mustRun("status", "-f", s.file); !strings.Contains(st, badImage[:7]) || !strings.Contains(st, "rolled back") {
		t.Errorf("status does not say the bad commit was rolled back:\n%s", st)
	} else {
		t.Logf("status after the bad image:\n%s", head(st, 7))
	}
	t.Logf("history:\n%s", s.mustRun("history", "-f", s.file))
	if n := s.runningWorkers(); n != 4 {
		t.Errorf("after the rolled-back commits %d workers run, want the 4 of the last good one", n)
	}

	// kill -9 of the agent in the middle of an apply: started again, it
	// converges.
	g.commit("main", "stack: 6 workers, v2", map[string][]byte{"stack.yaml": file(images.PrimesV2, 6, "30s")})
	last := g.git(g.dev, "rev-parse", "HEAD")
	s.waitFor("the agent applying", reconcileInterval+30*time.Second, a, func() bool {
		return strings.Contains(a.output(), "start") && strings.Contains(a.output(), last[:7])
	})
	time.Sleep(time.Second)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	t.Logf("killed the agent mid-apply; its last lines:\n%s", tail(a.output(), 8))
	a = s.startAgent(g)
	s.waitFor("converged after kill -9", 2*(reconcileInterval+applyBound), a, func() bool {
		_, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode")
		return s.runningWorkers() == 6 && code == 0 &&
			strings.Contains(s.mustRun("status", "-f", s.file), "at commit "+last[:7])
	})
}

// head is the first n lines of s.
func head(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
