package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReconcileSectionDefaults(t *testing.T) {
	st, err := Load("testdata/valid/reconcile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := st.Reconcile
	want := Reconcile{Repo: "/srv/git/stacks.git", Ref: "main", Path: "gitops/stack.yaml", Interval: 10 * time.Second,
		Image: DefaultReconcileImage, Pos: r.Pos}
	if *r != want {
		t.Errorf("reconcile = %+v\nwant %+v", *r, want)
	}
	if r.Pos.Line != 9 || r.Pos.Column != 1 {
		t.Errorf("pos = %+v, want 9:1", r.Pos)
	}
	if got := st.ReconcileContainerName(); got != "gitops-reconcile" {
		t.Errorf("container name = %q", got)
	}
	if st.InAgent {
		t.Error("InAgent set by the loader: only the agent sets it")
	}
}

func TestNoReconcileSectionIsNil(t *testing.T) {
	st, err := Load("testdata/valid/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if st.Reconcile != nil || st.ReconcileHash() != "" {
		t.Errorf("reconcile = %+v, hash %q; want none", st.Reconcile, st.ReconcileHash())
	}
}

func TestReconcileRepoForms(t *testing.T) {
	for _, tt := range []struct {
		repo, local, problem string
	}{
		{"/srv/git/stacks.git", "/srv/git/stacks.git", ""},
		{"file:///srv/git/stacks.git/", "/srv/git/stacks.git", ""},
		{"ssh://git@git.example.com/ops/stacks.git", "", ""},
		{"git@git.example.com:ops/stacks.git", "", ""},
		{"https://git.example.com/ops/stacks.git", "", ""},
		{"stacks.git", "", "is a relative path"},
		{"file://stacks.git", "", "is not a file:// URL of an absolute path"},
		{"ftp://git.example.com/stacks.git", "", `has the scheme "ftp"`},
		{"https:///stacks.git", "", "is not a URL with a host"},
	} {
		src := "version: 1\nname: s\nservices:\n  web: {image: x:1, port: 5000}\nreconcile:\n  repo: " + tt.repo + "\n  path: stack.yaml\n"
		st, err := Parse("s.yaml", []byte(src), env(nil), t.TempDir())
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), "s.yaml:6:9: reconcile.repo") || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("%s: err = %v, want s.yaml:6:9 ... %s", tt.repo, err, tt.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.repo, err)
			continue
		}
		if got := st.Reconcile.LocalRepo(); got != tt.local {
			t.Errorf("%s: LocalRepo = %q, want %q", tt.repo, got, tt.local)
		}
	}
}

// TestReconcileEnvIsTheStacks: the agent follows the environment the stack
// is loaded for, by default and when the overlay says so.
func TestReconcileEnvIsTheStacks(t *testing.T) {
	dir := t.TempDir()
	base := "version: 1\nname: s\nservices:\n  web: {image: x:1, port: 5000}\nreconcile:\n  repo: /srv/git/s.git\n  path: s/stack.yaml\n"
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stack.yaml", base)
	write("stack.staging.yaml", "reconcile:\n  env: staging\n")
	write("stack.prod.yaml", "reconcile:\n  env: staging\n")
	st, _, err := LoadEnv(filepath.Join(dir, "stack.yaml"), "staging")
	if err != nil {
		t.Fatal(err)
	}
	if st.Reconcile.Env != "staging" || st.ReconcileContainerName() != "s-staging-reconcile" {
		t.Errorf("env %q, container %q", st.Reconcile.Env, st.ReconcileContainerName())
	}
	_, _, err = LoadEnv(filepath.Join(dir, "stack.yaml"), "prod")
	if err == nil || !strings.Contains(err.Error(), `reconcile.env is "staging" but the stack is loaded for environment "prod"`) {
		t.Errorf("prod: %v", err)
	}
	st, err = Load(filepath.Join(dir, "stack.yaml"))
	if err != nil || st.Reconcile.Env != "" {
		t.Errorf("no environment: %v, env %q", err, st.Reconcile.Env)
	}
}

// TestReconcileHashCoversTheAgentsConfig: every field of the section, and
// the Consul address the agent reaches, changes the container's hash.
func TestReconcileHashCoversTheAgentsConfig(t *testing.T) {
	st, err := Load("testdata/valid/reconcile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before := st.ReconcileHash()
	for name, change := range map[string]func(s *Stack){
		"repo":        func(s *Stack) { s.Reconcile.Repo = "/srv/git/other.git" },
		"ref":         func(s *Stack) { s.Reconcile.Ref = "prod" },
		"path":        func(s *Stack) { s.Reconcile.Path = "x/stack.yaml" },
		"interval":    func(s *Stack) { s.Reconcile.Interval = time.Minute },
		"image":       func(s *Stack) { s.Reconcile.Image = "x:2" },
		"ssh_key":     func(s *Stack) { s.Reconcile.SSHKey = "/k" },
		"known_hosts": func(s *Stack) { s.Reconcile.KnownHosts = "/h" },
		"consul":      func(s *Stack) { s.Consul.Address = "10.0.0.1:8500" },
	} {
		c := *st
		r := *st.Reconcile
		c.Reconcile = &r
		change(&c)
		if c.ReconcileHash() == before {
			t.Errorf("%s: hash unchanged", name)
		}
	}
	if st.ReconcileHash() != before {
		t.Error("hash not stable")
	}
}
