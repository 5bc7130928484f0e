//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"gopkg.in/yaml.v3"

	"github.com/stackctl/stackctl/internal/images"
)

// The GitOps examples (examples/gitops) run in a hosted CI against a stack's
// machine. This test runs the commands those files hold, read from the files
// themselves, against a local bare repository and a real stack: the plan of
// a pull request, the plan and apply of a merge, the scheduled drift check,
// a saved plan made stale, and a merge whose image never passes.

const examplesDir = "../../examples/gitops"

// ciStep is a step of a CI file that runs stackctl-ci.sh: its shell
// commands and its environment.
type ciStep struct {
	name string
	run  string
	env  map[string]string
}

// githubSteps reads the workflow's steps that run stackctl-ci.sh, by job.
func githubSteps(t *testing.T) map[string][]ciStep {
	t.Helper()
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				Run  string            `yaml:"run"`
				Env  map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	readYAML(t, "github-actions.yml", &wf)
	out := map[string][]ciStep{}
	for job, j := range wf.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "stackctl-ci.sh") {
				out[job] = append(out[job], ciStep{name: "github " + job + "/" + s.Name, run: s.Run, env: merge(wf.Env, s.Env)})
			}
		}
	}
	return out
}

// gitlabSteps reads the GitLab jobs' script lines, by job.
func gitlabSteps(t *testing.T) map[string][]ciStep {
	t.Helper()
	var doc map[string]yaml.Node
	readYAML(t, "gitlab-ci.yml", &doc)
	var vars map[string]string
	if n, ok := doc["variables"]; ok {
		if err := n.Decode(&vars); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string][]ciStep{}
	for job, n := range doc {
		var j struct {
			Script []string `yaml:"script"`
		}
		if n.Kind != yaml.MappingNode || n.Decode(&j) != nil {
			continue
		}
		for _, line := range j.Script {
			out[job] = append(out[job], ciStep{name: "gitlab " + job, run: line, env: vars})
		}
	}
	return out
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}

// gitRepo is a bare repository and a clone to commit from, as a user's
// laptop and their git server.
type gitRepo struct {
	t      *testing.T
	origin string // the bare repository
	dev    string // a clone the test commits in
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	root := t.TempDir()
	g := &gitRepo{t: t, origin: filepath.Join(root, "origin.git"), dev: filepath.Join(root, "dev")}
	g.git(root, "init", "--quiet", "--bare", "--initial-branch=main", g.origin)
	g.git(root, "clone", "--quiet", "file://"+g.origin, g.dev)
	return g
}

func (g *gitRepo) git(dir string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=ci test", "-c", "user.email=ci@test.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files in the clone, commits them on branch and pushes.
func (g *gitRepo) commit(branch, subject string, files map[string][]byte) {
	g.t.Helper()
	g.switchTo(branch)
	for name, data := range files {
		p := filepath.Join(g.dev, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			g.t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			g.t.Fatal(err)
		}
	}
	g.git(g.dev, "add", "-A")
	g.git(g.dev, "commit", "--quiet", "-m", subject)
	g.git(g.dev, "push", "--quiet", "--force", "origin", branch)
}

// switchTo checks branch out in the clone, making it from main if new.
func (g *gitRepo) switchTo(branch string) {
	g.t.Helper()
	switch {
	case strings.Contains(g.git(g.dev, "branch", "--list", branch), branch):
		g.git(g.dev, "checkout", "--quiet", branch)
	case branch != "main":
		g.git(g.dev, "checkout", "--quiet", "-b", branch, "main")
	} // else main is not born yet: the first commit makes it
}

// merge merges branch into main, as a pull request's merge button does.
func (g *gitRepo) merge(branch string) {
	g.t.Helper()
	g.switchTo("main")
	g.git(g.dev, "merge", "--quiet", "--no-ff", "-m", "Merge "+branch, branch)
	g.git(g.dev, "push", "--quiet", "origin", "main")
}

// checkout is what a CI runner does first: a fresh clone of ref.
func (g *gitRepo) checkout(ref string) string {
	g.t.Helper()
	dir := filepath.Join(g.t.TempDir(), "checkout")
	g.git(filepath.Dir(dir), "clone", "--quiet", "--branch", ref, "file://"+g.origin, dir)
	return dir
}

// runStep runs a CI step's commands in dir as the CI would (bash -e), with
// stackctl on PATH, and returns its output and exit code.
func (s *e2eStack) runStep(st ciStep, dir string, extra ...string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", st.run)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "STACKCTL="+stackctlBin)
	for k, v := range st.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(append(cmd.Env, s.vars...), extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	code := exitCode(s.t, cmd.Run(), []string{st.name})
	s.t.Logf("%s: exit %d\n%s", st.name, code, out.String())
	return out.String(), code
}

// only returns the one step of job that runs stackctl-ci.sh MODE.
func only(t *testing.T, steps map[string][]ciStep, job, mode string) ciStep {
	t.Helper()
	var found []ciStep
	for _, st := range steps[job] {
		if strings.Contains(st.run, "stackctl-ci.sh "+mode) {
			found = append(found, st)
		}
	}
	if len(found) != 1 {
		t.Fatalf("job %s: %d steps run stackctl-ci.sh %s, want 1: %+v", job, len(found), mode, steps[job])
	}
	return found[0]
}

func TestGitOpsExamplesAgainstALocalRepository(t *testing.T) {
	gh, gl := githubSteps(t), gitlabSteps(t)
	ghPlan, ghApply, ghDrift := only(t, gh, "plan", "plan"), only(t, gh, "apply", "apply"), only(t, gh, "drift", "drift")
	glPlan, glApply, glDrift := only(t, gl, "plan", "plan"), only(t, gl, "apply", "apply"), only(t, gl, "drift", "drift")

	s := newE2EStack(t)
	stackFile := func(image string, replicas int, deadline string) []byte {
		s.write(image, replicas, deadline)
		b, err := os.ReadFile(s.file)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	script, err := os.ReadFile(filepath.Join(examplesDir, "stackctl-ci.sh"))
	if err != nil {
		t.Fatal(err)
	}
	g := newGitRepo(t)
	g.commit("main", "stack: 2 workers", map[string][]byte{
		"stack.yaml":                     stackFile(images.PrimesV1, 2, "30s"),
		"examples/gitops/stackctl-ci.sh": script,
	})

	// A merge to main: GitHub's plan job, then its apply job in a
	// checkout of its own with the plan job's artifact.
	dir := g.checkout("main")
	if out, code := s.runStep(ghPlan, dir); code != 0 || !strings.Contains(out, "the plan has changes") {
		t.Fatalf("plan of the first commit: exit %d, want 0 and changes", code)
	}
	applyDir := g.checkout("main")
	copyFile(t, filepath.Join(dir, "stackctl.plan"), filepath.Join(applyDir, "stackctl.plan"))
	if _, code := s.runStep(ghApply, applyDir); code != 0 {
		t.Fatalf("apply of the first commit: exit %d, want 0", code)
	}
	if last := lastJSONLine(t, filepath.Join(applyDir, "apply.jsonl")); last["type"] != "report" || last["ok"] != true {
		t.Fatalf("apply.jsonl ends with %v, want an ok report", last)
	}
	if !s.running(s.name+"-web-2") || !s.running(s.name+"-consul") {
		t.Fatalf("first commit not applied: %q", s.owned())
	}

	// A pull request: 2 → 3 workers. The plan is a comment; nothing changes.
	g.commit("more-workers", "stack: 3 workers", map[string][]byte{"stack.yaml": stackFile(images.PrimesV1, 3, "30s")})
	before := s.owned()
	dir = g.checkout("more-workers")
	if _, code := s.runStep(ghPlan, dir, "GITHUB_EVENT_NAME=pull_request"); code != 0 {
		t.Fatalf("plan of the pull request: exit %d, want 0", code)
	}
	comment := readFile(t, filepath.Join(dir, "plan.md"))
	for _, want := range []string{"<!-- stackctl-plan: " + s.name + " -->", s.name + "-web-3", "fingerprint `sha256:"} {
		if !strings.Contains(comment, want) {
			t.Errorf("the pull request's comment does not hold %q:\n%s", want, comment)
		}
	}
	sameObjects(t, "the plan of a pull request", before, s.owned())

	// The merge, with GitLab's jobs this time.
	g.merge("more-workers")
	dir = g.checkout("main")
	if _, code := s.runStep(glPlan, dir, "CI_PIPELINE_SOURCE=push"); code != 0 {
		t.Fatalf("GitLab plan of the merge: exit %d, want 0", code)
	}
	if _, code := s.runStep(glApply, dir, "CI_PIPELINE_SOURCE=push"); code != 0 {
		t.Fatalf("GitLab apply of the merge: exit %d, want 0", code)
	}
	if !s.running(s.name + "-web-3") {
		t.Fatalf("merge not applied: %q", s.owned())
	}

	// The scheduled drift check: none, then a worker removed behind
	// stackctl's back.
	summary := filepath.Join(t.TempDir(), "summary.md")
	if _, code := s.runStep(ghDrift, dir, "GITHUB_STEP_SUMMARY="+summary); code != 0 {
		t.Fatalf("drift check of a whole stack: exit %d, want 0", code)
	}
	if !strings.Contains(readFile(t, summary), "No changes") {
		t.Errorf("the job summary of a whole stack does not say No changes:\n%s", readFile(t, summary))
	}
	// A plan saved before the drift, to apply after it.
	if _, code := s.runStep(ghPlan, dir); code != 0 {
		t.Fatalf("plan before the drift: exit %d", code)
	}
	if err := s.env.Docker.ContainerRemove(t.Context(), s.name+"-web-2", container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, code := s.runStep(ghDrift, dir, "GITHUB_STEP_SUMMARY="+summary); code != 2 {
		t.Fatalf("drift check after docker rm -f: exit %d, want 2", code)
	}
	if !strings.Contains(readFile(t, summary), s.name+"-web-2") {
		t.Errorf("the job summary does not name the removed worker:\n%s", readFile(t, summary))
	}
	if _, code := s.runStep(glDrift, dir, "CI_PIPELINE_SOURCE=schedule"); code != 2 {
		t.Fatalf("GitLab drift check after docker rm -f: exit %d, want 2", code)
	}

	// The plan saved before the drift is stale: refused, nothing changed.
	before = s.owned()
	if out, code := s.runStep(ghApply, dir); code != 1 || !strings.Contains(readFile(t, filepath.Join(dir, "apply.jsonl"))+out, "changed since the plan") {
		t.Fatalf("apply of a stale plan: exit %d, want 1 and a refusal", code)
	}
	sameObjects(t, "the apply of a stale plan", before, s.owned())

	// A fresh plan heals it.
	if _, code := s.runStep(ghPlan, dir); code != 0 {
		t.Fatalf("plan after the drift: exit %d", code)
	}
	if _, code := s.runStep(ghApply, dir); code != 0 {
		t.Fatalf("apply after the drift: exit %d", code)
	}
	if !s.running(s.name + "-web-2") {
		t.Fatalf("drift not healed: %q", s.owned())
	}

	// A merge whose image never passes: exit 3, and the stack as it was.
	g.commit("main", "stack: a bad image", map[string][]byte{"stack.yaml": stackFile(images.PrimesBad, 3, "4s")})
	dir = g.checkout("main")
	if _, code := s.runStep(ghPlan, dir); code != 0 {
		t.Fatalf("plan of the bad image: exit %d", code)
	}
	before = s.owned()
	if out, code := s.runStep(ghApply, dir); code != 3 || !strings.Contains(out, "rolled back") {
		t.Fatalf("apply of a never-passing image: exit %d, want 3 (rolled back)", code)
	}
	sameObjects(t, "a rolled-back apply", before, s.owned())
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lastJSONLine(t *testing.T, name string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(readFile(t, name)), "\n")
	var v map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &v); err != nil {
		t.Fatalf("%s: last line: %v", name, err)
	}
	return v
}
