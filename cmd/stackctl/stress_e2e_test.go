//go:build e2e

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
)

// stressStack is a stack with the reference LB (resolve mode) whose
// stress runs keep their fault records in a state folder of the test's
// own (XDG_STATE_HOME).
type stressStack struct {
	*e2eStack
}

func newStressStack(t *testing.T, replicas int) *stressStack {
	s := &stressStack{e2eStack: newE2EStack(t)}
	s.vars = []string{"XDG_STATE_HOME=" + t.TempDir()}
	s.writeWithLBTemplate("../../stacks/primes/nginx.ctmpl", replicas)
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	return s
}

// planIsEmpty asserts that the live stack is exactly its file.
func (s *stressStack) planIsEmpty() {
	s.t.Helper()
	out, errOut, code := s.run("plan", "-f", s.file, "--detailed-exitcode")
	if code != 0 {
		s.t.Fatalf("plan exited %d (2: it has changes):\n%s%s", code, out, errOut)
	}
}

// workers lists the stack's worker containers: name → (state, on the
// stack network).
func (s *stressStack) workers() map[string]string {
	s.t.Helper()
	list, err := s.env.Docker.ContainerList(s.t.Context(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", e2e.StackLabel+"="+s.name), filters.Arg("label", "io.stackctl.service=web"))})
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list {
		on := "on"
		if c.NetworkSettings == nil || c.NetworkSettings.Networks[s.name] == nil {
			on = "OFF the network"
		}
		out[strings.TrimPrefix(c.Names[0], "/")] = c.State + ", " + on
	}
	return out
}

func (s *stressStack) allRunningAndConnected(when string) {
	s.t.Helper()
	for name, st := range s.workers() {
		if st != "running, on" {
			s.t.Errorf("%s: %s is %s", when, name, st)
		}
	}
}

func (s *stressStack) report(stdout string) map[string]any {
	s.t.Helper()
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		s.t.Fatalf("stress --json printed no JSON document: %v\n%s", err, stdout)
	}
	if rep["format_version"] != float64(1) {
		s.t.Errorf("format_version %v, want 1", rep["format_version"])
	}
	return rep
}

func TestStressKillAndHeal(t *testing.T) {
	s := newStressStack(t, 8)
	out := s.mustRun("stress", "-f", s.file, "--duration", "20s", "--rate", "50/s", "--chaos", "kill=3@5s", "--heal", "--json", "--seed", "11")
	rep := s.report(out)
	if rep["requests"].(float64) < 900 {
		t.Errorf("%v requests in 20 s at 50/s", rep["requests"])
	}
	if _, ok := rep["failures"].(map[string]any); !ok {
		t.Errorf("no failures by kind: %v", rep["failures"])
	}
	faults := rep["faults"].([]any)
	if len(faults) != 1 {
		t.Fatalf("faults: %v", faults)
	}
	hit := faults[0].(map[string]any)
	if n := len(hit["targets"].([]any)); n != 3 || hit["kind"] != "kill" || hit["error"] != nil {
		t.Errorf("the kill hit %d workers (want 3): %v", n, hit)
	}
	rv := rep["recovery"].(map[string]any)
	heal, ok := rv["heal"].(map[string]any)
	if !ok || heal["exit_code"] != float64(0) || !strings.Contains(rv["drift"].(string), "3 to change") {
		t.Errorf("the kill was not healed by an apply of the 3 workers: %v", rv)
	}
	if rv["whole_at_s"] == nil {
		t.Errorf("the stack was not whole again: %v", rv)
	}
	for _, p := range []string{"p50", "p90", "p99", "max"} {
		if v := rep["latency_ms"].(map[string]any)[p].(float64); v <= 0 {
			t.Errorf("latency %s = %v", p, v)
		}
	}
	s.allRunningAndConnected("after the heal")
	s.planIsEmpty()
}

func TestStressDisconnectIsUndone(t *testing.T) {
	s := newStressStack(t, 6)
	out := s.mustRun("stress", "-f", s.file, "--duration", "15s", "--rate", "40/s", "--chaos", "disconnect=3@3s:5s", "--json", "--plot", filepath.Join(s.dir, "run.svg"))
	rep := s.report(out)
	hit := rep["faults"].([]any)[0].(map[string]any)
	if len(hit["targets"].([]any)) != 3 || hit["undone_by"] != "schedule" {
		t.Errorf("the outage: %v", hit)
	}
	if at, until := hit["at_s"].(float64), hit["until_s"].(float64); at < 2.9 || until-at < 4.9 {
		t.Errorf("the outage ran from %.1fs to %.1fs, want from 3s for 5s", at, until)
	}
	if rep["recovery"].(map[string]any)["whole_at_s"] == nil {
		t.Errorf("not whole again: %v", rep["recovery"])
	}
	svg, err := os.ReadFile(filepath.Join(s.dir, "run.svg"))
	if err != nil || !bytes.Contains(svg, []byte("disconnect=3@3s:5s")) {
		t.Errorf("the plot does not show the outage: %v", err)
	}
	s.allRunningAndConnected("after the outage")
	s.planIsEmpty()
}

// Ctrl-C in the middle undoes every fault; kill -9 leaves them, and the
// next apply undoes them.
func TestStressInterruptedOrKilledLeavesNothingBroken(t *testing.T) {
	s := newStressStack(t, 6)
	start := func() (*exec.Cmd, *syncBuffer) {
		cmd := s.command(s.t.Context(), "stress", "-f", s.file, "--duration", "60s", "--rate", "20/s", "--chaos", "pause=2@1s:40s,disconnect=2@1s:40s")
		errOut := &syncBuffer{}
		cmd.Stderr = errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && (strings.Count(errOut.String(), " on [") < 2) {
			time.Sleep(100 * time.Millisecond)
		}
		if strings.Count(errOut.String(), " on [") < 2 {
			t.Fatalf("the faults did not start:\n%s", errOut.String())
		}
		broken := 0
		for _, st := range s.workers() {
			if st != "running, on" {
				broken++
			}
		}
		if broken != 4 {
			t.Fatalf("%d workers paused or off the network, want 4: %v", broken, s.workers())
		}
		return cmd, errOut
	}

	cmd, errOut := start()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if code := exitCode(t, err, nil); code != 130 {
		t.Errorf("stress exited %d after Ctrl-C, want 130:\n%s", code, errOut)
	}
	s.allRunningAndConnected("after Ctrl-C")

	cmd, _ = start()
	cmd.Process.Kill()
	cmd.Wait()
	if len(s.workers()) == 0 {
		t.Fatal("no workers")
	}
	// plan says what was left, and changes nothing.
	planOut, _, _ := s.run("plan", "-f", s.file)
	if !strings.Contains(planOut, "a stress run that died left 4 faults in place") {
		t.Errorf("plan does not warn of the faults left:\n%s", planOut)
	}
	_, stderr, code := s.run("apply", "-f", s.file, "--auto-approve")
	if code != 0 || !strings.Contains(stderr, "undid what a stress run that died left") {
		t.Errorf("apply after a killed stress: exit %d, stderr %q", code, stderr)
	}
	s.allRunningAndConnected("after the apply that followed kill -9")
	s.planIsEmpty()
}

// --apply deploys another stack file in the middle of the load: the
// report has the apply, and the stack runs what that file says.
func TestStressAppliesMidLoad(t *testing.T) {
	s := newStressStack(t, 6)
	src, err := os.ReadFile(s.file)
	if err != nil {
		t.Fatal(err)
	}
	v2 := filepath.Join(s.dir, "stack.v2.yaml")
	if err := os.WriteFile(v2, bytes.Replace(src, []byte(images.PrimesV1), []byte(images.PrimesV2), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out := s.mustRun("stress", "-f", s.file, "--duration", "25s", "--rate", "40/s", "--apply", v2, "--apply-at", "3s", "--json")
	rep := s.report(out)
	a, ok := rep["apply"].(map[string]any)
	if !ok || a["exit_code"] != float64(0) || a["at_s"] != float64(3) || a["took_s"].(float64) <= 0 {
		t.Fatalf("the apply in the report: %v", rep["apply"])
	}
	if !strings.HasSuffix(a["file"].(string), "stack.v2.yaml") {
		t.Errorf("the apply names %v", a["file"])
	}
	if rep["requests"].(float64) < 900 {
		t.Errorf("%v requests in 25 s at 40/s", rep["requests"])
	}
	// The live stack is the v2 file, exactly.
	if _, errOut, code := s.run("plan", "-f", v2, "--detailed-exitcode"); code != 0 {
		t.Errorf("plan of the applied file exited %d: %s", code, errOut)
	}
}
