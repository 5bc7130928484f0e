package plan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/stackctl/stackctl/spec"
)

// DockerReader is what plan reads from the Docker engine.
type DockerReader interface {
	// ListContainers returns every container, running or not, labelled
	// io.stackctl.stack=<stack>.
	ListContainers(ctx context.Context, stack string) ([]Container, error)
	// InspectNetwork returns the named network, or nil when there is none.
	InspectNetwork(ctx context.Context, name string) (*Network, error)
	// InspectImage returns the local image a reference names, or nil when
	// there is none.
	InspectImage(ctx context.Context, ref string) (*Image, error)
}

// ConsulReader is what plan reads from Consul.
type ConsulReader interface {
	// Registrations returns the service instances registered with meta
	// stackctl_stack=<stack>, each with its checks' aggregated status.
	Registrations(ctx context.Context, stack string) ([]Registration, error)
	// KVGet returns a key's value; ok is false when the key does not exist.
	KVGet(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Leader is the address of the Raft leader of the agent's datacenter,
	// "" while there is none.
	Leader(ctx context.Context) (string, error)
	// Peers are the addresses of the datacenter's Raft peers.
	Peers(ctx context.Context) ([]string, error)
}

// ConsulDialer returns a ConsulReader for the Consul HTTP API at addr
// ("host:port", or a URL with scheme).
type ConsulDialer func(addr string) (ConsulReader, error)

// Endpoint is where a service was addressed and why there, for messages
// like "Consul at 127.0.0.1:8500 (port mapping of consul in stack.yaml)".
type Endpoint struct {
	Address string `json:"address"`
	Via     string `json:"via"`
}

func (e Endpoint) String() string { return e.Address + " (" + e.Via + ")" }

// EndpointError is a failure to read Docker or Consul. It names what could
// not be read, where it was addressed and how that address was chosen.
type EndpointError struct {
	Service  string // "Docker" or "Consul"
	Endpoint Endpoint
	Err      error
	Hint     string // what to look at next, if anything is known
}

func (e *EndpointError) Error() string {
	msg := fmt.Sprintf("%s at %s: %v", e.Service, e.Endpoint, e.Err)
	if e.Hint != "" {
		msg += "\n" + e.Hint
	}
	return msg
}

func (e *EndpointError) Unwrap() error { return e.Err }

// Observer reads a stack's live state. It never changes anything.
type Observer struct {
	Docker DockerReader
	// DockerAt says where Docker is, for error messages.
	DockerAt Endpoint
	// Consul dials the Consul API; ConsulAddr, when set, overrides the
	// stack's address (the CLI passes CONSUL_HTTP_ADDR).
	Consul     ConsulDialer
	ConsulAddr string
}

// Observe reads everything Compute needs, in parallel: Docker containers,
// network and images, build contexts, and Consul registrations and keys.
// Consul is not contacted when the stack's managed Consul container is
// missing or stopped: its state is then empty, not an error. A failure to
// reach Docker, or a Consul that should be up, is an *EndpointError and no
// state is returned.
func (o *Observer) Observe(ctx context.Context, desired *spec.Stack) (*State, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Consul is usually addressable from the stack file alone; ask it at the
	// same time as Docker and drop the answer if Docker says it is not up.
	early, haveEarly := ConsulEndpoint(desired, o.ConsulAddr, nil)
	var consulEarly consulResult
	var wg sync.WaitGroup
	if haveEarly == nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			consulEarly = o.readConsul(ctx, desired, early)
		}()
	}
	state, err := o.readDocker(ctx, desired)
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	wg.Wait()

	if !consulWanted(desired, state) {
		return state, nil
	}
	at, err := ConsulEndpoint(desired, o.ConsulAddr, state.Container(desired.ConsulContainerName()))
	if err != nil {
		return nil, &EndpointError{Service: "Consul", Endpoint: Endpoint{Address: "(none)", Via: "stack file"}, Err: err}
	}
	res := consulEarly
	if haveEarly != nil || at.Address != early.Address {
		res = o.readConsul(ctx, desired, at)
	}
	if res.err != nil {
		var ee *EndpointError
		if desired.Consul.Managed() && errors.As(res.err, &ee) {
			name := desired.ConsulContainerName()
			ee.Hint = fmt.Sprintf("The container %s is running but Consul does not answer: see `docker logs %s`.", name, name)
		}
		return nil, res.err
	}
	state.Consul = res.state
	return state, nil
}

// consulWanted reports whether Consul should answer: always for an external
// agent, and for a managed one only while its container runs.
func consulWanted(desired *spec.Stack, state *State) bool {
	if !desired.Consul.Managed() {
		return true
	}
	c := state.Container(desired.ConsulContainerName())
	return c != nil && c.Labels[spec.LabelRole] == RoleConsul && c.Running()
}

// readDocker lists containers, inspects the network and every image the
// stack names, and hashes build contexts, all at once.
func (o *Observer) readDocker(ctx context.Context, desired *spec.Stack) (*State, error) {
	state := &State{Stack: desired.Name, Contexts: map[string]string{}}
	refs := imageRefs(desired)
	images := make([]*Image, len(refs))
	errs := make([]error, 2+len(refs)) // one slot per request, in a fixed order
	run := parallel{}
	run.do(func() {
		cs, err := o.Docker.ListContainers(ctx, desired.Name)
		state.Containers, errs[0] = cs, wrap("list containers", err)
	})
	run.do(func() {
		n, err := o.Docker.InspectNetwork(ctx, desired.NetworkName())
		state.Network, errs[1] = n, wrap("inspect network "+desired.NetworkName(), err)
	})
	for i, ref := range refs {
		run.do(func() {
			img, err := o.Docker.InspectImage(ctx, ref)
			images[i], errs[2+i] = img, wrap("inspect image "+ref, err)
		})
	}
	contextErr := hashContexts(desired, state.Contexts)
	run.wait()
	if err := firstOfEachCause(errs); err != nil {
		return nil, &EndpointError{Service: "Docker", Endpoint: o.DockerAt, Err: err}
	}
	if contextErr != nil {
		return nil, contextErr
	}
	for _, img := range images {
		if img != nil {
			state.Images = append(state.Images, *img)
		}
	}
	sort.Slice(state.Containers, func(i, j int) bool { return state.Containers[i].Name < state.Containers[j].Name })
	if state.Network != nil && state.Network.Labels[spec.LabelStack] != desired.Name {
		state.Network, state.UnownedNetwork = nil, true
	}
	return state, nil
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

// firstOfEachCause joins errors, keeping only the first of those with the
// same cause: an engine that is down fails every request the same way, and
// saying so once is enough.
func firstOfEachCause(errs []error) error {
	seen := map[string]bool{}
	var out []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		cause := err.Error()
		if u := errors.Unwrap(err); u != nil {
			cause = u.Error()
		}
		if !seen[cause] {
			seen[cause] = true
			out = append(out, err)
		}
	}
	return errors.Join(out...)
}

func hashContexts(desired *spec.Stack, out map[string]string) error {
	for _, svc := range desired.Services {
		if svc.Build == nil {
			continue
		}
		h, err := ContextHash(svc.Build.Context)
		if err != nil {
			return fmt.Errorf("service %s: %w", svc.Name, err)
		}
		out[svc.Name] = h
	}
	return nil
}

// imageRefs are the distinct image references the stack runs, sorted.
func imageRefs(s *spec.Stack) []string {
	seen := map[string]bool{}
	for _, svc := range s.Services {
		seen[svc.Image] = true
	}
	if s.Consul.Managed() && s.Consul.Image != "" {
		seen[s.Consul.Image] = true
	}
	if s.LB != nil {
		seen[s.LB.Image] = true
	}
	if s.Reconcile != nil {
		seen[s.Reconcile.Image] = true
	}
	refs := make([]string, 0, len(seen))
	for ref := range seen {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	return refs
}

type consulResult struct {
	state ConsulState
	err   error
}

// readConsul reads registrations, the stack's KV keys and the Raft leader
// and peers at once.
func (o *Observer) readConsul(ctx context.Context, desired *spec.Stack, at Endpoint) consulResult {
	fail := func(err error) consulResult {
		return consulResult{err: &EndpointError{Service: "Consul", Endpoint: at, Err: err}}
	}
	client, err := o.Consul(at.Address)
	if err != nil {
		return fail(err)
	}
	st := ConsulState{Address: at.Address, Via: at.Via, Reached: true}
	keys := []struct {
		key string
		dst **string
	}{
		{KVLBTemplate, &st.LBTemplate},
		{KVLBStatus, &st.LBStatus},
		{KVJournal, &st.Journal},
		{KVReconcileApplied, &st.ReconcileApplied},
		{KVReconcileHistory, &st.ReconcileHistory},
	}
	errs := make([]error, len(keys)+3)
	run := parallel{}
	run.do(func() {
		leader, err := client.Leader(ctx)
		st.Leader, errs[len(keys)+1] = leader, wrap("read the raft leader", err)
	})
	run.do(func() {
		peers, err := client.Peers(ctx)
		sort.Strings(peers)
		st.Peers, errs[len(keys)+2] = peers, wrap("read the raft peers", err)
	})
	run.do(func() {
		regs, err := client.Registrations(ctx, desired.Name)
		if err != nil {
			errs[0] = wrap("list registrations", err)
			return
		}
		sort.Slice(regs, func(i, j int) bool { return regs[i].ID < regs[j].ID })
		st.Registrations = regs
	})
	for i, k := range keys {
		run.do(func() {
			key := desired.KVPrefix() + k.key
			v, ok, err := client.KVGet(ctx, key)
			if err != nil {
				errs[i+1] = wrap("get "+key, err)
				return
			}
			if ok {
				s := string(v)
				*k.dst = &s
			}
		})
	}
	run.wait()
	if err := firstOfEachCause(errs); err != nil {
		return fail(err)
	}
	return consulResult{state: st}
}

// parallel runs functions in goroutines and waits for all of them.
type parallel struct{ wg sync.WaitGroup }

func (p *parallel) do(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

func (p *parallel) wait() { p.wg.Wait() }
