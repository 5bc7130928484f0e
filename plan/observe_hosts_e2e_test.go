//go:build e2e

package plan_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// The multi-host observe against real engines: two boxes, each opened as a
// stack's host is (dockerapi.OpenHost over plain tcp://, insecure: true),
// the image streamed into each by dockerapi.CopyImage, a container of the
// stack on each; then one box stopped, as a host is lost, and observed
// again: that host has its Error and the observation still succeeds.
func TestObserveHostsOnBoxesSurvivesALostBox(t *testing.T) {
	e := e2e.NewForApply(t)
	// A name of its own on the shared engine (boxes h1obs-box1, h1obs-box2),
	// removed with everything labelled for it when the test ends.
	e.Stack, e.Network = "h1obs", "h1obs"
	boxes := e.StartBoxes(2)
	desired := &spec.Stack{
		Version: 1, Name: "h1obs",
		Hosts:    []*spec.Host{e2e.BoxHost(boxes[0]), e2e.BoxHost(boxes[1])},
		Consul:   spec.Consul{Image: images.Consul, Servers: []string{boxes[0].Name}},
		Services: []*spec.Service{{Name: "web", Image: images.PrimesV1, Replicas: 2, Port: 5000}},
	}
	local, err := dockerapi.New()
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	want, err := local.InspectImage(t.Context(), images.PrimesV1)
	if err != nil || want == nil {
		t.Fatalf("inspect %s here: %v", images.PrimesV1, err)
	}

	for i, b := range boxes {
		start := time.Now()
		e.CopyImage(b, images.PrimesV1)
		t.Logf("%s copied into %s in %.1f s", images.PrimesV1, b.Name, time.Since(start).Seconds())
		startLabelled(t, e.BoxClient(b), desired.WorkerName("web", i+1), i+1)
	}
	_ = e.BoxClient(boxes[0]).NetworkRemove(t.Context(), "h1obs") // as the containers above
	if _, err := e.BoxClient(boxes[0]).NetworkCreate(t.Context(), "h1obs", network.CreateOptions{
		Labels: map[string]string{spec.LabelStack: "h1obs"}}); err != nil {
		t.Fatal(err)
	}
	o := &plan.Observer{
		Docker: local, DockerAt: local.Endpoint(), Consul: consulapi.Dial,
		Hosts: map[string]plan.DockerReader{boxes[0].Name: e.BoxEngine(boxes[0]), boxes[1].Name: e.BoxEngine(boxes[1])},
	}

	state, err := o.Observe(t.Context(), desired)
	if err != nil {
		t.Fatal(err)
	}
	if got := hostsOf(state); got != "h1obs-web-1@h1obs-box1 h1obs-web-2@h1obs-box2" {
		t.Errorf("containers %s, want one on each box", got)
	}
	for _, b := range boxes {
		h := state.Hosts[b.Name]
		if h == nil || !h.Reached() || h.Docker != b.DockerHost {
			t.Fatalf("%s = %+v, want reached at %s", b.Name, h, b.DockerHost)
		}
		if len(h.Images) != 1 || h.Images[0].ID != want.ID {
			t.Errorf("%s has images %+v, want %s as %s, the ID it has here", b.Name, h.Images, images.PrimesV1, want.ID)
		}
	}
	if n := state.Hosts[boxes[0].Name].Network; n == nil || n.Name != "h1obs" {
		t.Errorf("box1's stack network = %+v, want h1obs", n)
	}
	if state.Hosts[boxes[1].Name].Network != nil || state.Consul.Reached {
		t.Errorf("box2's network %+v, Consul %+v: want neither", state.Hosts[boxes[1].Name].Network, state.Consul)
	}

	if err := e.Docker.ContainerStop(t.Context(), boxes[1].Name, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	state, err = o.Observe(t.Context(), desired)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("observe with box2 stopped: %v", err)
	}
	t.Logf("observed with %s stopped in %.1f s", boxes[1].Name, took.Seconds())
	if took > plan.DefaultHostTimeout+5*time.Second {
		t.Errorf("observe took %s with a host down, want about the host timeout (%s) at most", took, plan.DefaultHostTimeout)
	}
	lost := state.Hosts[boxes[1].Name]
	if lost == nil || lost.Reached() || !strings.HasPrefix(lost.Error, "Docker at "+boxes[1].DockerHost+": ") {
		t.Fatalf("box2 = %+v, want its Error, naming %s", lost, boxes[1].DockerHost)
	}
	t.Logf("box2: %s", lost.Error)
	if got := hostsOf(state); got != "h1obs-web-1@h1obs-box1" {
		t.Errorf("containers %s, want box1's only", got)
	}
	if u := state.Unreachable(); len(u) != 1 || u[0].Name != boxes[1].Name {
		t.Errorf("unreachable = %v, want box2", u)
	} else {
		t.Log(u[0])
	}
}

// startLabelled runs the app in a box's engine as the stack's worker slot.
func startLabelled(t *testing.T, engine *client.Client, name string, slot int) {
	t.Helper()
	ctx := t.Context()
	// A box kept from an earlier run keeps its engine's containers.
	_ = engine.ContainerRemove(ctx, name, container.RemoveOptions{Force: true})
	created, err := engine.ContainerCreate(ctx, &container.Config{Image: images.PrimesV1, Labels: map[string]string{
		spec.LabelStack: "h1obs", spec.LabelRole: plan.RoleWorker, spec.LabelService: "web", spec.LabelSlot: strconv.Itoa(slot),
	}}, &container.HostConfig{Resources: container.Resources{Memory: 64 << 20}}, nil, nil, name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if err := engine.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
}

func hostsOf(state *plan.State) string {
	var out []string
	for _, c := range state.Containers {
		out = append(out, c.Name+"@"+c.Host)
	}
	return strings.Join(out, " ")
}
