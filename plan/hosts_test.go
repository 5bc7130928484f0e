package plan_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

// threeBoxes is the acceptance stack of issue 12: 12 workers over three
// hosts, a Consul server on each, the LB on the first.
func threeBoxes(t *testing.T, hosts int) *spec.Stack {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nginx.ctmpl"), []byte(templateV1), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("version: 1\nname: fleet\nhosts:\n")
	for i := 1; i <= hosts; i++ {
		fmt.Fprintf(&b, "  - {name: box%d, docker: tcp://10.9.0.%d:2375, address: 10.9.0.%d, insecure: true}\n", i, i+1, i+1)
	}
	b.WriteString(`consul:
  image: stackctl.local/consul:1.14.8
  servers: [box1, box2, box3]
services:
  web:
    image: stackctl.local/primes:v1
    replicas: 12
    port: 5000
    check: {http: /healthz, interval: 1s, timeout: 1s}
lb:
  image: stackctl.local/nginx:1.30
  template: nginx.ctmpl
  ports: ["10.9.0.2:8080:80"]
`)
	st, err := spec.Parse("stack.yaml", []byte(b.String()), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// emptyHosts is the state of a first apply: the control engine has every
// image, the hosts have nothing.
func emptyHosts(st *spec.Stack) *plan.State {
	s := &plan.State{Stack: st.Name, Hosts: map[string]*plan.HostState{}, Images: []plan.Image{
		{Ref: "stackctl.local/consul:1.14.8", ID: "sha256:c0c0"},
		{Ref: "stackctl.local/nginx:1.30", ID: "sha256:1b1b"},
		{Ref: "stackctl.local/primes:v1", ID: "sha256:a1a1"},
	}}
	for _, h := range st.Hosts {
		s.Hosts[h.Name] = &plan.HostState{Name: h.Name, Docker: h.Docker}
	}
	return s
}

func stepsOn(p *plan.Plan, host string, kind plan.Kind, action plan.Action) []plan.Step {
	var out []plan.Step
	for _, s := range p.Steps {
		if s.Host == host && s.Kind == kind && s.Action == action {
			out = append(out, s)
		}
	}
	return out
}

func TestFirstPlanOverThreeHostsPlacesFourWorkersOnEach(t *testing.T) {
	st := threeBoxes(t, 3)
	p := plan.Compute(st, emptyHosts(st))
	for _, host := range []string{"box1", "box2", "box3"} {
		workers := stepsOn(p, host, plan.KindWorker, plan.ActionCreate)
		if len(workers) != 4 {
			t.Errorf("%s gets %d workers, want 4", host, len(workers))
		}
		ports := map[int]bool{}
		for _, w := range workers {
			if w.HostPort < plan.HostPortMin || w.HostPort > plan.HostPortMax || ports[w.HostPort] {
				t.Errorf("%s: worker %s has host port %d, out of range or taken twice", host, w.Target, w.HostPort)
			}
			ports[w.HostPort] = true
		}
		if n := len(stepsOn(p, host, plan.KindNetwork, plan.ActionCreate)); n != 1 {
			t.Errorf("%s: %d network steps, want 1", host, n)
		}
		if n := len(stepsOn(p, host, plan.KindConsul, plan.ActionCreate)); n != 1 {
			t.Errorf("%s: %d Consul agents, want 1", host, n)
		}
		copies := stepsOn(p, host, plan.KindImage, plan.ActionCopy)
		wantCopies := 2 // consul and primes; nginx only where the LB runs
		if host == "box1" {
			wantCopies = 3
		}
		if len(copies) != wantCopies {
			t.Errorf("%s: %d image copies, want %d: %+v", host, len(copies), wantCopies, copies)
		}
		for _, c := range copies {
			if c.Reason != "image copied to host "+host {
				t.Errorf("copy reason %q", c.Reason)
			}
		}
	}
	if lb := stepsOn(p, "box1", plan.KindLB, plan.ActionCreate); len(lb) != 1 {
		t.Errorf("LB steps on box1: %+v", lb)
	}
	assertDependsOnCopies(t, p)
}

// A worker on a host waits for its image to be there.
func assertDependsOnCopies(t *testing.T, p *plan.Plan) {
	t.Helper()
	for _, s := range p.Steps {
		if s.Kind != plan.KindWorker {
			continue
		}
		want := "image/stackctl.local/primes:v1@" + s.Host
		if !dependsTransitively(p, s, want) {
			t.Errorf("%s does not wait for %s (depends on %v)", s.ID, want, s.DependsOn)
		}
	}
}

func dependsTransitively(p *plan.Plan, s plan.Step, id string) bool {
	for _, d := range s.DependsOn {
		if d == id {
			return true
		}
		if dep := p.Step(d); dep != nil && dependsTransitively(p, *dep, id) {
			return true
		}
	}
	return false
}

func TestAnUnreachableHostIsNamedAndGetsNoSteps(t *testing.T) {
	st := threeBoxes(t, 3)
	state := emptyHosts(st)
	state.Hosts["box2"].Error = "Docker at tcp://10.9.0.3:2375: connection refused"
	state.Consul.Registrations = []plan.Registration{{ID: "fleet-web-2", Service: "web", Host: "box2",
		Meta: map[string]string{plan.MetaStack: "fleet", plan.MetaService: "web", plan.MetaSlot: "2"}}}
	p := plan.Compute(st, state)
	for _, s := range p.Steps {
		if s.Host == "box2" {
			t.Errorf("step on the unreachable host: %s", s.ID)
		}
	}
	var found bool
	for _, w := range p.Warnings {
		if strings.Contains(w.Summary, "box2 is unreachable") {
			found = true
			detail := strings.Join(w.Detail, "\n")
			for _, want := range []string{"connection refused", "--exclude-host box2", "fleet-web-2"} {
				if !strings.Contains(detail, want) {
					t.Errorf("warning detail lacks %q:\n%s", want, detail)
				}
			}
		}
	}
	if !found {
		t.Errorf("no warning names box2: %+v", p.Warnings)
	}
}

// applied is the state a plan leaves, as far as workers go: each created
// worker runs on its step's host at its step's port.
func applied(st *spec.Stack, p *plan.Plan, state *plan.State) *plan.State {
	out := *state
	for _, s := range p.Steps {
		if s.Kind != plan.KindWorker || s.Action == plan.ActionDestroy {
			continue
		}
		labels := plan.WorkerLabels(st, st.Service(s.Service), s.Slot)
		labels[plan.LabelHost] = s.Host
		labels[plan.LabelHostPort] = strconv.Itoa(s.HostPort)
		out.Containers = append(out.Containers, plan.Container{ID: "id-" + s.Target, Name: s.Target, Host: s.Host,
			Labels: labels, State: plan.ContainerRunning, ImageRef: "stackctl.local/primes:v1", ImageID: "sha256:a1a1"})
	}
	return &out
}

func TestAFourthHostMovesAtMostFourSlots(t *testing.T) {
	three := threeBoxes(t, 3)
	state := applied(three, plan.Compute(three, emptyHosts(three)), emptyHosts(three))
	four := threeBoxes(t, 4)
	state.Hosts["box4"] = &plan.HostState{Name: "box4", Docker: "tcp://10.9.0.5:2375"}
	p := plan.Compute(four, state)
	moved, perHost := 0, map[string]int{}
	for _, s := range p.Steps {
		if s.Kind != plan.KindWorker {
			continue
		}
		if s.Action != plan.ActionReplace || !strings.HasPrefix(s.Reason, "placement moves it") {
			t.Errorf("unexpected worker step %s: %s %s", s.ID, s.Action, s.Reason)
			continue
		}
		moved++
		perHost[s.Host]++
	}
	if moved == 0 || moved > 4 || perHost["box4"] != moved {
		t.Errorf("moved %d slots (%v), want 1 to 4, all onto box4", moved, perHost)
	}
}

func TestPlanOverHostsGolden(t *testing.T) {
	st := threeBoxes(t, 3)
	st.File = "stack.yaml"
	st.Services[0].Replicas = 3 // short enough to read
	var human bytes.Buffer
	if err := views.Human(&human, plan.Compute(st, emptyHosts(st)), false); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "hosts_first_apply.txt.golden", human.Bytes())
}

func TestDestroyOverHostsActsOnEachHost(t *testing.T) {
	st := threeBoxes(t, 3)
	state := applied(st, plan.Compute(st, emptyHosts(st)), emptyHosts(st))
	for _, hs := range state.Hosts {
		hs.Network = &plan.Network{ID: "n-" + hs.Name, Name: "fleet", Labels: map[string]string{spec.LabelStack: "fleet"}}
	}
	state.Hosts["box3"].Network.Labels = nil // not the stack's: never removed
	p := plan.ComputeDestroy(st, state)
	nets := map[string]bool{}
	workers := 0
	for _, s := range p.Steps {
		switch s.Kind {
		case plan.KindNetwork:
			nets[s.Host] = true
		case plan.KindWorker:
			workers++
			if s.Host == "" {
				t.Errorf("%s has no host", s.ID)
			}
		}
	}
	if workers != 12 || !nets["box1"] || !nets["box2"] || nets["box3"] {
		t.Errorf("destroy removes %d workers and networks on %v; want 12, and box1 and box2 only", workers, nets)
	}
}

func TestWorkersPlacedAwayFromAnExcludedHostGoHomeWhenItReturns(t *testing.T) {
	st := threeBoxes(t, 3)
	state := applied(st, plan.Compute(st, emptyHosts(st)), emptyHosts(st))
	// box2 goes down: its engine is not read, and nothing says what it held
	// (Consul may have forgotten it too): placement alone says which slots
	// belong there.
	var onBox2 []plan.Container
	var kept []plan.Container
	for _, c := range state.Containers {
		if c.Host == "box2" {
			onBox2 = append(onBox2, c)
			continue
		}
		kept = append(kept, c)
	}
	state.Containers = kept
	excluded := threeBoxes(t, 3)
	if err := excluded.ExcludeHost("box2"); err != nil {
		t.Fatal(err)
	}
	delete(state.Hosts, "box2")
	p := plan.Compute(excluded, state)
	creates := 0
	for _, s := range p.Steps {
		if s.Kind != plan.KindWorker {
			continue
		}
		creates++
		if s.Action != plan.ActionCreate || s.Home != "box2" || s.Host == "box2" {
			t.Errorf("%s: %s on %s, home %q; want a create away from box2, home box2", s.ID, s.Action, s.Host, s.Home)
		}
	}
	if creates != len(onBox2) {
		t.Errorf("%d worker steps, want %d", creates, len(onBox2))
	}
	// box2 returns with its containers: exactly the displaced slots go back.
	after := applied(excluded, p, state)
	for i := range after.Containers {
		c := &after.Containers[i]
		for _, s := range p.Steps {
			if s.Target == c.Name && s.Home != "" && c.Host == s.Host {
				c.Labels[plan.LabelHome] = s.Home
			}
		}
	}
	after.Containers = append(after.Containers, onBox2...)
	after.Hosts = emptyHosts(st).Hosts
	back := plan.Compute(st, after)
	for _, s := range back.Steps {
		if s.Kind != plan.KindWorker {
			continue
		}
		if s.Action != plan.ActionDestroy || s.Host == "box2" {
			t.Errorf("with box2 back: %s %s on %s (%s); want only the stand-ins destroyed", s.Action, s.ID, s.Host, s.Reason)
		}
	}
}

func TestANewConsulImageReplacesTheAgentsOneAtATime(t *testing.T) {
	st := threeBoxes(t, 3)
	state := emptyHosts(st)
	for _, h := range st.Hosts {
		labels := plan.ConsulAgentLabels(st, h.Name)
		state.Containers = append(state.Containers, plan.Container{ID: "agent-" + h.Name, Name: st.ConsulAgentName(h.Name),
			Host: h.Name, Labels: labels, State: plan.ContainerRunning, ImageRef: st.Consul.Image, ImageID: "sha256:c0c0"})
	}
	st.Consul.Image = "stackctl.local/consul:1.14.8-r2"
	p := plan.Compute(st, state)
	var replaces []plan.Step
	for _, s := range p.Steps {
		if s.Kind == plan.KindConsul {
			replaces = append(replaces, s)
		}
	}
	if len(replaces) != 3 {
		t.Fatalf("%d Consul steps, want 3 replaces: %+v", len(replaces), replaces)
	}
	for i, s := range replaces {
		if s.Action != plan.ActionReplace || s.Replaces != "agent-"+s.Host {
			t.Errorf("%s: %s replacing %q", s.ID, s.Action, s.Replaces)
		}
		if i > 0 && !dependsTransitively(p, s, replaces[i-1].ID) {
			t.Errorf("%s does not wait for %s: two agents would be down at once", s.ID, replaces[i-1].ID)
		}
	}
}

func TestConsulAgentsAreReplacedAfterEveryImageStep(t *testing.T) {
	st := threeBoxes(t, 3)
	state := emptyHosts(st)
	for _, h := range st.Hosts {
		state.Containers = append(state.Containers, plan.Container{ID: "agent-" + h.Name, Name: st.ConsulAgentName(h.Name),
			Host: h.Name, Labels: plan.ConsulAgentLabels(st, h.Name), State: plan.ContainerRunning,
			ImageRef: st.Consul.Image, ImageID: "sha256:c0c0"})
	}
	st.Consul.Image = "stackctl.local/consul:1.14.8-r2"
	p := plan.Compute(st, state)
	for _, s := range p.Steps {
		if s.Kind != plan.KindConsul {
			continue
		}
		for _, img := range p.Steps {
			if img.Kind == plan.KindImage && !dependsTransitively(p, s, img.ID) {
				t.Errorf("%s does not wait for %s: a step would end while the agent the apply talks through restarts", s.ID, img.ID)
			}
		}
	}
}
