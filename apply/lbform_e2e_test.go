//go:build e2e

package apply_test

import (
	"context"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/lbsync"
)

// rejectWithin is the bound on an apply whose template nginx
// rejects: it must fail in under 10 s, so the command gets that deadline.
const rejectWithin = 10 * time.Second

// wholeTemplate is the reference stack's whole-nginx.conf template; bad
// adds a directive nginx does not know inside its http block, which
// nginx -t rejects whatever instances it holds.
func wholeTemplate(t *testing.T, bad bool) string {
	t.Helper()
	b, err := os.ReadFile("../stacks/primes/nginx-whole.ctmpl")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if bad {
		src = strings.Replace(src, "http {\n", "http {\n    proxy_pass_everything on;\n", 1)
	}
	return src
}

func (s *stack) useTemplate(src string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "nginx.ctmpl"), []byte(src), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// applyWithin runs apply with a deadline on the command and reports how
// long it took; a command still running at the deadline fails the test.
func (s *stack) applyWithin(limit time.Duration) (string, int, time.Duration) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "apply", "-f", s.file, "--auto-approve")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if ctx.Err() != nil {
		s.t.Fatalf("apply still running after %s (killed):\n%s", limit, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return string(out), code, took
}

func (s *stack) lbStatus() lbsync.Status {
	s.t.Helper()
	b, ok, err := s.consul().KVGet(s.t.Context(), "stackctl/"+s.name+"/lb/status")
	if err != nil || !ok {
		s.t.Fatalf("lb status: %v (present %t)", err, ok)
	}
	st, err := lbsync.ParseStatus(b)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// getPrime asserts the LB answers 200 with a prime.
func (s *stack) getPrime() {
	s.t.Helper()
	res, err := http.Get("http://" + s.lbAddr() + "/")
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	n, ok := new(big.Int).SetString(strings.TrimSpace(string(body)), 10)
	if res.StatusCode != 200 || !ok || !n.ProbablyPrime(10) {
		s.t.Errorf("LB answered %d %q, want 200 with a prime", res.StatusCode, body)
	}
}

// The classic consul-template nginx.conf serves the stack through the LB;
// then a template change nginx rejects fails the apply within seconds,
// quoting nginx, and leaves the stack as it was.
func TestWholeNginxConfServesAndARejectedChangeFailsFast(t *testing.T) {
	s := newStack(t)
	s.useTemplate(wholeTemplate(t, false))
	s.write(spec{replicas: 3})
	if out, code := s.run("validate", "-f", s.file); code != 0 || !strings.Contains(out, "whole form (detected, rendered to /etc/nginx/nginx.conf), renders 3 instances") {
		t.Fatalf("validate exited %d, want it to say whole form:\n%s", code, out)
	}
	out := s.mustApply()
	t.Logf("first apply:\n%s", tail(out, 6))
	s.getPrime()
	before, status := s.liveState(), s.lbStatus()
	if !status.OK || status.Instances != 3 || status.TemplateSHA256 != lbsync.TemplateSum(wholeTemplate(t, false)) {
		t.Fatalf("LB status %+v, want ok with 3 instances of the whole template", status)
	}

	s.useTemplate(wholeTemplate(t, true))
	out, code, took := s.applyWithin(rejectWithin)
	t.Logf("apply of a rejected template failed after %s:\n%s", took.Round(time.Millisecond), tail(out, 12))
	if code != 3 {
		t.Fatalf("apply exited %d, want 3 (failed and rolled back)", code)
	}
	if !strings.Contains(out, `unknown directive "proxy_pass_everything" in /etc/nginx/nginx.conf`) {
		t.Errorf("apply output does not quote nginx's message:\n%s", out)
	}
	after := s.lbStatus()
	if after.TemplateSHA256 != status.TemplateSHA256 || after.ConfigSHA256 != status.ConfigSHA256 || !after.OK {
		t.Errorf("LB status after the rollback %+v, want the old template's render served (%+v)", after, status)
	}
	if now := s.liveState(); now != before {
		t.Errorf("stack after the failed apply differs:\nbefore %s\nafter  %s", before, now)
	}
	s.getPrime()

	s.useTemplate(wholeTemplate(t, false))
	if !s.planIsEmpty() {
		t.Error("the plan of the old template is not empty after the rollback")
	}
}

// A first apply of a whole template nginx rejects fails as soon as the LB
// has rendered it with the workers in, not after the 60 s readiness wait,
// and leaves no container behind.
func TestFirstApplyOfARejectedWholeConfigFailsFast(t *testing.T) {
	s := newStack(t)
	s.useTemplate(wholeTemplate(t, true))
	s.write(spec{replicas: 3})
	// A first apply also starts Consul and waits for the workers' first
	// checks (about 7 s here) before the LB's verdict can be final.
	out, code, took := s.applyWithin(rejectWithin + 20*time.Second)
	t.Logf("first apply of a rejected template failed after %s:\n%s", took.Round(time.Millisecond), tail(out, 12))
	if code != 3 {
		t.Fatalf("apply exited %d, want 3 (failed and rolled back)", code)
	}
	if !strings.Contains(out, `unknown directive "proxy_pass_everything" in /etc/nginx/nginx.conf`) {
		t.Errorf("apply output does not quote nginx's message:\n%s", out)
	}
	if left := s.containers(); len(left) != 0 {
		t.Errorf("containers left behind: %v", sortedKeys(left))
	}
}

// Switching a running stack from the include template to the whole one
// replaces the LB (it renders to another file); the old LB, which rejects
// a whole nginx.conf as a conf.d include, is not asked to serve it.
func TestSwitchingToAWholeNginxConfReplacesTheLB(t *testing.T) {
	s := newStack(t)
	s.write(spec{replicas: 3})
	s.mustApply()
	lbBefore := s.containers()[s.name+"-lb"]

	s.useTemplate(wholeTemplate(t, false))
	out := s.mustApply()
	if !strings.Contains(out, `config = "whole nginx.conf"`) {
		t.Errorf("the plan does not show the LB's new form:\n%s", out)
	}
	if lbAfter := s.containers()[s.name+"-lb"]; lbAfter == lbBefore {
		t.Errorf("LB container kept (%s), want a new one", lbAfter)
	}
	s.getPrime()
	if st := s.lbStatus(); !st.OK || st.TemplateSHA256 != lbsync.TemplateSum(wholeTemplate(t, false)) {
		t.Errorf("LB status %+v, want ok with the whole template", st)
	}
	if !s.planIsEmpty() {
		t.Error("the plan is not empty after the switch")
	}
}
