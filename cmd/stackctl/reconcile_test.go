package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/reconcile"
	"github.com/stackctl/stackctl/spec"
)

func TestReconcileAndHistoryFlags(t *testing.T) {
	root := newRootCmd()
	want := map[string][]string{
		"reconcile": {"repo", "ref", "path", "env", "interval", "once", "allow-rewind", "ssh-key", "known-hosts", "token-env", "cache", "lock-timeout"},
		"history":   {"file", "env", "json", "number"},
	}
	for name, flags := range want {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("no %s command", name)
		}
		for _, f := range flags {
			if cmd.Flags().Lookup(f) == nil {
				t.Errorf("%s has no --%s", name, f)
			}
		}
	}
}

func TestReconcileRefusesFlagsThatCannotWork(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"reconcile"}, "--repo is required"},
		{[]string{"reconcile", "--repo", "/srv/git/x.git", "--interval", "10ms"}, "--interval 10ms is too short"},
		{[]string{"reconcile", "--repo", "/srv/git/x.git", "--path", "../stack.yaml"}, "--path ../stack.yaml must be a path inside the repository"},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitFailure || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "Run 'stackctl reconcile --help'") {
			t.Errorf("%v: exit %d, %q; want a usage error with %q", tt.args, code, stderr, tt.want)
		}
	}
}

func TestLogLinesStampEveryLineWhole(t *testing.T) {
	var out bytes.Buffer
	l := newLogLines(&out)
	l.now = func() time.Time { return time.Date(2026, 12, 1, 15, 53, 27, 0, time.FixedZone("CET", 3600)) }
	l.line("following main")
	if _, err := l.Write([]byte("plan: 1 to add\n  + create wor")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write([]byte("ker/t-web-1\n")); err != nil {
		t.Fatal(err)
	}
	want := "2026-12-01T14:53:27Z following main\n2026-12-01T14:53:27Z plan: 1 to add\n2026-12-01T14:53:27Z   + create worker/t-web-1\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestReconcileViewTellsHowTheApplyEnded: the agent records "rolled back"
// only when the stack is whole again.
func TestReconcileViewTellsHowTheApplyEnded(t *testing.T) {
	changes := &plan.Plan{Steps: []plan.Step{{ID: "worker/t-web-1"}}}
	failed := []*apply.StepError{{Step: plan.Step{ID: "worker/t-web-1"}, Err: errors.New("did not pass")}}
	tests := []struct {
		name   string
		plan   *plan.Plan
		report *apply.Report
		err    error
		want   plan.ReconcileResult
	}{
		{"nothing to change", &plan.Plan{}, nil, nil, plan.ResultNoChanges},
		{"applied", changes, &apply.Report{}, nil, plan.ResultApplied},
		{"rolled back", changes, &apply.Report{Failed: failed, Err: errors.New("1 step failed"), RolledBack: []string{"worker/t-web-1"}, Restored: true}, exitWith(exitRolledBack, errors.New("1 step failed")), plan.ResultRolledBack},
		{"rollback failed", changes, &apply.Report{Failed: failed, Err: errors.New("1 step failed"), RollbackErr: errors.New("start t-web-1.old")}, exitWith(exitFailure, errors.New("x")), plan.ResultError},
		{"paused", changes, &apply.Report{Failed: failed, Err: errors.New("1 step failed"), Paused: true}, exitWith(exitFailure, errors.New("x")), plan.ResultError},
		{"lock lost, not retaken", changes, &apply.Report{Failed: failed, Err: apply.ErrLockLost, RollbackErr: errors.New("could not take the lock again")}, exitWith(exitFailure, apply.ErrLockLost), plan.ResultError},
		{"no lock", nil, nil, exitWith(exitFailure, errors.New("stack t is locked by root@vm pid 1")), plan.ResultError},
	}
	for _, tt := range tests {
		v := &reconcileView{out: &bytes.Buffer{}, plan: tt.plan, report: tt.report}
		out := v.outcome(tt.err)
		if out.Result != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, out.Result, tt.want)
		}
		if tt.err != nil && (out.Err == nil || strings.HasPrefix(out.Err.Error(), "exit status")) {
			t.Errorf("%s: error %v; want the apply's own", tt.name, out.Err)
		}
	}
}

func TestReconcileOnceExitCodes(t *testing.T) {
	entry := func(r plan.ReconcileResult) plan.ReconcileEntry {
		return plan.ReconcileEntry{GitCommit: plan.GitCommit{Short: "abc1234", Subject: "web"}, Result: r, Error: "why"}
	}
	held := entry(plan.ResultRolledBack)
	tests := []struct {
		name string
		pass reconcile.Pass
		want int
	}{
		{"applied", reconcile.Pass{Entries: []plan.ReconcileEntry{entry(plan.ResultApplied)}}, exitOK},
		{"nothing to do", reconcile.Pass{}, exitOK},
		{"rolled back", reconcile.Pass{Entries: []plan.ReconcileEntry{entry(plan.ResultRolledBack)}}, exitRolledBack},
		{"held in its backoff", reconcile.Pass{Held: &held}, exitRolledBack},
		{"invalid, drift healed", reconcile.Pass{Entries: []plan.ReconcileEntry{entry(plan.ResultInvalid), entry(plan.ResultApplied)}}, exitFailure},
		{"refused", reconcile.Pass{Entries: []plan.ReconcileEntry{entry(plan.ResultRefused)}}, exitFailure},
		{"fetch failed", reconcile.Pass{FetchErr: errors.New("no route")}, exitFailure},
	}
	for _, tt := range tests {
		code := exitOK
		var exit *exitError
		if err := onceResult(tt.pass); errors.As(err, &exit) {
			code = exit.code
		}
		if code != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, code, tt.want)
		}
	}
}

// TestCommittedStackLoadsLikeApply: the stack file of a checkout is loaded
// with its overlay and its template checked, and its problems name the
// checkout's files (the agent makes them relative to the repository).
func TestCommittedStackLoadsLikeApply(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("primes/stack.yaml", "version: 1\nname: t\nconsul:\n  ports: [\"127.0.0.1:8599:8500\"]\nservices:\n  web:\n    image: app:v1\n    port: 5000\nlb:\n  template: nginx.ctmpl\n")
	write("primes/stack.staging.yaml", "consul:\n  ports: [\"127.0.0.1:8598:8500\"]\nservices:\n  web:\n    replicas: 3\n")
	write("primes/nginx.ctmpl", "upstream web {\n{{range service \"web\"}}  server {{.Address}}:{{.Port}};\n{{end}}}\n")

	st, err := committedStack("primes/stack.yaml", "staging", "")(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "t-staging" || st.Services[0].Replicas != 3 || !strings.Contains(st.LB.TemplateSource, "upstream web") {
		t.Errorf("loaded %s with %d replicas", st.Name, st.Services[0].Replicas)
	}

	write("primes/nginx.ctmpl", "{{range service \"web\"}}\n")
	_, err = committedStack("primes/stack.yaml", "", "")(dir)
	var problems *spec.Errors
	if !errors.As(err, &problems) || !strings.HasPrefix(problems.Problems[0].Pos.File, dir) {
		t.Errorf("a template that does not render: %v; want a problem at its file in the checkout", err)
	}
}

// TestCommittedStackInTheAgentsContainer: the stack's own agent
// (STACKCTL_RECONCILER) loads its stack marked InAgent, so that its plans
// leave its container alone, and refuses a commit that renames the stack.
func TestCommittedStackInTheAgentsContainer(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "version: 1\nname: t\nservices:\n  web:\n    image: app:v1\n    port: 5000\nreconcile:\n  repo: /srv/git/s.git\n  path: s/stack.yaml\n"
	if err := os.WriteFile(filepath.Join(dir, "s/stack.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := committedStack("s/stack.yaml", "", "")(dir)
	if err != nil || st.InAgent {
		t.Fatalf("on the host: %v, InAgent %v", err, st != nil && st.InAgent)
	}
	st, err = committedStack("s/stack.yaml", "", "t")(dir)
	if err != nil || !st.InAgent {
		t.Fatalf("in its container: %v, InAgent %v", err, st != nil && st.InAgent)
	}
	_, err = committedStack("s/stack.yaml", "", "other")(dir)
	if err == nil || !strings.Contains(err.Error(), "names the stack t, but this agent is the one of stack other") {
		t.Errorf("a renamed stack: %v", err)
	}
}

func TestHistoryListsNewestFirstWithWhatWentWrong(t *testing.T) {
	local := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = local })
	at := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	entries := []plan.ReconcileEntry{
		{GitCommit: plan.GitCommit{Short: "abc1234", Subject: "web: 3 replicas"}, Time: at, Trigger: plan.TriggerCommit,
			Result: plan.ResultApplied, DurationMS: 20400, Changes: "1 to add, 0 to change, 0 to replace, 0 to destroy"},
		{GitCommit: plan.GitCommit{Short: "abc1234", Subject: "web: 3 replicas"}, Time: at.Add(5 * time.Minute), Trigger: plan.TriggerDrift,
			Result: plan.ResultApplied, DurationMS: 4100, Drift: []string{"create worker/t-web-2: container does not exist"}},
		{GitCommit: plan.GitCommit{Short: "0ff1ce0", Subject: "web: typo"}, Time: at.Add(9 * time.Minute), Trigger: plan.TriggerCommit,
			Result: plan.ResultInvalid, DurationMS: 12, Error: "stack.yaml:8:5: unknown field \"replica\""},
	}
	var out bytes.Buffer
	if err := writeHistory(&out, entries); err != nil {
		t.Fatal(err)
	}
	want := `WHEN                 COMMIT   TRIGGER  RESULT   DURATION  SUBJECT
2026-12-01 14:09:00  0ff1ce0  commit   invalid  0s        web: typo
    stack.yaml:8:5: unknown field "replica"
2026-12-01 14:05:00  abc1234  drift    applied  4.1s      web: 3 replicas
    drift:
    create worker/t-web-2: container does not exist
2026-12-01 14:00:00  abc1234  commit   applied  20.4s     web: 3 replicas (1 to add, 0 to change, 0 to replace, 0 to destroy)
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
