package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stackctl/stackctl/spec"
)

// The GitSource tests run against real repositories made with go-git in
// t.TempDir(): a bare one, the "server", and a work tree that commits and
// pushes to it (through the in-process file transport too). PATH is
// emptied, so that any git binary run would fail the test.

// testRepo is a bare repository and a clone that commits to it.
type testRepo struct {
	t    *testing.T
	bare string
	dir  string
	work *git.Repository
	when time.Time
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	t.Setenv("PATH", t.TempDir()) // no git binary to fall back on
	serveFilesInProcess()
	bare := filepath.Join(t.TempDir(), "stacks.git")
	if _, err := git.PlainInitWithOptions(bare, &git.PlainInitOptions{Bare: true, InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	work, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := work.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{"file://" + bare}}); err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, bare: bare, dir: dir, work: work, when: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

// commit writes files (a value of "" removes the file, one starting with
// "->" makes a symlink), commits them with msg and pushes main.
func (r *testRepo) commit(msg string, files map[string]string) plumbing.Hash {
	r.t.Helper()
	wt, err := r.work.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	for name, content := range files {
		path := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.t.Fatal(err)
		}
		switch {
		case content == "":
			if _, err := wt.Remove(name); err != nil {
				r.t.Fatal(err)
			}
			continue
		case strings.HasPrefix(content, "->"):
			err = os.Symlink(strings.TrimPrefix(content, "->"), path)
		default:
			err = os.WriteFile(path, []byte(content), 0o644)
		}
		if err != nil {
			r.t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			r.t.Fatal(err)
		}
	}
	r.when = r.when.Add(time.Minute)
	sig := &object.Signature{Name: "Dev", Email: "dev@example.com", When: r.when}
	h, err := wt.Commit(msg+"\n\nbody of the message", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		r.t.Fatal(err)
	}
	r.push()
	return h
}

// push force-pushes main to the bare repository.
func (r *testRepo) push() {
	r.t.Helper()
	err := r.work.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{"+refs/heads/main:refs/heads/main"}})
	if err != nil && err != git.NoErrAlreadyUpToDate {
		r.t.Fatal(err)
	}
}

// resetTo moves main back to commit, as before a force-push.
func (r *testRepo) resetTo(commit plumbing.Hash) {
	r.t.Helper()
	wt, err := r.work.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: commit, Mode: git.HardReset}); err != nil {
		r.t.Fatal(err)
	}
}

const template = "upstream web {\n  server 127.0.0.1:5000;\n}\n"

func stackFiles(replicas int) map[string]string {
	return map[string]string{
		"stacks/primes/stack.yaml": strings.Replace(stackYAML(replicas, "app:v1"), "services:",
			"lb:\n  template: nginx.ctmpl\nservices:", 1),
		"stacks/primes/nginx.ctmpl": template,
	}
}

func openTestSource(t *testing.T, repo, ref string) *GitSource {
	t.Helper()
	g, err := OpenGit(GitOptions{Repo: repo, Ref: ref, Dir: "stacks/primes", Cache: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func loadCheckout(t *testing.T, g *GitSource, commit string) *spec.Stack {
	t.Helper()
	dir, err := g.Checkout(context.Background(), commit)
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := spec.LoadEnv(filepath.Join(dir, "stacks/primes/stack.yaml"), "")
	if err != nil {
		t.Fatalf("load the checkout of %.7s: %v", commit, err)
	}
	return st
}

func TestGitSourceFollowsABranch(t *testing.T) {
	for _, form := range []string{"file URL", "plain path"} {
		t.Run(form, func(t *testing.T) {
			r := newTestRepo(t)
			files := stackFiles(2)
			files["README.md"] = "stacks\n"
			first := r.commit("primes: 2 workers", files)
			repo := "file://" + r.bare
			if form == "plain path" {
				repo = r.bare
			}
			g := openTestSource(t, repo, "main")
			ctx := context.Background()

			head, err := g.Fetch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if head.Hash != first.String() || head.Subject != "primes: 2 workers" || !head.Time.Equal(r.when) {
				t.Errorf("head %+v; want %s, its subject and author time %s", head, first, r.when)
			}
			st := loadCheckout(t, g, head.Hash)
			if st.Services[0].Replicas != 2 || st.LB.TemplateSource != template {
				t.Errorf("loaded %d replicas, template %q", st.Services[0].Replicas, st.LB.TemplateSource)
			}

			// A commit of an unrelated file is a new head that loads the
			// same stack; only the stack's folder is checked out.
			readme := r.commit("docs", map[string]string{"README.md": "stacks, documented\n"})
			head, err = g.Fetch(ctx)
			if err != nil || head.Hash != readme.String() {
				t.Fatalf("fetch after an unrelated commit: %v, %+v", err, head)
			}
			if st := loadCheckout(t, g, head.Hash); st.Services[0].Replicas != 2 {
				t.Errorf("unrelated commit loads %d replicas", st.Services[0].Replicas)
			}
			dir, _ := g.Checkout(ctx, head.Hash)
			if _, err := os.Stat(filepath.Join(dir, "README.md")); !os.IsNotExist(err) {
				t.Errorf("README.md, outside the stack's folder, was checked out (%v)", err)
			}

			// A commit of the stack file.
			scaled := r.commit("primes: 5 workers", stackFiles(5))
			head, err = g.Fetch(ctx)
			if err != nil || head.Hash != scaled.String() {
				t.Fatalf("fetch after a stack commit: %v, %+v", err, head)
			}
			if st := loadCheckout(t, g, head.Hash); st.Services[0].Replicas != 5 {
				t.Errorf("loaded %d replicas, want 5", st.Services[0].Replicas)
			}
			if ok, err := g.Descends(ctx, scaled.String(), first.String()); !ok || err != nil {
				t.Errorf("Descends(scaled, first) = %v, %v; want true", ok, err)
			}
			if ok, err := g.Descends(ctx, first.String(), scaled.String()); ok || err != nil {
				t.Errorf("Descends(first, scaled) = %v, %v; want false", ok, err)
			}

			// Nothing new: the same head.
			if again, err := g.Fetch(ctx); err != nil || again.Hash != scaled.String() {
				t.Errorf("fetch with nothing new: %v, %+v", err, again)
			}

			// A force-push back onto the first commit.
			r.resetTo(first)
			rewound := r.commit("primes: 3 workers", stackFiles(3))
			head, err = g.Fetch(ctx)
			if err != nil || head.Hash != rewound.String() {
				t.Fatalf("fetch after a force-push: %v, %+v", err, head)
			}
			if ok, err := g.Descends(ctx, rewound.String(), scaled.String()); ok || err != nil {
				t.Errorf("Descends(rewound, scaled) = %v, %v; want false", ok, err)
			}

			loadCheckout(t, g, head.Hash)
			if err := g.Keep(head.Hash); err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(g.trees); len(entries) != 1 || entries[0].Name() != head.Hash {
				t.Errorf("after Keep: %v; want the head's checkout only", entries)
			}
		})
	}
}

func TestGitSourceFollowsATagAndANonBareRepository(t *testing.T) {
	r := newTestRepo(t)
	first := r.commit("v1", stackFiles(2))
	if _, err := r.work.CreateTag("v1", first, &git.CreateTagOptions{Message: "release 1",
		Tagger: &object.Signature{Name: "Dev", Email: "dev@example.com", When: r.when}}); err != nil {
		t.Fatal(err)
	}
	r.commit("after v1", stackFiles(3))

	g := openTestSource(t, r.dir, "v1") // the work tree itself, annotated tag
	head, err := g.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if head.Hash != first.String() {
		t.Errorf("tag v1 resolved to %.7s, want %.7s", head.Hash, first)
	}
	if peek, err := g.Peek(context.Background()); err != nil || peek != first.String() {
		t.Errorf("Peek = %.7s, %v; want %.7s", peek, err, first)
	}

	missing := openTestSource(t, r.dir, "nope")
	if _, err := missing.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "has no branch or tag nope") {
		t.Errorf("fetch of a missing ref: %v", err)
	}
}

func TestPeekSeesANewCommitBeforeAFetch(t *testing.T) {
	r := newTestRepo(t)
	r.commit("v1", stackFiles(2))
	g := openTestSource(t, r.bare, "main")
	if _, err := g.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := r.commit("v2", stackFiles(3))
	if peek, err := g.Peek(context.Background()); err != nil || peek != next.String() {
		t.Errorf("Peek = %.7s, %v; want the new commit %.7s", peek, err, next)
	}
}

func TestCheckoutLeavesOutSymlinksThatLeaveTheStacksFolder(t *testing.T) {
	r := newTestRepo(t)
	files := stackFiles(2)
	files["stacks/primes/host"] = "->/etc/passwd"
	files["stacks/primes/up"] = "->../../README.md"
	files["stacks/primes/same.ctmpl"] = "->nginx.ctmpl"
	files["README.md"] = "hello\n"
	c := r.commit("links", files)
	g := openTestSource(t, r.bare, "main")
	if _, err := g.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir, err := g.Checkout(context.Background(), c.String())
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "stacks/primes")
	for _, name := range []string{"host", "up"} {
		if _, err := os.Lstat(filepath.Join(folder, name)); !os.IsNotExist(err) {
			t.Errorf("symlink %s out of the folder was written (%v)", name, err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(folder, "same.ctmpl")); err != nil || string(got) != template {
		t.Errorf("symlink inside the folder: %q, %v", got, err)
	}
}

// TestTheAgentFollowsARealRepository runs the loop over a GitSource: a
// commit of the stack file is applied, one of an unrelated file changes
// nothing live, an invalid one is refused with its position in the
// repository, and a force-push is refused.
func TestTheAgentFollowsARealRepository(t *testing.T) {
	r := newTestRepo(t)
	files := stackFiles(2)
	files["README.md"] = "stacks\n"
	first := r.commit("primes: 2 workers", files)
	g := openTestSource(t, "file://"+r.bare, "main")
	rig := newRig()
	a := New(Config{
		Source: g, Deploy: rig.deploy, KV: rig.kv.dial, Clock: rig.clock, Interval: time.Minute,
		Load: func(dir string) (*spec.Stack, error) {
			st, _, err := spec.LoadEnv(filepath.Join(dir, "stacks/primes/stack.yaml"), "")
			return st, err
		},
		Repo: g.Repo(), Ref: "main", Path: "stacks/primes/stack.yaml",
	})
	ctx := context.Background()
	if got := results(a.Once(ctx).Entries); got != "commit:applied" || rig.deploy.workers() != 2 {
		t.Fatalf("first commit: %s, %d workers", got, rig.deploy.workers())
	}
	r.commit("docs", map[string]string{"README.md": "more\n"})
	if got := results(a.Once(ctx).Entries); got != "commit:no changes" {
		t.Errorf("unrelated commit: %s; want commit:no changes", got)
	}
	scaled := r.commit("primes: 4 workers", stackFiles(4))
	if got := results(a.Once(ctx).Entries); got != "commit:applied" || rig.deploy.workers() != 4 {
		t.Errorf("stack commit: %s, %d workers; want applied, 4", got, rig.deploy.workers())
	}
	bad := stackFiles(4)
	bad["stacks/primes/stack.yaml"] = strings.Replace(bad["stacks/primes/stack.yaml"], "port: 5000", "port: 70000", 1)
	r.commit("primes: bad port", bad)
	p := a.Once(ctx)
	if got := results(p.Entries); got != "commit:invalid" || !strings.HasPrefix(p.Entries[0].Error, "stacks/primes/stack.yaml:11:11: ") {
		t.Errorf("invalid commit: %s, %+v; want refused at stacks/primes/stack.yaml:11:11", got, p.Entries)
	}
	r.resetTo(first)
	r.commit("primes: 3 workers, rewound", stackFiles(3))
	p = a.Once(ctx)
	if got := results(p.Entries); got != "commit:refused" || !strings.Contains(p.Entries[0].Error, "does not descend from "+scaled.String()[:7]) {
		t.Errorf("force-push: %s, %+v", got, p.Entries)
	}
	if rig.deploy.workers() != 4 {
		t.Errorf("%d workers; the stack must stay at the last good commit's 4", rig.deploy.workers())
	}
	if ap := rig.kv.applied(t); ap.Commit != scaled.String() || ap.Repo != "file://"+r.bare {
		t.Errorf("applied record %+v", ap)
	}
}
