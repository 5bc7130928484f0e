package plan_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

// destroyScenarios are worlds that `stackctl destroy` of primes plans for.
func destroyScenarios() []scenario {
	return []scenario{
		{"destroy_running", primes(3), func() *planfake.World {
			w := planfake.Running(primes(3))
			// A replaced worker kept stopped by a paused apply is the
			// stack's too.
			w.Docker.PutContainer(plan.Container{ID: "c-kept-2", Name: "primes-web-2.old-c0ffee000002", State: plan.ContainerExited,
				Labels: map[string]string{spec.LabelStack: "primes", spec.LabelRole: plan.RoleWorker,
					spec.LabelService: "web", spec.LabelSlot: "2", spec.LabelHash: "0123456789abcdef"}})
			// Neither of these is: one has no label, one is another stack's.
			w.Docker.PutContainer(plan.Container{ID: "c-mine", Name: "primes-web-9", State: plan.ContainerRunning,
				Labels: map[string]string{"com.example.owner": "someone-else"}})
			w.Docker.PutContainer(plan.Container{ID: "c-other", Name: "other-web-1", State: plan.ContainerRunning,
				Labels: map[string]string{spec.LabelStack: "other", spec.LabelRole: plan.RoleWorker, spec.LabelService: "web", spec.LabelSlot: "1"}})
			w.Consul.Register(plan.Registration{ID: "primes-web-9", Service: "web", Address: "10.9.9.9", Port: 5000})
			w.Consul.Register(plan.Registration{ID: "other-web-1", Service: "web", Meta: map[string]string{plan.MetaStack: "other"}})
			return w
		}},
		{"destroy_reconcile", primes(2, withReconcile), func() *planfake.World { return planfake.Running(primes(2, withReconcile)) }},
		{"destroy_external_consul", primes(2, external), func() *planfake.World { return planfake.Running(primes(2, external)) }},
		{"destroy_lone_network", primes(2), func() *planfake.World {
			w := planfake.NewWorld()
			w.Docker.PutNetwork(plan.Network{ID: "n-1", Name: "primes", Driver: "bridge", Labels: plan.NetworkLabels(primes(2))})
			return w
		}},
		{"destroy_nothing", primes(2), func() *planfake.World {
			w := planfake.NewWorld()
			w.Docker.PutNetwork(plan.Network{ID: "n-1", Name: "primes", Driver: "bridge"}) // not the stack's
			return w
		}},
	}
}

func TestGoldenDestroyPlans(t *testing.T) {
	for _, sc := range destroyScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			state, err := sc.world().Observer().Observe(context.Background(), sc.desired)
			if err != nil {
				t.Fatalf("observe: %v", err)
			}
			p := plan.ComputeDestroy(sc.desired, state)
			var human, js, md bytes.Buffer
			if err := views.Human(&human, p, false); err != nil {
				t.Fatal(err)
			}
			if err := views.JSON(&js, p); err != nil {
				t.Fatal(err)
			}
			if err := views.Markdown(&md, p, views.MarkdownOptions{Fingerprint: plan.Fingerprint(state)}); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, sc.name+".txt.golden", human.Bytes())
			golden.Assert(t, sc.name+".json.golden", js.Bytes())
			golden.Assert(t, sc.name+".md.golden", md.Bytes())
		})
	}
}

func external(s *spec.Stack) { s.Consul = spec.Consul{Address: "consul.internal:8500"} }

// ComputeDestroy never names an object the stack does not own, even when
// an observer lets one through.
func TestComputeDestroyIgnoresWhatIsNotLabelled(t *testing.T) {
	s := primes(1)
	state := &plan.State{
		Containers: []plan.Container{
			{ID: "a", Name: "primes-web-1", Labels: map[string]string{"x": "y"}},
			{ID: "b", Name: "other-web-1", Labels: map[string]string{spec.LabelStack: "other"}},
		},
		Network: &plan.Network{Name: "primes", Labels: map[string]string{spec.LabelStack: "other"}},
		Consul: plan.ConsulState{Registrations: []plan.Registration{
			{ID: "primes-web-1", Meta: map[string]string{plan.MetaStack: "other"}},
		}},
	}
	if p := plan.ComputeDestroy(s, state); !p.Empty() {
		t.Errorf("steps for objects the stack does not own: %+v", p.Steps)
	}
}

// The groups are listed the reconcile agent first (it would heal what
// goes), then the LB, then the workers' registrations, then
// workers, then keys, then Consul and the network: the journal lives in
// Consul. A managed Consul takes its keys with it.
func TestComputeDestroyOrder(t *testing.T) {
	for _, tc := range []struct {
		s      *spec.Stack
		groups []string
		steps  int
	}{
		{primes(2), []string{plan.GroupDestroyLB, plan.GroupDestroyDeregister, plan.GroupDestroyWorkers, plan.GroupDestroyConsul, plan.GroupDestroyNetwork}, 7},
		{primes(2, external), []string{plan.GroupDestroyLB, plan.GroupDestroyDeregister, plan.GroupDestroyWorkers, plan.GroupDestroyKV, plan.GroupDestroyNetwork}, 7},
		{primes(2, withReconcile), []string{plan.GroupDestroyReconcile, plan.GroupDestroyLB, plan.GroupDestroyDeregister, plan.GroupDestroyWorkers, plan.GroupDestroyConsul, plan.GroupDestroyNetwork}, 8},
	} {
		state, err := planfake.Running(tc.s).Observer().Observe(context.Background(), tc.s)
		if err != nil {
			t.Fatal(err)
		}
		p := plan.ComputeDestroy(tc.s, state)
		var got []string
		for _, g := range p.Groups() {
			got = append(got, g[0].Group)
		}
		if strings.Join(got, " ") != strings.Join(tc.groups, " ") || len(p.Steps) != tc.steps {
			t.Errorf("groups %v with %d steps, want %v with %d", got, len(p.Steps), tc.groups, tc.steps)
		}
		if p.Mode != plan.ModeDestroy || p.Summary.Destroy != len(p.Steps) {
			t.Errorf("mode %q, summary %+v for %d steps", p.Mode, p.Summary, len(p.Steps))
		}
	}
}

// The reconcile agent goes before anything else, and everything else waits
// for it: an agent still running would heal what the destroy removes.
func TestComputeDestroyRemovesTheAgentFirst(t *testing.T) {
	s := primes(2, withReconcile)
	state, err := planfake.Running(s).Observe(s)
	if err != nil {
		t.Fatal(err)
	}
	p := plan.ComputeDestroy(s, state)
	first := p.Steps[0]
	if first.ID != "reconcile/primes-reconcile" || len(first.DependsOn) != 0 {
		t.Fatalf("first step %s depends on %v, want reconcile/primes-reconcile on nothing", first.ID, first.DependsOn)
	}
	for _, st := range p.Steps[1:] {
		if len(st.DependsOn) == 0 {
			t.Errorf("%s depends on nothing: it could run before the agent is gone", st.ID)
		}
	}
}
