package plan_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
	"github.com/stackctl/stackctl/spec"
)

// hostsWorld is a stack over several fake engines that share one fake
// Consul datacenter, each server's agent reached at <host address>:8500.
type hostsWorld struct {
	desired *spec.Stack
	control *planfake.Docker
	engines map[string]*planfake.Docker
	consul  *planfake.Consul
	// agents answer for each server's address; a missing one is down.
	agents map[string]*planfake.Consul
	dialed []string
}

// newHostsWorld makes hosts box1..n at 10.0.0.2.., with Consul servers on
// the named hosts and nothing running yet.
func newHostsWorld(n int, servers ...string) *hostsWorld {
	desired := primes(2, func(s *spec.Stack) {
		for i := 1; i <= n; i++ {
			name, ip := fmt.Sprintf("box%d", i), fmt.Sprintf("10.0.0.%d", i+1)
			s.Hosts = append(s.Hosts, &spec.Host{Name: name, Docker: "tcp://" + ip + ":2375", Address: ip, Insecure: true})
		}
		s.Consul.Ports, s.Consul.Servers = nil, servers
		s.LB.Host = "box1"
	})
	w := &hostsWorld{desired: desired, control: planfake.NewDocker(), engines: map[string]*planfake.Docker{},
		consul: planfake.NewConsul(), agents: map[string]*planfake.Consul{}}
	for _, h := range desired.Hosts {
		w.engines[h.Name] = planfake.NewDocker()
	}
	return w
}

func (w *hostsWorld) observer() *plan.Observer {
	hosts := map[string]plan.DockerReader{}
	for name, d := range w.engines {
		hosts[name] = d
	}
	return &plan.Observer{
		Docker:   w.control,
		DockerAt: plan.Endpoint{Address: "unix:///fake/docker.sock", Via: "fake"},
		Hosts:    hosts,
		Consul: func(addr string) (plan.ConsulReader, error) {
			w.dialed = append(w.dialed, addr)
			if agent, ok := w.agents[addr]; ok {
				return agent, nil
			}
			down := planfake.NewConsul()
			down.SetDown(true)
			return down, nil
		},
	}
}

func (w *hostsWorld) observe(t *testing.T) *plan.State {
	t.Helper()
	state, err := w.observer().Observe(context.Background(), w.desired)
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// runAgent puts the stack's running Consul server container on host and
// makes the datacenter answer at the host's address.
func (w *hostsWorld) runAgent(host string) {
	w.engines[host].PutContainer(plan.Container{ID: "id-consul-" + host, Name: "primes-consul-" + host, State: plan.ContainerRunning,
		Labels: map[string]string{spec.LabelStack: "primes", spec.LabelRole: plan.RoleConsul}})
	w.agents[w.desired.Host(host).Address+":8500"] = w.consul
}

// runWorker puts web's slot on host, registered with the host's node.
func (w *hostsWorld) runWorker(host string, slot int, status string) {
	name := w.desired.WorkerName("web", slot)
	w.engines[host].PutContainer(plan.Container{ID: "id-" + name, Name: name, State: plan.ContainerRunning,
		Labels: plan.WorkerLabels(w.desired, web(w.desired), slot)})
	w.consul.Register(plan.Registration{ID: name, Service: "web", Host: host, Status: status,
		Address: w.desired.Host(host).Address, Port: 20000,
		Meta: map[string]string{plan.MetaStack: "primes", plan.MetaService: "web", plan.MetaSlot: strconv.Itoa(slot)}})
}

func TestObserveHostsTagsContainersAndNamesTheUnreachableHost(t *testing.T) {
	w := newHostsWorld(2, "box1")
	w.runAgent("box1")
	w.runWorker("box1", 1, plan.CheckPassing)
	w.runWorker("box2", 2, plan.CheckCritical)
	w.engines["box1"].PutNetwork(plan.Network{ID: "n1", Name: "primes", Labels: map[string]string{spec.LabelStack: "primes"}})
	w.engines["box1"].PutImage(plan.Image{Ref: "stackctl.local/primes:v1", ID: "sha256:v1"})
	w.control.PutImage(plan.Image{Ref: "stackctl.local/primes:v1", ID: "sha256:v1"})
	w.engines["box2"].SetDown(true)

	state := w.observe(t)

	box1, box2 := state.Hosts["box1"], state.Hosts["box2"]
	if box1 == nil || !box1.Reached() || box1.Docker != "tcp://10.0.0.2:2375" {
		t.Fatalf("box1 = %+v, want reached at tcp://10.0.0.2:2375", box1)
	}
	if box1.Network == nil || box1.Network.ID != "n1" || len(box1.Images) != 1 || box1.Images[0].ID != "sha256:v1" {
		t.Errorf("box1's network and images = %+v, %+v; want n1 and primes:v1", box1.Network, box1.Images)
	}
	if box2 == nil || box2.Reached() {
		t.Fatalf("box2 = %+v, want unreachable", box2)
	}
	if want := "Docker at tcp://10.0.0.3:2375: list containers: connection refused"; box2.Error != want {
		t.Errorf("box2's error = %q, want %q", box2.Error, want)
	}
	var where []string
	for _, c := range state.Containers {
		where = append(where, c.Name+"@"+c.Host)
	}
	if got, want := strings.Join(where, " "), "primes-consul-box1@box1 primes-web-1@box1"; got != want {
		t.Errorf("containers = %s, want %s", got, want)
	}
	if state.Network != nil || len(state.Images) != 1 || state.Images[0].ID != "sha256:v1" {
		t.Errorf("top level: network %+v, images %+v; want none and the control engine's primes:v1", state.Network, state.Images)
	}
	if !state.Consul.Reached || state.Consul.Address != "10.0.0.2:8500" || len(state.Consul.Registrations) != 2 {
		t.Fatalf("consul = %+v, want both instances read at box1's agent", state.Consul)
	}
	lost := state.Unreachable()
	if len(lost) != 1 || lost[0].Name != "box2" || len(lost[0].Registrations) != 1 || lost[0].Registrations[0].ID != "primes-web-2" {
		t.Fatalf("unreachable = %+v, want box2 holding primes-web-2", lost)
	}
}

// blockedDocker never answers until its caller gives up, like an engine
// behind a host that is gone from the network.
type blockedDocker struct{}

func (blockedDocker) ListContainers(ctx context.Context, _ string) ([]plan.Container, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (blockedDocker) InspectNetwork(ctx context.Context, _ string) (*plan.Network, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (blockedDocker) InspectImage(ctx context.Context, _ string) (*plan.Image, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestObserveHostsWaitsForAHostNoLongerThanTheTimeout(t *testing.T) {
	w := newHostsWorld(2, "box1")
	w.runWorker("box1", 1, plan.CheckPassing)
	o := w.observer()
	o.Hosts["box2"] = blockedDocker{}
	o.HostTimeout = 50 * time.Millisecond

	start := time.Now()
	state, err := o.Observe(context.Background(), w.desired)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("observe took %s with a host timeout of 50ms", took)
	}
	if want := "Docker at tcp://10.0.0.3:2375: no answer within 50ms"; state.Hosts["box2"].Error != want {
		t.Errorf("box2's error = %q, want %q", state.Hosts["box2"].Error, want)
	}
	if len(state.Containers) != 1 || state.Containers[0].Host != "box1" {
		t.Errorf("containers = %+v, want box1's worker", state.Containers)
	}
}

func TestObserveHostsGivesUpWithItsCaller(t *testing.T) {
	w := newHostsWorld(2, "box1")
	o := w.observer()
	o.Hosts["box2"] = blockedDocker{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := o.Observe(ctx, w.desired); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline, not an unreachable host", err)
	}
}

func TestObserveHostsReadsConsulFromTheFirstServerThatAnswers(t *testing.T) {
	w := newHostsWorld(3, "box1", "box2", "box3")
	w.runAgent("box2")
	w.runAgent("box3")
	w.engines["box1"].SetDown(true) // its agent is tried last, after the ones seen running
	w.runWorker("box2", 1, plan.CheckPassing)
	delete(w.agents, "10.0.0.3:8500") // box2's agent runs but does not answer

	state := w.observe(t)

	if state.Consul.Address != "10.0.0.4:8500" || !strings.Contains(state.Consul.Via, "host box3") {
		t.Errorf("consul read at %s (%s), want box3's agent", state.Consul.Address, state.Consul.Via)
	}
	if got := strings.Join(w.dialed, " "); got != "10.0.0.3:8500 10.0.0.4:8500" {
		t.Errorf("dialled %s, want box2's agent then box3's (box1's engine is down: its agent last)", got)
	}
	if regs := state.Consul.Registrations; len(regs) != 1 || regs[0].Host != "box2" {
		t.Errorf("registrations = %+v, want web-1 on box2", regs)
	}
}

func TestObserveHostsAsksNoConsulBeforeAnAgentRuns(t *testing.T) {
	w := newHostsWorld(2, "box1")
	state := w.observe(t)
	if state.Consul.Reached || len(w.dialed) > 0 {
		t.Errorf("consul = %+v after dialling %v, want not contacted: no agent runs", state.Consul, w.dialed)
	}
}

func TestObserveHostsConsulDownWhileItsAgentRunsIsAnError(t *testing.T) {
	w := newHostsWorld(2, "box1")
	w.runAgent("box1")
	w.consul.SetDown(true)
	_, err := w.observer().Observe(context.Background(), w.desired)
	var ee *plan.EndpointError
	if !asEndpointError(err, &ee) || ee.Service != "Consul" {
		t.Fatalf("err = %v, want an EndpointError for Consul", err)
	}
	for _, want := range []string{"10.0.0.2:8500", "host box1", "CONSUL_HTTP_ADDR", "DOCKER_HOST=tcp://10.0.0.2:2375 docker logs primes-consul-box1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message does not say %q: %s", want, err)
		}
	}
}

func TestObserveHostsWithEveryServerLostIsNoError(t *testing.T) {
	w := newHostsWorld(2, "box1")
	w.runWorker("box2", 1, plan.CheckPassing)
	w.engines["box1"].SetDown(true) // and its agent with it: nothing answers at 10.0.0.2:8500
	state := w.observe(t)
	if state.Consul.Reached {
		t.Errorf("consul = %+v, want not reached", state.Consul)
	}
	if got := strings.Join(w.dialed, " "); got != "10.0.0.2:8500" {
		t.Errorf("dialled %q, want box1's agent tried once", got)
	}
	lost := state.Unreachable()
	if len(lost) != 1 || !strings.Contains(lost[0].String(), "unknown") {
		t.Errorf("unreachable = %v, want box1 with what it held unknown", lost)
	}
}

func TestObserveHostsHonoursConsulHTTPAddr(t *testing.T) {
	w := newHostsWorld(2, "box1")
	w.runAgent("box1")
	w.agents["10.9.9.9:8500"] = w.consul
	o := w.observer()
	o.ConsulAddr = "10.9.9.9:8500"
	state, err := o.Observe(context.Background(), w.desired)
	if err != nil {
		t.Fatal(err)
	}
	if state.Consul.Address != "10.9.9.9:8500" || state.Consul.Via != "CONSUL_HTTP_ADDR" {
		t.Errorf("consul read at %s (%s), want CONSUL_HTTP_ADDR", state.Consul.Address, state.Consul.Via)
	}
}

func TestObserveHostsNeedsAClientPerHost(t *testing.T) {
	w := newHostsWorld(2, "box1")
	o := w.observer()
	delete(o.Hosts, "box2")
	if _, err := o.Observe(context.Background(), w.desired); err == nil || !strings.Contains(err.Error(), "host box2") {
		t.Fatalf("err = %v, want one naming box2", err)
	}
}

// onlyAgent reads Consul but not its catalog.
type onlyAgent struct{ plan.ConsulReader }

func TestObserveHostsNeedsTheCatalog(t *testing.T) {
	w := newHostsWorld(2, "box1")
	w.runAgent("box1")
	o := w.observer()
	o.Consul = func(string) (plan.ConsulReader, error) { return onlyAgent{w.consul}, nil }
	if _, err := o.Observe(context.Background(), w.desired); !errors.Is(err, plan.ErrNoCatalog) {
		t.Fatalf("err = %v, want ErrNoCatalog", err)
	}
}
