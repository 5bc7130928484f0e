package apply

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/lbsync"
)

func TestJudgeLBRender(t *testing.T) {
	since := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	after, before := since.Add(time.Second), since.Add(-time.Second)
	const want = "new"
	for _, tt := range []struct {
		name     string
		st       lbsync.Status
		expected int
		verdict  lbVerdict
	}{
		{"served", lbsync.Status{OK: true, ConfigSHA256: "c", TemplateSHA256: want, RenderedAt: after, Instances: 3}, 3, lbServing},
		{"served with no instance yet", lbsync.Status{OK: true, ConfigSHA256: "c", TemplateSHA256: want, RenderedAt: after}, 3, lbServing},
		{"rendered before the write", lbsync.Status{OK: true, ConfigSHA256: "c", TemplateSHA256: want, RenderedAt: before}, 3, lbPending},
		{"a render of the old template", lbsync.Status{OK: true, ConfigSHA256: "c", TemplateSHA256: "old", RenderedAt: after}, 3, lbPending},
		{"rejected with instances", lbsync.Status{Rejected: true, TemplateSHA256: want, RenderedAt: after, Instances: 1}, 3, lbRejected},
		{"rejected while empty: the workers may fix it", lbsync.Status{Rejected: true, TemplateSHA256: want, RenderedAt: after}, 3, lbPending},
		{"rejected, reads no instance anyway", lbsync.Status{Rejected: true, TemplateSHA256: want, RenderedAt: after}, 0, lbRejected},
		{"rejection of the old template", lbsync.Status{Rejected: true, TemplateSHA256: "old", RenderedAt: after, Instances: 3}, 3, lbPending},
		{"rejection before the write", lbsync.Status{Rejected: true, TemplateSHA256: want, RenderedAt: before, Instances: 3}, 3, lbPending},
		{"a render error is not a rejection", lbsync.Status{Error: "render: key missing", TemplateSHA256: want, RenderedAt: after, Instances: 3}, 3, lbPending},
		{"ok but serving nothing yet", lbsync.Status{OK: true, TemplateSHA256: want, RenderedAt: after}, 3, lbPending},
		{"an LB without template_sha256: any render since", lbsync.Status{OK: true, ConfigSHA256: "c", RenderedAt: after}, 3, lbServing},
		{"an LB without template_sha256 is never judged rejected", lbsync.Status{Rejected: true, RenderedAt: after, Instances: 3}, 3, lbPending},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgeLBRender(tt.st, since, want, tt.expected); got != tt.verdict {
				t.Errorf("verdict = %d, want %d", got, tt.verdict)
			}
		})
	}
}

// A template nginx rejects fails its step at once, with nginx's message,
// and the rollback puts the old template back.
func TestRejectedTemplateFailsAtOnceAndRollsBack(t *testing.T) {
	w := testWorld()
	mustApply(t, w, stackFile(t, 3, "primes:v1", "start-first", "rollback", 2))
	before := w.snapshot()
	s2 := stackFile(t, 3, "primes:v1", "start-first", "rollback", 2)
	s2.LB.TemplateSource += fakeRejected + " on;\n"
	start := time.Now()
	r, _ := w.apply(t, s2, Options{Lock: true})
	if r.OK() {
		t.Fatal("apply of a template nginx rejects succeeded")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("failed after %s, want at once", took)
	}
	var rej *LBRejectedError
	if !errors.As(r.Err, &rej) || !strings.Contains(r.Err.Error(), `unknown directive "`+fakeRejected+`"`) {
		t.Errorf("error = %v, want an LBRejectedError quoting nginx", r.Err)
	}
	if after := w.snapshot(); after != before {
		t.Errorf("state after rollback differs:\n%s", diffLines(before, after))
	}
}

// A first apply whose LB rejects the template (with its workers in) fails
// and leaves nothing behind.
func TestFirstApplyWithRejectedTemplateLeavesNothing(t *testing.T) {
	w := testWorld()
	before := w.snapshot()
	s := stackFile(t, 2, "primes:v1", "start-first", "rollback", 2)
	s.LB.TemplateSource += fakeRejected + " on;\n"
	r, _ := w.apply(t, s, Options{Lock: true})
	var rej *LBRejectedError
	if r.OK() || !errors.As(r.Err, &rej) {
		t.Fatalf("apply error = %v, want an LBRejectedError", r.Err)
	}
	if r.RollbackErr != nil {
		t.Errorf("rollback errors: %v", r.RollbackErr)
	}
	// The fake's KV outlives its Consul container (the journal stays in
	// it); Docker must hold nothing of the stack.
	for _, line := range strings.Split(diffLines(before, w.snapshot()), "\n") {
		if strings.Contains(line, "container ") || strings.Contains(line, "network ") {
			t.Errorf("left behind: %s", line)
		}
	}
}

// When the LB is replaced in the same apply (its form changed), the old
// one is not asked to render the new template: the new LB's step checks it.
func TestTemplateForANewLBIsCheckedByTheNewLB(t *testing.T) {
	w := testWorld()
	mustApply(t, w, stackFile(t, 2, "primes:v1", "start-first", "rollback", 2))
	s2 := stackFile(t, 2, "primes:v1", "start-first", "rollback", 2)
	s2.LB.Image = "nginx:test2"
	w.addImage("nginx:test2")
	s2.LB.TemplateSource += "# changed\n"
	mustApply(t, w, s2)
}
