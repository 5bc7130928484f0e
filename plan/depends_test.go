package plan_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
	"github.com/stackctl/stackctl/spec"
)

// Every plan of every scenario is a DAG listed in a valid order, with
// direct edges only, and its replace steps name the containers they take
// the place of.
func TestDependsOnAreDirectEdgesToEarlierSteps(t *testing.T) {
	for _, sc := range scenarios() {
		state, err := sc.world().Observe(sc.desired)
		if err != nil {
			t.Fatal(err)
		}
		checkGraph(t, sc.name, plan.Compute(sc.desired, state), state)
	}
	for _, sc := range destroyScenarios() {
		state, err := sc.world().Observe(sc.desired)
		if err != nil {
			t.Fatal(err)
		}
		checkGraph(t, sc.name, plan.ComputeDestroy(sc.desired, state), state)
	}
}

// checkGraph fails unless every DependsOn names a step listed before its
// own, once and sorted, and none is implied by another of the same list;
// and unless exactly the replace steps of containers carry Replaces, the
// ID of a container observed in state.
func checkGraph(t *testing.T, name string, p *plan.Plan, state *plan.State) {
	t.Helper()
	pos := map[string]int{}
	for i, st := range p.Steps {
		pos[st.ID] = i
	}
	reach := make([]map[string]bool, len(p.Steps)) // each step's ancestors
	for i, st := range p.Steps {
		reach[i] = map[string]bool{}
		if !slices.IsSorted(st.DependsOn) || len(slices.Compact(slices.Clone(st.DependsOn))) != len(st.DependsOn) {
			t.Errorf("%s: %s depends on %v: not sorted, or twice the same", name, st.ID, st.DependsOn)
		}
		for _, id := range st.DependsOn {
			j, ok := pos[id]
			if !ok || j >= i {
				t.Errorf("%s: %s depends on %s, which is not a step before it", name, st.ID, id)
				continue
			}
			for a := range reach[j] {
				reach[i][a] = true
			}
			reach[i][id] = true
		}
		for _, a := range st.DependsOn {
			for _, b := range st.DependsOn {
				if j, ok := pos[b]; ok && a != b && reach[j][a] {
					t.Errorf("%s: %s depends on %s, which %s already depends on", name, st.ID, a, b)
				}
			}
		}
		checkReplaces(t, name, st, state)
	}
}

func checkReplaces(t *testing.T, name string, st plan.Step, state *plan.State) {
	t.Helper()
	container := st.Kind == plan.KindWorker || st.Kind == plan.KindConsul || st.Kind == plan.KindLB || st.Kind == plan.KindReconcile
	if (st.Action == plan.ActionReplace && container) != (st.Replaces != "") {
		t.Errorf("%s: %s %s has replaces %q", name, st.Action, st.ID, st.Replaces)
	}
	if st.Replaces != "" && !slices.ContainsFunc(state.Containers, func(c plan.Container) bool { return c.ID == st.Replaces }) {
		t.Errorf("%s: %s replaces %s, which is not an observed container", name, st.ID, st.Replaces)
	}
}

// depends maps a step ID to what it depends on, space-separated; a step of
// the plan not in the map must depend on nothing.
type depends map[string]string

func TestDependsOn(t *testing.T) {
	const (
		net    = "network/primes"
		consul = "consul/primes-consul"
		tmpl   = "template/stackctl/primes/lb/template"
		lb     = "lb/primes-lb"
	)
	for _, tc := range []struct {
		name    string
		desired *spec.Stack
		world   func() *planfake.World
		want    depends
	}{
		{"a first apply overlaps the batches; a new LB does not wait for workers",
			primes(4, parallelism(2)), emptyWorld(primes(4)), depends{
				consul:     net,
				workers(1): consul, workers(2): consul, workers(3): consul, workers(4): consul,
				tmpl: consul, lb: tmpl,
			}},
		{"a rolling update is a window of update.parallelism slots; a changed template waits for the last",
			primes(4, parallelism(2), v2, newTemplate), running(primes(4)), depends{
				workers(3): workers(1), workers(4): workers(2),
				tmpl: workers(3, 4),
			}},
		{"a replaced LB waits for the workers it serves",
			primes(4, parallelism(2), v2, lbPort(8081)), running(primes(4)), depends{
				workers(3): workers(1), workers(4): workers(2),
				lb: workers(3, 4),
			}},
		{"a replaced LB waits for a changed template, which waits for the workers",
			primes(2, v2, newTemplate, lbPort(8081)), running(primes(2)), depends{
				tmpl: workers(1, 2), lb: tmpl,
			}},
		{"a scale-up replaces nothing: its batches overlap",
			primes(4, parallelism(1), newTemplate), running(primes(2)), depends{
				tmpl: workers(3, 4),
			}},
		{"a service that replaces any worker is a rolling update, creates too",
			primes(4, parallelism(1), v2), running(primes(2)), depends{
				workers(2): workers(1), workers(3): workers(2), workers(4): workers(3),
			}},
		{"services do not wait for each other; only a rolling one is chained",
			primes(2, parallelism(1), withAPI(2), v2, newTemplate), running(primes(2, withAPI(0))), depends{
				workers(2): workers(1),
				tmpl:       "worker/primes-api-1 worker/primes-api-2 " + workers(2),
			}},
		{"workers wait for the image they run",
			primes(4, parallelism(2), built), rebuiltWorld(primes(4, built)), depends{
				workers(1): "image/primes-web:latest", workers(2): "image/primes-web:latest",
				workers(3): workers(1), workers(4): workers(2),
			}},
		{"registrations wait for a started Consul, the template for the registrations",
			primes(2), func() *planfake.World {
				world := running(primes(2))()
				world.Docker.UpdateContainer("primes-consul", func(c *plan.Container) { c.State = plan.ContainerExited })
				return world
			}, depends{
				"registration/primes-web-1": consul, "registration/primes-web-2": consul,
				tmpl: "registration/primes-web-1 registration/primes-web-2",
			}},
		{"removals wait for the update, and each container for its registration",
			primes(4, parallelism(2), v2), func() *planfake.World {
				world := running(primes(6))()
				world.Consul.Register(plan.Registration{ID: "primes-api-1", Service: "api", Address: "172.20.0.99", Port: 6000,
					Meta: map[string]string{plan.MetaStack: "primes", plan.MetaService: "api", plan.MetaSlot: "1"}})
				return world
			}, depends{
				workers(3): workers(1), workers(4): workers(2),
				"registration/primes-api-1": workers(3, 4), "registration/primes-web-5": workers(3, 4), "registration/primes-web-6": workers(3, 4),
				workers(5): "registration/primes-web-5", workers(6): "registration/primes-web-6",
			}},
		{"a removed LB's template key goes after the LB",
			primes(2, func(s *spec.Stack) { s.LB = nil }), running(primes(2)), depends{
				tmpl: lb,
			}},
		{"the old Consul goes once the LB follows the new one",
			primes(2, external), running(primes(2)), depends{
				consul: lb,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertComputed(t, plan.Compute, tc.desired, tc.world(), tc.want)
		})
	}
}

func TestDestroyDependsOn(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *spec.Stack
		want depends
	}{
		{"each worker goes after its registration, a managed Consul after the workers, the network after it", primes(2), depends{
			"registration/primes-web-1": "lb/primes-lb", "registration/primes-web-2": "lb/primes-lb",
			workers(1): "registration/primes-web-1", workers(2): "registration/primes-web-2",
			"consul/primes-consul": workers(1, 2),
			"network/primes":       "consul/primes-consul",
		}},
		{"with an external Consul, keys go after the LB too", primes(2, external), depends{
			"registration/primes-web-1": "lb/primes-lb", "registration/primes-web-2": "lb/primes-lb",
			workers(1): "registration/primes-web-1", workers(2): "registration/primes-web-2",
			"template/stackctl/primes/lb/template": "lb/primes-lb",
			"network/primes":                       "template/stackctl/primes/lb/template " + workers(1, 2),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertComputed(t, plan.ComputeDestroy, tc.s, planfake.Running(tc.s), tc.want)
		})
	}
}

// A replace step names the container it takes the place of: a worker's
// may be a kept one paired to the slot, under another name.
func TestReplacesNamesTheOldContainer(t *testing.T) {
	desired := primes(2, v2, lbPort(8081), func(s *spec.Stack) { s.Consul.Ports = nil })
	world := running(primes(2))()
	keepOnly(world, "primes-web-2", "c-kept-2")
	state, err := world.Observe(desired)
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Compute(desired, state)
	for id, want := range map[string]string{
		workers(1): "c-primesweb1", workers(2): "c-kept-2",
		"consul/primes-consul": containerID(t, state, "primes-consul"), "lb/primes-lb": containerID(t, state, "primes-lb"),
	} {
		st := p.Step(id)
		switch {
		case st == nil:
			t.Errorf("no step %s", id)
		case !strings.HasPrefix(st.Replaces, want) || st.Action != plan.ActionReplace:
			t.Errorf("%s %s replaces %q, want %s", st.Action, id, st.Replaces, want)
		}
	}
}

// assertComputed plans desired over the world with compute (Compute or
// ComputeDestroy) and holds the plan's edges to want.
func assertComputed(t *testing.T, compute func(*spec.Stack, *plan.State) *plan.Plan,
	desired *spec.Stack, world *planfake.World, want depends) {
	t.Helper()
	state, err := world.Observe(desired)
	if err != nil {
		t.Fatal(err)
	}
	p := compute(desired, state)
	checkGraph(t, t.Name(), p, state)
	for _, st := range p.Steps {
		if got := strings.Join(st.DependsOn, " "); got != want[st.ID] {
			t.Errorf("%s depends on %q, want %q", st.ID, got, want[st.ID])
		}
		delete(want, st.ID)
	}
	for id := range want {
		t.Errorf("no step %s in the plan", id)
	}
}

// keepOnly leaves a slot only its container, kept (as an interrupted apply
// leaves it) under a name of its own and the ID.
func keepOnly(w *planfake.World, name, id string) {
	c, _ := w.Docker.Container(name)
	w.Docker.RemoveContainer(name)
	c.ID, c.Name = id, name+plan.SuffixKept+"c0ffee000002"
	w.Docker.PutContainer(c)
}

func containerID(t *testing.T, s *plan.State, name string) string {
	t.Helper()
	c := s.Container(name)
	if c == nil {
		t.Fatalf("no container %s", name)
	}
	return c.ID
}

// workers names the worker steps of web's slots, space-separated.
func workers(slots ...int) string {
	var ids []string
	for _, n := range slots {
		ids = append(ids, "worker/primes-web-"+strconv.Itoa(n))
	}
	return strings.Join(ids, " ")
}

func parallelism(n int) func(*spec.Stack) {
	return func(s *spec.Stack) { web(s).Update.Parallelism = n }
}

const imageV2 = "stackctl.local/primes:v2"

func v2(s *spec.Stack) { web(s).Image = imageV2 }

func newTemplate(s *spec.Stack) {
	s.LB.TemplateSource = strings.Replace(templateV1, "listen 80;", "listen 80 reuseport;", 1)
}

func lbPort(port int) func(*spec.Stack) {
	return func(s *spec.Stack) { s.LB.Ports[0].HostPort = port }
}

func built(s *spec.Stack) {
	web(s).Image = "primes-web:latest"
	web(s).Build = &spec.Build{Context: "testdata/app", Dockerfile: "Dockerfile"}
}

// withAPI adds a service api of n workers.
func withAPI(n int) func(*spec.Stack) {
	return func(s *spec.Stack) {
		api := *web(s)
		api.Name, api.Replicas = "api", n
		s.Services = append(s.Services, &api)
	}
}

func emptyWorld(s *spec.Stack) func() *planfake.World {
	return func() *planfake.World {
		world := planfake.NewWorld()
		world.AddImages(s)
		return world
	}
}

// running is a world in which s runs, with v2's image at hand.
func running(s *spec.Stack) func() *planfake.World {
	return func() *planfake.World {
		world := planfake.Running(s)
		world.Docker.PutImage(plan.Image{Ref: imageV2, ID: planfake.FakeImageID(imageV2, "")})
		return world
	}
}

// rebuiltWorld runs s, then puts an image not built by stackctl under the
// service's reference: plan rebuilds it and replaces the workers.
func rebuiltWorld(s *spec.Stack) func() *planfake.World {
	return func() *planfake.World {
		world := planfake.Running(s)
		ref := web(s).Image
		world.Docker.PutImage(plan.Image{Ref: ref, ID: planfake.FakeImageID(ref, "elsewhere")})
		return world
	}
}
