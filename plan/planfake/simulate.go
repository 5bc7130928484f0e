package planfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// World is a fake engine and Consul agent side by side.
type World struct {
	Docker *Docker
	Consul *Consul
	nextIP int
}

// NewWorld returns an empty world.
func NewWorld() *World { return &World{Docker: NewDocker(), Consul: NewConsul(), nextIP: 2} }

// Observer reads this world.
func (w *World) Observer() *plan.Observer {
	return &plan.Observer{
		Docker:   w.Docker,
		DockerAt: plan.Endpoint{Address: "unix:///fake/docker.sock", Via: "fake"},
		Consul:   w.Consul.Dial,
	}
}

// Observe reads this world for a stack.
func (w *World) Observe(desired *spec.Stack) (*plan.State, error) {
	return w.Observer().Observe(context.Background(), desired)
}

// Running returns a world in which desired is fully applied, every check
// passing.
func Running(desired *spec.Stack) *World {
	w := NewWorld()
	w.AddImages(desired)
	w.Simulate(desired, plan.Compute(desired, &plan.State{Stack: desired.Name}))
	return w
}

// AddImages puts every image the stack names in the engine, as `make images`
// would: not built by stackctl, so without a context label.
func (w *World) AddImages(desired *spec.Stack) {
	refs := []string{desired.Consul.Image}
	if desired.LB != nil {
		refs = append(refs, desired.LB.Image)
	}
	if desired.Reconcile != nil {
		refs = append(refs, desired.Reconcile.Image)
	}
	for _, svc := range desired.Services {
		refs = append(refs, svc.Image)
	}
	for _, ref := range refs {
		if ref != "" {
			w.Docker.PutImage(plan.Image{Ref: ref, ID: FakeImageID(ref, "")})
		}
	}
}

// FakeImageID is the ID the fake gives an image: derived from its reference
// and build context so that a rebuild from a changed context changes it.
func FakeImageID(ref, context string) string {
	sum := sha256.Sum256([]byte(ref + "\x00" + context))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Simulate plays a plan the way apply is meant to: every step succeeds,
// new containers run, registrations pass. It runs the steps one by one in
// the plan's order, which puts every step after those it depends on. It is the reference behaviour
// that a plan's steps promise; apply's tests can compare against it.
func (w *World) Simulate(desired *spec.Stack, p *plan.Plan) {
	for _, st := range p.Steps {
		w.step(desired, st)
	}
}

func (w *World) step(s *spec.Stack, st plan.Step) {
	switch st.Kind {
	case plan.KindNetwork:
		w.Docker.PutNetwork(plan.Network{ID: "net-" + st.Target, Name: st.Target, Driver: "bridge", Labels: plan.NetworkLabels(s)})
	case plan.KindImage:
		w.image(s, st)
	case plan.KindConsul, plan.KindLB, plan.KindReconcile:
		w.container(s, st)
	case plan.KindWorker:
		w.worker(s, st)
	case plan.KindRegistration:
		w.registration(s, st)
	case plan.KindTemplate:
		if st.Action == plan.ActionDestroy {
			w.Consul.Delete(st.Target)
			return
		}
		w.Consul.Put(st.Target, []byte(s.LB.TemplateSource))
	}
}

func (w *World) image(s *spec.Stack, st plan.Step) {
	svc := s.Service(st.Service)
	if st.Action != plan.ActionBuild || svc == nil {
		w.Docker.PutImage(plan.Image{Ref: st.Target, ID: FakeImageID(st.Target, "")})
		return
	}
	ctx := ""
	if svc.Build != nil {
		ctx = svc.Build.Context
	}
	hash := ""
	for _, d := range st.Diff {
		if d.Field == "context" {
			hash = d.After
		}
	}
	w.Docker.PutImage(plan.Image{Ref: st.Target, ID: FakeImageID(st.Target, ctx+hash), Labels: plan.ImageBuildLabels(s, hash)})
}

func (w *World) container(s *spec.Stack, st plan.Step) {
	switch st.Action {
	case plan.ActionDestroy:
		w.Docker.RemoveContainer(st.Target)
	case plan.ActionStart:
		w.Docker.UpdateContainer(st.Target, func(c *plan.Container) { c.State = plan.ContainerRunning })
	default:
		w.Docker.removeID(st.Replaces)
		labels, image, ports := plan.ConsulLabels(s), s.Consul.Image, s.Consul.Ports
		switch st.Kind {
		case plan.KindLB:
			labels, image, ports = plan.LBLabels(s), s.LB.Image, s.LB.Ports
		case plan.KindReconcile:
			labels, image, ports = plan.ReconcileLabels(s), s.Reconcile.Image, nil
		}
		c := w.newContainer(s, st.Target, labels, image)
		for _, p := range ports {
			c.Ports = append(c.Ports, plan.PublishedPort{HostIP: orLoopback(p.HostIP), HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: "tcp"})
		}
		w.Docker.PutContainer(c)
	}
}

func (w *World) worker(s *spec.Stack, st plan.Step) {
	svc := s.Service(st.Service)
	switch st.Action {
	case plan.ActionDestroy:
		w.Docker.RemoveContainer(st.Target)
	case plan.ActionStart:
		w.Docker.UpdateContainer(st.Target, func(c *plan.Container) { c.State = plan.ContainerRunning })
		w.register(s, svc, st.Slot)
	case plan.ActionCreate, plan.ActionReplace:
		// The replaced container may have another name (a kept one
		// paired to the slot): apply removes it once the apply succeeds.
		w.Docker.removeID(st.Replaces)
		c := w.newContainer(s, st.Target, plan.WorkerLabels(s, svc, st.Slot), svc.Image)
		w.Docker.PutContainer(c)
		w.register(s, svc, st.Slot) // a worker step owns its registration
	}
}

func (w *World) registration(s *spec.Stack, st plan.Step) {
	if st.Action == plan.ActionDeregister {
		w.Consul.Deregister(st.Target)
		return
	}
	w.register(s, s.Service(st.Service), st.Slot)
}

func (w *World) register(s *spec.Stack, svc *spec.Service, slot int) {
	c, _ := w.Docker.Container(s.WorkerName(svc.Name, slot))
	r := plan.DesiredRegistration(s, svc, slot, c.IP(s.NetworkName()))
	r.Status = plan.CheckPassing
	w.Consul.Register(r)
}

func (w *World) newContainer(s *spec.Stack, name string, labels map[string]string, image string) plan.Container {
	imageID := FakeImageID(image, "")
	if img, err := w.Docker.InspectImage(context.Background(), image); err == nil && img != nil {
		imageID = img.ID
	}
	ip := fmt.Sprintf("172.20.%d.%d", w.nextIP/250, w.nextIP%250+2)
	w.nextIP++
	return plan.Container{
		ID:       "c-" + strings.ReplaceAll(name, "-", "") + "-" + strconv.Itoa(w.nextIP),
		Name:     name,
		Labels:   labels,
		State:    plan.ContainerRunning,
		ImageRef: image,
		ImageID:  imageID,
		Networks: map[string]string{s.NetworkName(): ip},
	}
}

func orLoopback(ip string) string {
	if ip == "" {
		return "127.0.0.1"
	}
	return ip
}
