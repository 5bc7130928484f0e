package apply

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// twoHosts is the Docker of a stack over two fake engines, whose container
// IDs never collide (box2's count from 1000).
func twoHosts(t *testing.T) (Docker, *world, *world) {
	t.Helper()
	box1, box2 := newWorld(), newWorld()
	box2.nextID = 1000
	for _, w := range []*world{box1, box2} {
		w.addImage("web:v1")
	}
	return HostDocker(Engines{Control: fakeDocker{newWorld()}, Hosts: map[string]Docker{"box1": fakeDocker{box1}, "box2": fakeDocker{box2}}}), box1, box2
}

func TestHostDockerCreatesOnTheStepsHostAndFindsContainersByID(t *testing.T) {
	d, box1, box2 := twoHosts(t)
	ctx := context.Background()
	id, err := d.CreateContainer(withHost(ctx, "box2"), ContainerSpec{Name: "s-web-1", Image: "web:v1", Network: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if box2.byName("s-web-1") == nil || box1.byName("s-web-1") != nil {
		t.Fatal("the container was not created on the step's host, box2")
	}
	// Found by ID from a step of another host (a worker that moves stops
	// its old container from the new host's step).
	if err := d.StartContainer(withHost(ctx, "box1"), id); err != nil {
		t.Fatal(err)
	}
	c, err := d.InspectContainer(ctx, id)
	if err != nil || c == nil || c.Host != "box2" || c.State != plan.ContainerRunning {
		t.Fatalf("inspect by ID: %+v, %v; want running on box2", c, err)
	}
}

func TestHostDockerFindsANameOnTheStepsHostFirst(t *testing.T) {
	d, _, _ := twoHosts(t)
	ctx := context.Background()
	// One name on two hosts: a worker standing in on box1 for box2's.
	for _, h := range []string{"box1", "box2"} {
		if _, err := d.CreateContainer(withHost(ctx, h), ContainerSpec{Name: "s-web-3", Image: "web:v1", Network: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"box1", "box2"} {
		c, err := d.InspectContainer(withHost(ctx, h), "s-web-3")
		if err != nil || c == nil || c.Host != h {
			t.Errorf("inspect s-web-3 for a step on %s: %+v, %v", h, c, err)
		}
	}
	all, err := d.ListContainers(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{}
	for _, c := range all {
		hosts[c.Host] = true
	}
	if len(all) != 2 || !hosts["box1"] || !hosts["box2"] {
		t.Errorf("list over hosts: %+v", all)
	}
}

func TestHostConsulSendsRegistrationsToTheirHostsAgent(t *testing.T) {
	agents := map[string]*world{"box1": newWorld(), "box2": newWorld()}
	addrs := map[string]string{"box1": "10.0.0.1:8500", "box2": "10.0.0.2:8500"}
	dial := func(addr string) (Consul, error) {
		for h, a := range addrs {
			if a == addr {
				return fakeConsul{agents[h]}, nil
			}
		}
		t.Fatalf("dial of an unknown agent %s", addr)
		return nil, nil
	}
	c := newHostConsul(fakeConsul{newWorld()}, dial, addrs, map[string]string{"s-web-1": "box1"}, time.Second)
	ctx := context.Background()
	if err := c.Register(ctx, Registration{ID: "s-web-2", Service: "web", Host: "box2"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := agents["box2"].regs["s-web-2"]; !ok {
		t.Fatal("the registration did not reach box2's agent")
	}
	// The same ID on both agents while a worker moves: the call's host
	// decides; without one, where it was last registered.
	if err := c.Register(ctx, Registration{ID: "s-web-1", Service: "web", Host: "box1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, Registration{ID: "s-web-1", Service: "web", Host: "box2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Deregister(withHost(ctx, "box1"), "s-web-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := agents["box1"].regs["s-web-1"]; ok {
		t.Error("s-web-1 is still on box1's agent")
	}
	if _, ok := agents["box2"].regs["s-web-1"]; !ok {
		t.Error("s-web-1 left box2's agent too")
	}
	if err := c.Deregister(ctx, "s-web-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := agents["box2"].regs["s-web-1"]; ok {
		t.Error("without a host, the deregistration did not go where s-web-1 was last registered (box2)")
	}
}

func TestAnImageCopyNotesItsProgressEvery32MB(t *testing.T) {
	var notes []string
	progress := copyProgress(func(s string) { notes = append(notes, s) }, "web:v1", "box2")
	for _, mb := range []int64{1, 10, 31, 33, 40, 63, 65, 130} {
		progress(mb << 20)
	}
	want := "[copying web:v1 to host box2: 33 MB so far copying web:v1 to host box2: 65 MB so far copying web:v1 to host box2: 130 MB so far]"
	if got := fmt.Sprint(notes); got != want {
		t.Errorf("notes %s, want %s", got, want)
	}
}
