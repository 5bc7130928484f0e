//go:build e2e

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/images"
)

// consul is a client of the stack's own Consul, at its published port.
func (s *e2eStack) consul() *api.Client {
	s.t.Helper()
	info, err := s.env.Docker.ContainerInspect(s.t.Context(), s.name+"-consul")
	if err != nil {
		s.t.Fatal(err)
	}
	for port, bindings := range info.NetworkSettings.Ports {
		if port.Port() == "8500" && len(bindings) > 0 {
			addr := net.JoinHostPort("127.0.0.1", bindings[0].HostPort)
			c, err := api.NewClient(&api.Config{Address: addr, Scheme: "http"})
			if err != nil {
				s.t.Fatal(err)
			}
			return c
		}
	}
	s.t.Fatalf("%s-consul publishes no 8500", s.name)
	return nil
}

// lockSession is the session holding the stack's lock, "" when none does.
func (s *e2eStack) lockSession() string {
	s.t.Helper()
	pair, _, err := s.consul().KV().Get("stackctl/"+s.name+"/lock", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if pair == nil {
		return ""
	}
	return pair.Session
}

// killApplyOnceAWorkerPassed starts an apply of the stack file and kills it
// (SIGKILL: no cleanup of any kind) as soon as it reports a worker step
// done: by then Consul answers, the lock is held and the journal written.
// It returns what the apply printed.
func (s *e2eStack) killApplyOnceAWorkerPassed() string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), runTimeout)
	defer cancel()
	killed := s.command(ctx, "apply", "-f", s.file, "--auto-approve")
	stdout, err := killed.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := killed.Start(); err != nil {
		s.t.Fatal(err)
	}
	var seen strings.Builder
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		seen.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "✓") && strings.Contains(lines.Text(), "worker/") {
			break
		}
	}
	_ = killed.Process.Kill()
	_, _ = io.Copy(&seen, stdout)
	_ = killed.Wait()
	return seen.String()
}

// A kill -9 in the middle of a rolling update leaves the lock held by a
// process that is gone: a plain apply (no -lock-timeout) takes it over at
// once, rolls the unfinished apply back, applies, and leaves an empty plan.
func TestKilledApplyIsTakenOverByAPlainApply(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 3, "30s")
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	s.write(images.PrimesV2, 3, "30s")
	src, _ := os.ReadFile(s.file)
	// One worker at a time: the update is still running when it is killed.
	if err := os.WriteFile(s.file, []byte(strings.Replace(string(src), "parallelism: 3", "parallelism: 1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	seen := s.killApplyOnceAWorkerPassed()
	if !strings.Contains(seen, "✓") || strings.Contains(seen, "Apply complete") {
		t.Fatalf("the apply was not killed midway:\n%s", seen)
	}
	if s.lockSession() == "" {
		t.Fatalf("the killed apply left no lock")
	}

	start := time.Now()
	out := s.mustRun("apply", "-f", s.file, "--auto-approve")
	took := time.Since(start)
	for _, want := range []string{"stack " + s.name + ": the lock's holder ", " is gone; took the lock over",
		"did not finish; rolling it back first", "Apply complete"} {
		if !strings.Contains(out, want) {
			t.Errorf("the next apply does not say %q:\n%s", want, out)
		}
	}
	t.Logf("the next apply took %s:\n%s", took.Round(100*time.Millisecond), firstLines(out, 3))
	if _, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after the takeover exited %d, want 0 (no changes)", code)
	}
}

// A kill -9 in the middle of a first apply: the next plain apply takes the
// lock over and carries on from what the killed one made (it only added to
// the stack), instead of removing it all to create it again.
func TestKilledFirstApplyIsResumedByAPlainApply(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 6, "30s")
	if seen := s.killApplyOnceAWorkerPassed(); strings.Contains(seen, "Apply complete") {
		t.Fatalf("the apply was not killed midway:\n%s", seen)
	}

	// By the time it is killed, the apply has often sent every request it
	// had to (its other five workers' are in flight once the first passes):
	// the next apply then has nothing left to do, and says so. Either way it
	// carries on rather than rolling back. (apply's unit tests resume with
	// steps left, deterministically.)
	out := s.mustRun("apply", "-f", s.file, "--auto-approve")
	if !strings.Contains(out, "it only added to the stack, so this apply carries on from what it left") ||
		!strings.Contains(out, "Apply complete") && !strings.Contains(out, "No changes.") {
		t.Errorf("the next apply does not carry on to the end:\n%s", out)
	}
	if strings.Contains(out, "undone") || strings.Contains(out, "consul/"+s.name+"-consul") {
		t.Errorf("the next apply undid or re-made what the killed one had made:\n%s", out)
	}
	if _, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after the resumed apply exited %d, want 0 (no changes)", code)
	}
	if st := s.statusJSON(); st.Unfinished != nil {
		t.Errorf("the killed apply's journal is still there after the next apply: %+v", st.Unfinished)
	}
	if owned := s.owned(); len(owned) != 9 { // network, Consul and its data volume, 6 workers
		t.Errorf("owned after the resumed apply: %v", owned)
	}
}

// A lock held by a live holder on another machine is waited for (a bounded
// time, saying so), shown by unlock with its ID, and broken only with
// --force (there is no terminal here) and the right ID.
func TestUnlockForceBreaksAForeignLock(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 1, "30s")
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	c := s.consul()
	// A session without a TTL: it lives until destroyed, as a live holder's.
	session, _, err := c.Session().Create(&api.SessionEntry{Name: "foreign holder", Behavior: api.SessionBehaviorRelease, LockDelay: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	holder, _ := json.Marshal(map[string]any{"holder": "ops@elsewhere pid 1", "since": time.Now().UTC(), "operation": "apply",
		"host": "elsewhere", "boot_id": "00000000-0000-0000-0000-000000000000", "pid_ns": "pid:[1]", "pid": 1, "pid_start": 1})
	if ok, _, err := c.KV().Acquire(&api.KVPair{Key: "stackctl/" + s.name + "/lock", Value: holder, Session: session}, nil); err != nil || !ok {
		t.Fatalf("acquire the lock for the foreign holder: %v %v", ok, err)
	}

	out, errOut, code := s.run("apply", "-f", s.file, "--auto-approve", "-lock-timeout", "2s")
	if code != 1 || !strings.Contains(out, "waiting for the lock held by ops@elsewhere pid 1 (apply since ") ||
		!strings.Contains(out, "up to 2s") || !strings.Contains(errOut, "lock ID "+session) {
		t.Fatalf("apply under a foreign lock: exit %d, want 1, the wait and the lock ID:\n%s%s", code, out, errOut)
	}

	out, errOut, code = s.run("unlock", "-f", s.file)
	if code != 1 || !strings.Contains(errOut, "no terminal to confirm on: run with --force") ||
		!strings.Contains(out, "locked by ops@elsewhere pid 1") || !strings.Contains(out, session) {
		t.Fatalf("unlock without a terminal: exit %d, want 1, the holder and a refusal:\n%s%s", code, out, errOut)
	}
	t.Logf("unlock without a terminal said:\n%s%s", out, errOut)
	_, errOut, code = s.run("unlock", "-f", s.file, "--force", "not-"+session)
	if code != 1 || !strings.Contains(errOut, "changed hands") {
		t.Fatalf("unlock with another lock ID: exit %d, want 1 and a refusal:\n%s", code, errOut)
	}
	if s.lockSession() != session {
		t.Fatalf("a refused unlock released the lock")
	}

	out = s.mustRun("unlock", "-f", s.file, "--force", session)
	if !strings.Contains(out, "Released the lock "+session) {
		t.Errorf("unlock --force does not say it released the lock:\n%s", out)
	}
	if got := s.lockSession(); got != "" {
		t.Errorf("after unlock the lock is held by session %s", got)
	}
	if out = s.mustRun("unlock", "-f", s.file); !strings.Contains(out, "is not locked") {
		t.Errorf("unlock of a free lock:\n%s", out)
	}
	if out = s.mustRun("apply", "-f", s.file, "--auto-approve"); !strings.Contains(out, "No changes") {
		t.Errorf("apply after unlock:\n%s", out)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
