package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

func TestComputeIsDeterministic(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			state, err := sc.world().Observe(sc.desired)
			if err != nil {
				t.Fatal(err)
			}
			want := planJSON(t, plan.Compute(sc.desired, state))
			rng := rand.New(rand.NewSource(1))
			for range 20 {
				shuffled := *state
				shuffled.Containers = append([]plan.Container(nil), state.Containers...)
				rng.Shuffle(len(shuffled.Containers), func(i, j int) {
					shuffled.Containers[i], shuffled.Containers[j] = shuffled.Containers[j], shuffled.Containers[i]
				})
				shuffled.Consul.Registrations = append([]plan.Registration(nil), state.Consul.Registrations...)
				rng.Shuffle(len(shuffled.Consul.Registrations), func(i, j int) {
					r := shuffled.Consul.Registrations
					r[i], r[j] = r[j], r[i]
				})
				if got := planJSON(t, plan.Compute(sc.desired, &shuffled)); got != want {
					t.Fatalf("plan changed with the order of observed objects:\n%s\nvs\n%s", got, want)
				}
			}
		})
	}
}

func TestComputeDoesNotModifyItsInputs(t *testing.T) {
	sc := scenarioNamed(t, "scale_down_20_to_5")
	state, err := sc.world().Observe(sc.desired)
	if err != nil {
		t.Fatal(err)
	}
	before := plan.Fingerprint(state)
	raw, _ := json.Marshal(state)
	plan.Compute(sc.desired, state)
	after, _ := json.Marshal(state)
	if plan.Fingerprint(state) != before || !bytes.Equal(raw, after) {
		t.Fatal("Compute modified the observed state")
	}
}

// Playing a plan's steps (as apply is meant to) must converge: the next plan
// is empty, whatever the scenario.
func TestApplyingAPlanConverges(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			w := sc.world()
			state, err := w.Observe(sc.desired)
			if err != nil {
				t.Fatal(err)
			}
			w.Simulate(sc.desired, plan.Compute(sc.desired, state))
			again, err := w.Observe(sc.desired)
			if err != nil {
				t.Fatal(err)
			}
			if p := plan.Compute(sc.desired, again); !p.Empty() {
				var out bytes.Buffer
				views.Human(&out, p, false)
				t.Fatalf("plan after apply is not empty:\n%s", out.String())
			}
		})
	}
}

func TestEmptyToFullThenEmpty(t *testing.T) {
	desired := primes(20)
	w := planfake.NewWorld()
	w.AddImages(desired)
	state, err := w.Observe(desired)
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Compute(desired, state)
	if got, want := p.Summary, (plan.Summary{Add: 1 + 1 + 20 + 1 + 1}); got != want {
		t.Errorf("summary of a fresh stack = %+v, want %+v", got, want)
	}
	w.Simulate(desired, p)
	state, err = w.Observe(desired)
	if err != nil {
		t.Fatal(err)
	}
	if p := plan.Compute(desired, state); !p.Empty() {
		t.Fatalf("plan after creating everything: %d steps", len(p.Steps))
	}
}

func TestStepIDsAreUniqueAndGroupsContiguous(t *testing.T) {
	for _, sc := range scenarios() {
		p := observeAndCompute(t, sc)
		ids := map[string]bool{}
		seen := map[string]bool{}
		for i, st := range p.Steps {
			if ids[st.ID] {
				t.Errorf("%s: step ID %s twice", sc.name, st.ID)
			}
			ids[st.ID] = true
			if i > 0 && p.Steps[i-1].Group != st.Group && seen[st.Group] {
				t.Errorf("%s: group %s is split", sc.name, st.Group)
			}
			seen[st.Group] = true
		}
	}
}

func TestWorkerBatchesFollowParallelism(t *testing.T) {
	desired := primes(10, func(s *spec.Stack) {
		web(s).Image = "stackctl.local/primes:v2"
		web(s).Update.Parallelism = 3
	})
	w := planfake.Running(primes(10))
	state, _ := w.Observe(desired)
	var sizes []int
	for _, g := range plan.Compute(desired, state).Groups() {
		if strings.HasPrefix(g[0].Group, plan.GroupWorkersPrefix) {
			sizes = append(sizes, len(g))
		}
	}
	if got, want := sizes, []int{3, 3, 3, 1}; !equalInts(got, want) {
		t.Errorf("batch sizes = %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A reader that lets foreign objects through must not get them in a plan.
func TestComputeIgnoresObjectsOfOtherOwners(t *testing.T) {
	desired := primes(1)
	state, _ := planfake.Running(desired).Observe(desired)
	state.Containers = append(state.Containers,
		plan.Container{Name: "primes-web-7", State: plan.ContainerRunning, Labels: map[string]string{"other": "x"}},
		plan.Container{Name: "other-web-1", State: plan.ContainerRunning, Labels: map[string]string{
			spec.LabelStack: "other", spec.LabelRole: plan.RoleWorker, spec.LabelService: "web", spec.LabelSlot: "1"}})
	state.Consul.Registrations = append(state.Consul.Registrations,
		plan.Registration{ID: "primes-web-7", Service: "web"},
		plan.Registration{ID: "other-web-1", Service: "web", Meta: map[string]string{plan.MetaStack: "other"}})
	if p := plan.Compute(desired, state); !p.Empty() {
		t.Fatalf("plan touches foreign objects: %+v", p.Steps)
	}
}

func TestSecretsNeverShown(t *testing.T) {
	for _, name := range []string{"secrets_masked", "secrets_masked_create"} {
		sc := scenarioNamed(t, name)
		w := sc.world()
		state, err := w.Observe(sc.desired)
		if err != nil {
			t.Fatal(err)
		}
		p := plan.Compute(sc.desired, state)
		var human, colour, js, md bytes.Buffer
		views.Human(&human, p, false)
		views.Human(&colour, p, true)
		views.JSON(&js, p)
		views.Markdown(&md, p, views.MarkdownOptions{Fingerprint: plan.Fingerprint(state)})
		file, _ := json.Marshal(plan.NewFile(p, "stack.yaml", []byte("x"), nil, state))
		labels, _ := json.Marshal(plan.WorkerLabels(sc.desired, web(sc.desired), 1))
		observed, _ := json.Marshal(state)
		for what, out := range map[string]string{
			"human": human.String(), "colour": colour.String(), "json": js.String(), "markdown": md.String(),
			"plan file": string(file), "labels": string(labels), "observed labels": string(observed),
		} {
			for _, secret := range []string{secretOld, secretNew} {
				if strings.Contains(out, secret) {
					t.Errorf("%s: %s output contains a secret value", name, what)
				}
			}
			if what == "human" && !strings.Contains(out, "env.API_TOKEN = (sensitive)") {
				t.Errorf("%s: human output does not mark API_TOKEN sensitive:\n%s", name, out)
			}
		}
	}
}

func TestSecretChangeIsDetected(t *testing.T) {
	sa, sb := primes(1, withSecret("a")), primes(1, withSecret("b"))
	a := plan.WorkerLabels(sa, web(sa), 1)[plan.LabelConfig]
	b := plan.WorkerLabels(sb, web(sb), 1)[plan.LabelConfig]
	if a == b {
		t.Fatal("config labels of two secret values are equal")
	}
}

func TestDockerDownIsAnErrorNamingTheEngine(t *testing.T) {
	w := planfake.Running(primes(1))
	w.Docker.SetDown(true)
	_, err := w.Observe(primes(1))
	var ee *plan.EndpointError
	if !asEndpointError(err, &ee) || ee.Service != "Docker" {
		t.Fatalf("err = %v, want an EndpointError for Docker", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "unix:///fake/docker.sock") || !strings.Contains(msg, "list containers") {
		t.Errorf("message does not say where and what: %s", msg)
	}
}

func TestConsulDownWhileItsContainerRunsIsAnError(t *testing.T) {
	w := planfake.Running(primes(1))
	w.Consul.SetDown(true)
	_, err := w.Observe(primes(1))
	var ee *plan.EndpointError
	if !asEndpointError(err, &ee) || ee.Service != "Consul" {
		t.Fatalf("err = %v, want an EndpointError for Consul", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "127.0.0.1:8500") || !strings.Contains(msg, "CONSUL_HTTP_ADDR") ||
		!strings.Contains(msg, "docker logs primes-consul") {
		t.Errorf("message does not say where and how to change it: %s", msg)
	}
}

func TestConsulIsNotAskedWhenItsContainerIsMissing(t *testing.T) {
	w := planfake.Running(primes(1))
	w.Docker.RemoveContainer("primes-consul")
	w.Consul.SetDown(true) // answering would be an error
	state, err := w.Observe(primes(1))
	if err != nil {
		t.Fatal(err)
	}
	if state.Consul.Reached || len(state.Consul.Registrations) > 0 {
		t.Errorf("consul state = %+v, want empty", state.Consul)
	}
}

func TestConsulAddress(t *testing.T) {
	published := func(w *planfake.World) {
		w.Docker.UpdateContainer("primes-consul", func(c *plan.Container) {
			c.Ports = []plan.PublishedPort{{HostIP: "0.0.0.0", HostPort: 18500, ContainerPort: 8500, Protocol: "tcp"}}
		})
	}
	tests := []struct {
		name     string
		desired  *spec.Stack
		override string
		change   func(*planfake.World)
		want     string
	}{
		{"stack port mapping", primes(1), "", nil, "127.0.0.1:8500"},
		{"CONSUL_HTTP_ADDR wins", primes(1), "10.1.2.3:8501", nil, "10.1.2.3:8501"},
		{"live published port wins over the file", primes(1), "", published, "127.0.0.1:18500"},
		{"external agent", primes(1, func(s *spec.Stack) { s.Consul = spec.Consul{Address: "consul.test:8500"} }), "", nil, "consul.test:8500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := planfake.Running(primes(1))
			if tt.change != nil {
				tt.change(w)
			}
			o := w.Observer()
			o.ConsulAddr = tt.override
			state, err := o.Observe(context.Background(), tt.desired)
			if err != nil {
				t.Fatal(err)
			}
			if state.Consul.Address != tt.want {
				t.Errorf("consul address = %s (%s), want %s", state.Consul.Address, state.Consul.Via, tt.want)
			}
		})
	}
}

func TestConsulWithoutPublishedPortIsAnError(t *testing.T) {
	desired := primes(1, func(s *spec.Stack) { s.Consul.Ports = nil })
	w := planfake.Running(desired)
	_, err := w.Observe(desired)
	if err == nil || !strings.Contains(err.Error(), "CONSUL_HTTP_ADDR") {
		t.Fatalf("err = %v, want advice to publish 8500 or set CONSUL_HTTP_ADDR", err)
	}
}

func TestUnreadableJournalIsAWarning(t *testing.T) {
	w := planfake.Running(primes(1))
	w.Consul.Put("stackctl/primes/journal", []byte("garbage"))
	state, _ := w.Observe(primes(1))
	p := plan.Compute(primes(1), state)
	if !p.Empty() || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Summary, "did not finish") {
		t.Fatalf("plan = %+v", p)
	}
}

func planJSON(t *testing.T, p *plan.Plan) string {
	t.Helper()
	var b bytes.Buffer
	if err := views.JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
