package plan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stackctl/stackctl/spec"
)

// DefaultHostTimeout is how long a plan waits for one host's engine (or one
// Consul server) before it calls the host unreachable: far above what a
// healthy engine takes to list a stack, and short enough that a host that
// is down does not hold up a plan of the others.
const DefaultHostTimeout = 5 * time.Second

// observeHosts is Observe for a stack with hosts: every host's engine and
// the control engine's images at once, then Consul. A host whose engine
// does not answer is recorded in its HostState, not returned as an error:
// the plan of the others, and what the lost host held, still matter most
// when a host is lost. Only a failure of the control engine, of a Consul
// that should answer, or of the caller's context is an error.
func (o *Observer) observeHosts(ctx context.Context, desired *spec.Stack) (*State, error) {
	for _, h := range desired.Hosts {
		if o.Hosts[h.Name] == nil {
			return nil, fmt.Errorf("observe: no Docker client for host %s", h.Name)
		}
	}
	state := &State{Stack: desired.Name, Contexts: map[string]string{}, Hosts: map[string]*HostState{}}
	hosts := make([]hostRead, len(desired.Hosts))
	var controlErr error
	run := parallel{}
	run.do(func() { state.Images, controlErr = o.readControl(ctx, desired) })
	for i, h := range desired.Hosts {
		run.do(func() { hosts[i] = o.readHost(ctx, desired, h) })
	}
	contextErr := hashContexts(desired, state.Contexts)
	run.wait()
	if err := ctx.Err(); err != nil {
		return nil, err // the caller gave up: no host is to blame
	}
	if controlErr != nil {
		return nil, controlErr
	}
	if contextErr != nil {
		return nil, contextErr
	}
	for _, r := range hosts {
		state.Hosts[r.host.Name] = r.host
		state.Containers = append(state.Containers, r.containers...)
	}
	sort.Slice(state.Containers, func(i, j int) bool {
		a, b := state.Containers[i], state.Containers[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Host < b.Host
	})
	consul, err := o.readCluster(ctx, desired, state)
	if err != nil {
		return nil, err
	}
	state.Consul = consul
	return state, nil
}

// readControl reads, on the control engine, the images the stack names:
// the ones a plan copies to the hosts that lack them.
func (o *Observer) readControl(ctx context.Context, desired *spec.Stack) ([]Image, error) {
	if o.Docker == nil {
		return nil, nil
	}
	refs := imageRefs(desired)
	errs := make([]error, len(refs))
	images := readImages(ctx, o.Docker, refs, errs)
	if err := firstOfEachCause(errs); err != nil {
		return nil, &EndpointError{Service: "Docker", Endpoint: o.DockerAt, Err: err}
	}
	return images, nil
}

// hostRead is what one host's engine showed: its state, and the stack's
// containers on it, each with its Host set.
type hostRead struct {
	host       *HostState
	containers []Container
}

// readHost reads one host's engine within the host timeout. Its failure is
// the host's Error, one line that says where the engine was addressed.
func (o *Observer) readHost(ctx context.Context, desired *spec.Stack, h *spec.Host) hostRead {
	timeout := o.hostTimeout()
	hostCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host := &HostState{Name: h.Name, Docker: h.Docker}
	engine, err := readEngine(hostCtx, o.Hosts[h.Name], desired)
	if err != nil {
		if errors.Is(hostCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		host.Error = fmt.Sprintf("Docker at %s: %s", h.Docker, strings.ReplaceAll(err.Error(), "\n", "; "))
		return hostRead{host: host}
	}
	for i := range engine.containers {
		engine.containers[i].Host = h.Name
	}
	host.Network, host.UnownedNetwork, host.Images = engine.network, engine.unownedNetwork, engine.images
	return hostRead{host: host, containers: engine.containers}
}

func (o *Observer) hostTimeout() time.Duration {
	if o.HostTimeout > 0 {
		return o.HostTimeout
	}
	return DefaultHostTimeout
}
