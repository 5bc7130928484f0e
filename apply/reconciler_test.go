package apply

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// withAgent gives the stack a reconcile section and puts its image in the
// world.
func withAgent(w *world, s *spec.Stack, ref string) *spec.Stack {
	out := *s
	out.Reconcile = &spec.Reconcile{Repo: "file:///srv/git/stacks.git", Ref: ref, Path: "unit/stack.yaml",
		Interval: 30 * time.Second, Image: "stackctl:test", SSHKey: "/etc/stackctl/key"}
	w.addImage("stackctl:test")
	return &out
}

func TestAgentRunsLastWithItsCommandMountsAndEnvironment(t *testing.T) {
	w := testWorld()
	s := withAgent(w, stackFile(t, 2, "primes:v1", "start-first", "rollback", 2), "main")
	mustApply(t, w, s)
	var creates []string
	for _, ev := range w.events {
		if name, ok := strings.CutPrefix(ev, "create "); ok {
			creates = append(creates, name)
		}
	}
	if len(creates) != 5 || creates[4] != "unit-reconcile" {
		t.Errorf("containers created in the order %v, want the agent last", creates)
	}
	cs := w.specs["unit-reconcile"]
	wantCmd := []string{"stackctl", "reconcile", "--repo", "file:///srv/git/stacks.git", "--ref", "main",
		"--path", "unit/stack.yaml", "--interval", "30s", "--cache", ReconcileCache, "--ssh-key", "/etc/stackctl/key"}
	if !slices.Equal(cs.Cmd, wantCmd) {
		t.Errorf("cmd = %q\nwant %q", cs.Cmd, wantCmd)
	}
	wantEnv := []string{"STACKCTL_RECONCILER=unit", "CONSUL_HTTP_ADDR=http://unit-consul:8500"}
	if !slices.Equal(cs.Env, wantEnv) {
		t.Errorf("env = %q, want %q", cs.Env, wantEnv)
	}
	wantMounts := []Mount{{Source: DockerSocket, Target: DockerSocket}, {Source: "/srv/git/stacks.git", Target: "/srv/git/stacks.git", ReadOnly: true},
		{Source: "/etc/stackctl/key", Target: "/etc/stackctl/key", ReadOnly: true}}
	if !slices.Equal(cs.Mounts, wantMounts) {
		t.Errorf("mounts = %+v\nwant %+v", cs.Mounts, wantMounts)
	}
	if cs.Network != "unit" || cs.Restart != "unless-stopped" || cs.Labels[spec.LabelRole] != plan.RoleReconcile || cs.Labels[spec.LabelStack] != "unit" {
		t.Errorf("network %q, restart %q, labels %v", cs.Network, cs.Restart, cs.Labels)
	}
}

func TestAgentReplacedWhenItsSectionChanges(t *testing.T) {
	w := testWorld()
	base := stackFile(t, 2, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, withAgent(w, base, "main"))
	old := w.byName("unit-reconcile").ID
	s := withAgent(w, base, "production")
	mustApply(t, w, s)
	c := w.byName("unit-reconcile")
	if c == nil || c.ID == old || !slices.Contains(w.specs["unit-reconcile"].Cmd, "production") {
		t.Fatalf("agent not replaced: %+v", c)
	}
	if w.find(old) != nil {
		t.Errorf("the old agent is left: %s", w.snapshot())
	}
}

// The agent's own plans (InAgent) change the stack but never its container,
// even when its section changes or goes.
func TestAgentLeavesItsOwnContainerAlone(t *testing.T) {
	w := testWorld()
	base := stackFile(t, 2, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, withAgent(w, base, "main"))
	id := w.byName("unit-reconcile").ID
	for _, s := range []*spec.Stack{withAgent(w, base, "production"), base} {
		s := *s
		s.InAgent = true
		web := *s.Services[0]
		web.Replicas++
		s.Services = []*spec.Service{&web}
		mustApply(t, w, &s)
		if c := w.byName("unit-reconcile"); c == nil || c.ID != id || !c.Running() {
			t.Fatalf("the agent's container was touched: %+v", c)
		}
	}
}

func TestDestroyRemovesTheAgentFirst(t *testing.T) {
	w := testWorld()
	s := withAgent(w, stackFile(t, 2, "primes:v1", "start-first", "rollback", 2), "main")
	mustApply(t, w, s)
	w.events = nil
	state := w.observe(t, s)
	e := w.executor(s, Options{Lock: true, Operation: "destroy"})
	if _, err := e.Prepare(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	r := e.Run(context.Background(), plan.ComputeDestroy(s, state), state)
	if !r.OK() {
		t.Fatalf("destroy: %v", r.Err)
	}
	var docker []string
	for _, ev := range w.events {
		if strings.HasPrefix(ev, "remove ") || strings.HasPrefix(ev, "stop ") {
			docker = append(docker, ev)
		}
	}
	if len(docker) < 2 || docker[0] != "stop unit-reconcile" || docker[1] != "remove unit-reconcile" {
		t.Errorf("removals %v, want the agent's first", docker)
	}
	if len(w.containers) != 0 || len(w.networks) != 0 {
		t.Errorf("left: %s", w.snapshot())
	}
}
