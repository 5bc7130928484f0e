//go:build e2e

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/stackctl/stackctl/internal/images"
)

// The stack's own agent (a reconcile: section), end to end: `stackctl
// apply` starts it as <stack>-reconcile, the agent in its container applies
// a commit, leaves its own container alone when a commit changes its
// section (a person's apply replaces it), and `stackctl destroy` removes it
// before anything else.

// writeWithAgent writes the stack file with a reconcile section following
// main of repo, and returns its bytes to commit.
func (s *e2eStack) writeWithAgent(repo string, replicas int, interval time.Duration) []byte {
	s.t.Helper()
	s.write(images.PrimesV1, replicas, "30s")
	section := fmt.Sprintf("reconcile:\n  repo: file://%s\n  ref: main\n  path: stack.yaml\n  interval: %s\n", repo, interval)
	f, err := os.OpenFile(s.file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := f.WriteString(section); err != nil {
		s.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		s.t.Fatal(err)
	}
	return []byte(readFile(s.t, s.file))
}

// agentContainer is the agent's container, or nil.
func (s *e2eStack) agentContainer() *container.InspectResponse {
	s.t.Helper()
	c, err := s.env.Docker.ContainerInspect(s.t.Context(), s.name+"-reconcile")
	if err != nil {
		return nil
	}
	return &c
}

// agentLogs is the agent container's output, for failures.
func (s *e2eStack) agentLogs() string {
	out, err := exec.Command("docker", "logs", "--tail", "60", s.name+"-reconcile").CombinedOutput()
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	return string(out)
}

func TestReconcileSectionRunsTheAgentInTheStack(t *testing.T) {
	s := newE2EStack(t)
	g := newGitRepo(t)
	g.commit("main", "stack: 3 workers and its agent", map[string][]byte{"stack.yaml": s.writeWithAgent(g.origin, 3, reconcileInterval)})

	// A person's apply starts the stack and, last, its agent.
	out := s.mustRun("apply", "-f", s.file, "--auto-approve")
	agent := s.agentContainer()
	if agent == nil || !agent.State.Running {
		t.Fatalf("no running agent after apply:\n%s", out)
	}
	if i, j := strings.LastIndex(out, "reconcile/"+s.name+"-reconcile"), strings.LastIndex(out, "worker/"+s.name+"-web-3"); i < j {
		t.Errorf("the agent was not created last:\n%s", out)
	}
	if got := agent.HostConfig.RestartPolicy.Name; got != "unless-stopped" {
		t.Errorf("restart policy %q", got)
	}
	st := s.mustRun("status", "-f", s.file)
	if !strings.Contains(st, "agent    "+s.name+"-reconcile (running), following main of file://"+g.origin) {
		t.Errorf("status does not show the agent:\n%s", st)
	}
	if _, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode"); code != 0 {
		t.Errorf("plan after apply exits %d, want 0 (no changes)", code)
	}

	// A commit 3→5 is applied by the agent in its container.
	g.commit("main", "stack: 5 workers", map[string][]byte{"stack.yaml": s.writeWithAgent(g.origin, 5, reconcileInterval)})
	five := g.git(g.dev, "rev-parse", "HEAD")
	waitAgent(t, s, "replicas 3→5 applied by the agent", reconcileInterval+applyBound, func() bool { return s.runningWorkers() == 5 })
	waitAgent(t, s, "the commit recorded", 30*time.Second, func() bool {
		return strings.Contains(s.mustRun("status", "-f", s.file), "at commit "+five[:7]+" (stack: 5 workers)")
	})

	// A commit that changes the agent's own section too: the agent applies
	// the rest and leaves its container alone; a person's apply replaces it.
	g.commit("main", "stack: 4 workers, agent every 6s", map[string][]byte{"stack.yaml": s.writeWithAgent(g.origin, 4, reconcileInterval+time.Second)})
	waitAgent(t, s, "replicas 5→4 applied by the agent", reconcileInterval+applyBound, func() bool { return s.runningWorkers() == 4 })
	time.Sleep(reconcileInterval) // another pass: it still leaves itself alone
	t.Logf("the agent's log:\n%s", s.agentLogs())
	if now := s.agentContainer(); now == nil || now.ID != agent.ID || !now.State.Running {
		t.Fatalf("the agent touched its own container:\n%s", s.agentLogs())
	}
	plan, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode")
	if code != 2 || !strings.Contains(plan, "reconcile "+s.name+"-reconcile") || !strings.Contains(plan, `interval = "5s" → "6s"`) {
		t.Errorf("plan exits %d, want 2 with the agent's replace:\n%s", code, plan)
	}
	s.mustRun("apply", "-f", s.file, "--auto-approve")
	if now := s.agentContainer(); now == nil || now.ID == agent.ID || !now.State.Running {
		t.Fatalf("apply did not replace the agent")
	}

	// destroy removes the agent first, then everything else.
	out = s.mustRun("destroy", "-f", s.file, "--auto-approve")
	first := strings.Index(out, "reconcile/"+s.name+"-reconcile")
	for _, other := range []string{"worker/" + s.name + "-web-1", "consul/" + s.name + "-consul"} {
		if i := strings.Index(out, other); first < 0 || i < first {
			t.Errorf("destroy did not remove the agent before %s:\n%s", other, out)
		}
	}
	if left := s.owned(); len(left) != 0 {
		t.Errorf("left after destroy: %q", left)
	}
}

// waitAgent is waitFor with the agent container's log on failure.
func waitAgent(t *testing.T, s *e2eStack, what string, within time.Duration, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s; the agent's log:\n%s", what, within, s.agentLogs())
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("%s after %s", what, time.Since(start).Round(100*time.Millisecond))
}
