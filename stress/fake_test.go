package stress

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// fakeEngine keeps containers in memory: their state and networks.
type fakeEngine struct {
	mu         sync.Mutex
	containers map[string]*plan.Container // by ID
	calls      []string
}

func newFakeEngine(network string, names ...string) *fakeEngine {
	e := &fakeEngine{containers: map[string]*plan.Container{}}
	for i, n := range names {
		id := fmt.Sprintf("id-%s", n)
		e.containers[id] = &plan.Container{ID: id, Name: n, State: plan.ContainerRunning,
			Networks: map[string]string{network: fmt.Sprintf("10.0.0.%d", i+2)}}
	}
	return e
}

func (e *fakeEngine) objects(network string) Objects {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := Objects{Network: network}
	for _, c := range e.containers {
		o.Workers = append(o.Workers, Object{Name: c.Name, ID: c.ID, IP: c.Networks[network]})
	}
	return o
}

func (e *fakeEngine) do(op, id string, f func(c *plan.Container) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, op+" "+id)
	c, ok := e.containers[id]
	if !ok {
		return fmt.Errorf("no such container %s", id)
	}
	return f(c)
}

func (e *fakeEngine) state(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.containers[id].State
}

func (e *fakeEngine) on(id, network string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.containers[id].Networks[network]
	return ok
}

func (e *fakeEngine) KillContainer(_ context.Context, id string) error {
	return e.do("kill", id, func(c *plan.Container) error { c.State = plan.ContainerExited; return nil })
}

func (e *fakeEngine) StartContainer(_ context.Context, id string) error {
	return e.do("start", id, func(c *plan.Container) error { c.State = plan.ContainerRunning; return nil })
}

func (e *fakeEngine) RestartContainer(_ context.Context, id string, _ time.Duration) error {
	return e.do("restart", id, func(c *plan.Container) error { c.State = plan.ContainerRunning; return nil })
}

func (e *fakeEngine) PauseContainer(_ context.Context, id string) error {
	return e.do("pause", id, func(c *plan.Container) error { c.State = plan.ContainerPaused; return nil })
}

func (e *fakeEngine) UnpauseContainer(_ context.Context, id string) error {
	return e.do("unpause", id, func(c *plan.Container) error {
		if c.State != plan.ContainerPaused {
			return fmt.Errorf("%s is not paused", id)
		}
		c.State = plan.ContainerRunning
		return nil
	})
}

func (e *fakeEngine) DisconnectNetwork(_ context.Context, network, id string) error {
	return e.do("disconnect", id, func(c *plan.Container) error { delete(c.Networks, network); return nil })
}

func (e *fakeEngine) ConnectNetwork(_ context.Context, network, id, ip string) error {
	return e.do("connect", id, func(c *plan.Container) error { c.Networks[network] = ip; return nil })
}

func (e *fakeEngine) InspectContainer(_ context.Context, id string) (*plan.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.containers[id]
	if !ok {
		return nil, nil
	}
	cp := *c
	cp.Networks = map[string]string{}
	for k, v := range c.Networks {
		cp.Networks[k] = v
	}
	return &cp, nil
}

// fakeStack is always whole and never drifted; it counts applies.
type fakeStack struct {
	mu      sync.Mutex
	applies []string
}

func (s *fakeStack) Whole(context.Context) (bool, string, error)   { return true, "", nil }
func (s *fakeStack) Drifted(context.Context) (bool, string, error) { return false, "", nil }
func (s *fakeStack) Apply(_ context.Context, file string) *ApplyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applies = append(s.applies, file)
	return &ApplyRecord{File: file}
}
