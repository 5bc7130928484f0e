//go:build e2e

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
)

// stackctlBin is the binary the end-to-end tests run, built once by TestMain.
var stackctlBin string

func TestMain(m *testing.M) { e2e.RunWithBinary(m, ".", &stackctlBin) }

// runTimeout bounds one stackctl run: an apply of Consul and a few workers
// takes seconds, a rollback a few more.
const runTimeout = 3 * time.Minute

// e2eStack is a small stack of the test's own: a Consul server and a few
// workers, no LB, every host port chosen by Docker so that tests never
// collide.
type e2eStack struct {
	t    *testing.T
	env  *e2e.Env
	dir  string
	file string
	name string
	// vars are added to every stackctl run's environment.
	vars []string
}

func newE2EStack(t *testing.T) *e2eStack {
	e := e2e.NewForApply(t)
	dir := t.TempDir()
	return &e2eStack{t: t, env: e, dir: dir, file: filepath.Join(dir, "stack.yaml"), name: e.Stack}
}

// write writes the stack file: replicas workers of image, each given
// deadline to pass its check.
func (s *e2eStack) write(image string, replicas int, deadline string) {
	s.t.Helper()
	src := fmt.Sprintf(`version: 1
name: %s
consul:
  image: %s
  ports: ["127.0.0.1::8500"]
services:
  web:
    image: %s
    replicas: %d
    port: 5000
    env: {PRIME_DIGITS: "8"}
    check: {http: /healthz, interval: 1s, timeout: 1s}
    update: {parallelism: 3, healthy_deadline: %s}
    resources: {memory: 64m, cpus: 0.25}
`, s.name, images.Consul, image, replicas, deadline)
	if err := os.WriteFile(s.file, []byte(src), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// command is stackctl with args, without a terminal: stdin is /dev/null.
func (s *e2eStack) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, stackctlBin, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), s.vars...)
	cmd.Dir = s.dir
	return cmd
}

// run runs stackctl and returns its stdout, stderr and exit code.
func (s *e2eStack) run(args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), runTimeout)
	defer cancel()
	cmd := s.command(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code = exitCode(s.t, cmd.Run(), args)
	return out.String(), errOut.String(), code
}

func exitCode(t *testing.T, err error, args []string) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("run stackctl %v: %v", args, err)
	return -1
}

// mustRun runs stackctl and fails the test unless it exits 0.
func (s *e2eStack) mustRun(args ...string) string {
	s.t.Helper()
	out, errOut, code := s.run(args...)
	if code != 0 {
		s.t.Fatalf("stackctl %v exited %d:\n%s%s", args, code, out, errOut)
	}
	return out
}

// owned lists the Docker objects carrying the stack's label, as
// "container NAME ID STATE" and "network NAME ID": what an apply changes.
func (s *e2eStack) owned() []string {
	s.t.Helper()
	f := filters.NewArgs(filters.Arg("label", e2e.StackLabel+"="+s.name))
	containers, err := s.env.Docker.ContainerList(s.t.Context(), container.ListOptions{All: true, Filters: f})
	if err != nil {
		s.t.Fatal(err)
	}
	networks, err := s.env.Docker.NetworkList(s.t.Context(), network.ListOptions{Filters: f})
	if err != nil {
		s.t.Fatal(err)
	}
	// Consul's data volume is made and removed with its container: a
	// volume's creation time stands in for an ID.
	volumes, err := s.env.Docker.VolumeList(s.t.Context(), volume.ListOptions{Filters: f})
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, c := range containers {
		out = append(out, fmt.Sprintf("container %s %.12s %s", strings.Join(c.Names, ","), c.ID, c.State))
	}
	for _, n := range networks {
		out = append(out, fmt.Sprintf("network %s %.12s", n.Name, n.ID))
	}
	for _, v := range volumes.Volumes {
		out = append(out, fmt.Sprintf("volume %s %s", v.Name, v.CreatedAt))
	}
	sort.Strings(out)
	return out
}

func (s *e2eStack) running(name string) bool {
	for _, o := range s.owned() {
		if strings.HasPrefix(o, "container /"+name+" ") && strings.HasSuffix(o, " running") {
			return true
		}
	}
	return false
}

func sameObjects(t *testing.T, what string, before, after []string) {
	t.Helper()
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("%s changed the stack's objects:\nbefore %q\nafter  %q", what, before, after)
	}
}

func TestSavedPlanAppliesWithoutPromptAndIsRefusedAfterDrift(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 2, "30s")
	first := filepath.Join(s.dir, "first.plan")
	s.mustRun("plan", "-f", s.file, "-out", first)

	// stdin is /dev/null: had apply asked, it would have failed with "no
	// terminal to confirm on".
	out := s.mustRun("apply", first)
	if strings.Contains(out, "Enter a value") || !strings.Contains(out, "Apply complete") {
		t.Fatalf("apply of a saved plan asked or did not complete:\n%s", out)
	}
	if !s.running(s.name+"-web-2") || !s.running(s.name+"-consul") {
		t.Fatalf("saved plan not carried out: %q", s.owned())
	}

	s.write(images.PrimesV1, 3, "30s")
	second := filepath.Join(s.dir, "second.plan")
	s.mustRun("plan", "-f", s.file, "-out", second)
	// docker rm -f, behind stackctl's back.
	if err := s.env.Docker.ContainerRemove(t.Context(), s.name+"-web-1", container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	before := s.owned()
	out, errOut, code := s.run("apply", second)
	if code != 1 {
		t.Fatalf("apply of a plan made before a worker was removed exited %d, want 1:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"changed since the plan", "fingerprint sha256:", "stackctl plan -out"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("refusal does not say %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out, "Apply complete") {
		t.Errorf("refused plan was applied:\n%s", out)
	}
	sameObjects(t, "a refused plan", before, s.owned())
}

func TestSavedPlanRefusedWhenStackFileChanged(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 2, "30s")
	saved := filepath.Join(s.dir, "stale.plan")
	s.mustRun("plan", "-f", s.file, "-out", saved)
	s.write(images.PrimesV1, 3, "30s")

	out, errOut, code := s.run("apply", saved)
	if code != 1 || !strings.Contains(errOut, "changed since the plan") || !strings.Contains(errOut, s.file) {
		t.Errorf("apply of a plan whose stack file changed: exit %d, stderr %q, stdout %q; want 1 and a refusal naming %s",
			code, errOut, out, s.file)
	}
	if got := s.owned(); len(got) != 0 {
		t.Errorf("a refused plan created %q", got)
	}
}

// terminal is a stackctl run on a pseudo-terminal, as a person runs it.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	read chan struct{} // closed when the output has been read to its end
}

func (s *e2eStack) onTerminal(ctx context.Context, args ...string) *terminal {
	s.t.Helper()
	cmd := s.command(ctx, args...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		s.t.Fatalf("start stackctl on a pty: %v", err)
	}
	tm := &terminal{t: s.t, cmd: cmd, ptmx: ptmx, read: make(chan struct{})}
	go func() {
		defer close(tm.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf) // EIO once stackctl exited and all is read
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return tm
}

func (tm *terminal) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// waitFor waits until the terminal shows text.
func (tm *terminal) waitFor(text string, timeout time.Duration) {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(tm.output(), text) {
		if time.Now().After(deadline) {
			tm.t.Fatalf("the terminal never showed %q:\n%s", text, tm.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tm *terminal) typeLine(line string) {
	tm.t.Helper()
	if _, err := tm.ptmx.Write([]byte(line + "\n")); err != nil {
		tm.t.Fatalf("type %q: %v", line, err)
	}
}

// wait waits for stackctl to exit and returns its exit code and all it wrote.
func (tm *terminal) wait() (int, string) {
	tm.t.Helper()
	code := exitCode(tm.t, tm.cmd.Wait(), tm.cmd.Args)
	select {
	case <-tm.read:
	case <-time.After(10 * time.Second):
		tm.t.Error("the terminal's output did not end after stackctl exited")
	}
	tm.ptmx.Close()
	return code, tm.output()
}

func TestConfirmPromptOnTerminal(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 2, "30s")
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()

	tm := s.onTerminal(ctx, "apply", "-f", s.file)
	tm.waitFor("Enter a value: ", time.Minute)
	tm.typeLine("no")
	code, out := tm.wait()
	if code != 1 || !strings.Contains(out, "Cancelled: nothing was changed.") {
		t.Fatalf("answering no: exit %d, want 1 and Cancelled:\n%s", code, out)
	}
	if got := s.owned(); len(got) != 0 {
		t.Fatalf("answering no created %q", got)
	}

	tm = s.onTerminal(ctx, "apply", "-f", s.file)
	tm.waitFor("Only 'yes' will be accepted", time.Minute)
	tm.waitFor("Enter a value: ", time.Minute)
	tm.typeLine("yes")
	code, out = tm.wait()
	if code != 0 || !strings.Contains(out, "Apply complete") {
		t.Fatalf("answering yes: exit %d, want 0 and Apply complete:\n%s", code, out)
	}
	if !s.running(s.name+"-web-2") || !s.running(s.name+"-consul") {
		t.Errorf("answering yes did not apply: %q", s.owned())
	}
}

func TestNoTerminalToConfirmOn(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 2, "30s")
	out, errOut, code := s.run("apply", "-f", s.file)
	if code != 1 || !strings.Contains(errOut, "no terminal to confirm on") || strings.Contains(out, "complete") {
		t.Errorf("apply without a terminal: exit %d, stderr %q; want 1 and the no-terminal error\n%s", code, errOut, out)
	}
	if got := s.owned(); len(got) != 0 {
		t.Errorf("an unconfirmed apply created %q", got)
	}
}

// jsonLines decodes stackctl's --json stdout, failing on any line that is
// not one JSON object.
func jsonLines(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	if stdout == "" || !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("stdout does not end with a newline: %q", stdout)
	}
	return decodeLines(t, []byte(stdout))
}

func TestApplyJSON(t *testing.T) {
	s := newE2EStack(t)
	s.write(images.PrimesV1, 2, "30s")

	out, errOut, code := s.run("apply", "-f", s.file, "--json")
	if code != 1 || out != "" || !strings.Contains(errOut, "--auto-approve") {
		t.Errorf("--json without --auto-approve: exit %d, stdout %q, stderr %q; want 1 and a refusal", code, out, errOut)
	}
	if got := s.owned(); len(got) != 0 {
		t.Fatalf("a refused --json apply created %q", got)
	}

	out, errOut, code = s.run("apply", "-f", s.file, "--auto-approve", "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("apply --json: exit %d, stderr %q\n%s", code, errOut, out)
	}
	events := jsonLines(t, out)
	first, last := events[0], events[len(events)-1]
	if first["type"] != "plan" || last["type"] != "report" || last["ok"] != true {
		t.Fatalf("first event %v, last %v; want the plan and an ok report\n%s", first["type"], last, out)
	}
	plan, _ := first["plan"].(map[string]any)
	if plan["stack"] != s.name || len(plan["steps"].([]any)) == 0 {
		t.Errorf("plan event: %v", first)
	}
	finished := 0
	for _, ev := range events {
		if ev["type"] == "step_finished" {
			finished++
		}
	}
	if finished != len(plan["steps"].([]any)) || len(last["done"].([]any)) != finished {
		t.Errorf("%d step_finished events, %d done in the report, for %d steps", finished, len(last["done"].([]any)), len(plan["steps"].([]any)))
	}

	before := s.owned()
	s.write(images.PrimesBad, 2, "3s")
	out, errOut, code = s.run("apply", "-f", s.file, "--auto-approve", "--json")
	if code != exitRolledBack || !strings.Contains(errOut, "failed") {
		t.Fatalf("apply --json of a never-passing image: exit %d, stderr %q; want %d (rolled back) and why\n%s", code, errOut, exitRolledBack, out)
	}
	events = jsonLines(t, out)
	last = events[len(events)-1]
	if events[0]["type"] != "plan" || last["type"] != "report" || last["ok"] != false || last["restored"] != true ||
		len(last["rolled_back"].([]any)) == 0 || len(last["failed"].([]any)) == 0 || len(last["rollback_errors"].([]any)) != 0 {
		t.Fatalf("failed apply's report: %v\n%s", last, out)
	}
	t.Logf("report of the failed apply: %v", last)
	sameObjects(t, "a rolled back apply", before, s.owned())

	out, errOut, code = s.run("destroy", "-f", s.file, "--auto-approve", "--json")
	events = jsonLines(t, out)
	if last = events[len(events)-1]; code != 0 || last["type"] != "report" || last["ok"] != true || last["operation"] != "destroy" {
		t.Fatalf("destroy --json: exit %d, stderr %q, last event %v", code, errOut, last)
	}
	if got := s.owned(); len(got) != 0 {
		t.Errorf("destroy left %q", got)
	}
}
