//go:build e2e

package plan_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// This file starts a stack by hand, the way apply will, until apply exists:
// the same names, labels, registrations and meta, taken from package plan's
// contract (WorkerLabels, ConsulLabels, DesiredRegistration, ...). When
// apply lands, startByHand should become a call to it.

// e2eStack is the reference stack without its LB, named for the test, with
// Consul published on a port Docker picks.
func e2eStack(name string, replicas int, memory int64) *spec.Stack {
	return &spec.Stack{
		Version: 1,
		Name:    name,
		File:    "stack.yaml",
		Consul: spec.Consul{
			Image: images.Consul,
			Ports: []spec.PortMapping{{HostIP: "127.0.0.1", ContainerPort: 8500, Protocol: "tcp"}},
		},
		Services: []*spec.Service{{
			Name:      "web",
			Image:     images.PrimesV1,
			Replicas:  replicas,
			Port:      5000,
			Env:       []spec.EnvVar{{Name: "PRIME_DIGITS", Value: "8"}, {Name: "API_TOKEN", Value: "e2e-secret-value", Secret: true}},
			Check:     spec.Check{HTTP: "/healthz", Interval: 5 * time.Second, Timeout: 2 * time.Second},
			Update:    spec.Update{Parallelism: 4, Order: spec.OrderStartFirst, HealthyDeadline: time.Minute, OnFailure: spec.OnFailureRollback},
			Resources: spec.Resources{MemoryBytes: memory},
		}},
	}
}

// handStack is a stack started by startByHand.
type handStack struct {
	env        *e2e.Env
	desired    *spec.Stack
	consulAddr string
	consul     *api.Client
}

// startByHand starts desired's Consul and workers on the harness's network
// (named and labelled as the stack network), registers every worker and
// waits until all checks pass.
func startByHand(t testing.TB, e *e2e.Env, desired *spec.Stack) *handStack {
	t.Helper()
	h := &handStack{env: e, desired: desired}
	h.startConsul(t)
	for _, svc := range desired.Services {
		h.startWorkers(t, svc)
	}
	h.waitPassing(t)
	return h
}

func (h *handStack) startConsul(t testing.TB) {
	t.Helper()
	c := h.env.Start(e2e.ContainerSpec{
		Name:  "consul",
		Image: h.desired.Consul.Image,
		Cmd: []string{"agent", "-server", "-bootstrap-expect=1", "-client=0.0.0.0",
			"-data-dir=/tmp/consul", "-node=" + h.desired.ConsulContainerName(),
			"-hcl=performance { raft_multiplier = 1 }"},
		Ports:  []string{"8500"},
		Labels: plan.ConsulLabels(h.desired),
	})
	h.consulAddr = c.Addr("8500")
	client, err := api.NewClient(&api.Config{Address: h.consulAddr})
	if err != nil {
		t.Fatal(err)
	}
	h.consul = client
	deadline := time.Now().Add(time.Minute)
	for {
		leader, err := client.Status().Leader()
		if err == nil && leader != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consul elected no leader: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startWorkers creates, starts and registers the service's slots, a few at
// a time.
func (h *handStack) startWorkers(t testing.TB, svc *spec.Service) {
	t.Helper()
	sem := make(chan struct{}, 6)
	errs := make(chan error, svc.Replicas)
	var wg sync.WaitGroup
	for slot := 1; slot <= svc.Replicas; slot++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := h.startWorker(t.Context(), svc, slot); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func (h *handStack) startWorker(ctx context.Context, svc *spec.Service, slot int) error {
	s := h.desired
	name := s.WorkerName(svc.Name, slot)
	var env []string
	for _, v := range svc.Env {
		env = append(env, v.Name+"="+v.Value)
	}
	created, err := h.env.Docker.ContainerCreate(ctx,
		&container.Config{Image: svc.Image, Cmd: svc.Command, Env: env, Labels: plan.WorkerLabels(s, svc, slot)},
		&container.HostConfig{
			NetworkMode: container.NetworkMode(s.NetworkName()),
			Resources:   container.Resources{Memory: svc.Resources.MemoryBytes, NanoCPUs: svc.Resources.NanoCPUs},
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.NetworkName(): {}}},
		nil, name)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	if err := h.env.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	info, err := h.env.Docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	ip := info.NetworkSettings.Networks[s.NetworkName()].IPAddress
	return h.register(svc, slot, ip)
}

func (h *handStack) register(svc *spec.Service, slot int, ip string) error {
	want := plan.DesiredRegistration(h.desired, svc, slot, ip)
	err := h.consul.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: want.ID, Name: want.Service, Address: want.Address, Port: want.Port, Meta: want.Meta,
		Check: &api.AgentServiceCheck{
			HTTP:     fmt.Sprintf("http://%s:%d%s", ip, svc.Port, svc.Check.HTTP),
			Interval: svc.Check.Interval.String(),
			Timeout:  svc.Check.Timeout.String(),
		},
	})
	if err != nil {
		return fmt.Errorf("register %s: %w", want.ID, err)
	}
	return nil
}

func (h *handStack) waitPassing(t testing.TB) {
	t.Helper()
	want := 0
	for _, svc := range h.desired.Services {
		want += svc.Replicas
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		checks, err := h.consul.Agent().ChecksWithFilter(`ServiceID != "" and Status == "passing"`)
		if err == nil && len(checks) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d checks passing after 3m (err %v)", len(checks), want, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// observer reads the stack through the real adapters, addressing Consul as
// the CLI does (the published port of the stack's Consul container).
func (h *handStack) observer(t testing.TB) *plan.Observer {
	t.Helper()
	docker, err := dockerapi.New()
	if err != nil {
		t.Fatal(err)
	}
	consul := &consulapi.Pool{}
	t.Cleanup(func() {
		docker.Close()
		consul.Close()
	})
	return &plan.Observer{Docker: docker, DockerAt: docker.Endpoint(), Consul: consul.Dial}
}
