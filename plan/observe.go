package plan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

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

	// Hosts reads each host's engine, by host name, for a stack with hosts
	// (docs/multihost.md). Docker is then the control engine, where images
	// are built, and only those images and nothing else are read from it;
	// it may be nil. Hosts is unused for a stack without hosts.
	Hosts map[string]DockerReader
	// HostTimeout bounds the read of one host's engine and each attempt at
	// one of its Consul servers, so that a host that does not answer costs
	// a plan this long and no more; 0 means DefaultHostTimeout.
	HostTimeout time.Duration
}

// Observe reads everything Compute needs, in parallel: Docker containers,
// network and images, build contexts, and Consul registrations and keys.
// Consul is not contacted when the stack's managed Consul container is
// missing or stopped: its state is then empty, not an error. A failure to
// reach Docker, or a Consul that should be up, is an *EndpointError and no
// state is returned.
func (o *Observer) Observe(ctx context.Context, desired *spec.Stack) (*State, error) {
	if desired.MultiHost() {
		return o.observeHosts(ctx, desired)
	}
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
			consulEarly = o.readConsul(ctx, desired, early, agentRegistrations)
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
		res = o.readConsul(ctx, desired, at, agentRegistrations)
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

// readDocker reads the one engine of a stack without hosts and hashes
// build contexts at the same time.
func (o *Observer) readDocker(ctx context.Context, desired *spec.Stack) (*State, error) {
	state := &State{Stack: desired.Name, Contexts: map[string]string{}}
	var engine engineState
	var engineErr error
	run := parallel{}
	run.do(func() { engine, engineErr = readEngine(ctx, o.Docker, desired) })
	contextErr := hashContexts(desired, state.Contexts)
	run.wait()
	if engineErr != nil {
		return nil, &EndpointError{Service: "Docker", Endpoint: o.DockerAt, Err: engineErr}
	}
	if contextErr != nil {
		return nil, contextErr
	}
	state.Containers, state.Network, state.UnownedNetwork, state.Images =
		engine.containers, engine.network, engine.unownedNetwork, engine.images
	return state, nil
}

// engineState is what one engine holds of a stack.
type engineState struct {
	containers     []Container // sorted by name
	network        *Network
	unownedNetwork bool
	images         []Image // sorted by ref
}

// readEngine lists the stack's containers and inspects its network and
// every image it names, all at once.
func readEngine(ctx context.Context, docker DockerReader, desired *spec.Stack) (engineState, error) {
	var out engineState
	refs := imageRefs(desired)
	errs := make([]error, 2+len(refs)) // one slot per request, in a fixed order
	run := parallel{}
	run.do(func() {
		cs, err := docker.ListContainers(ctx, desired.Name)
		out.containers, errs[0] = cs, wrap("list containers", err)
	})
	run.do(func() {
		n, err := docker.InspectNetwork(ctx, desired.NetworkName())
		out.network, errs[1] = n, wrap("inspect network "+desired.NetworkName(), err)
	})
	run.do(func() { out.images = readImages(ctx, docker, refs, errs[2:]) })
	run.wait()
	if err := firstOfEachCause(errs); err != nil {
		return engineState{}, err
	}
	sort.Slice(out.containers, func(i, j int) bool { return out.containers[i].Name < out.containers[j].Name })
	if out.network != nil && out.network.Labels[spec.LabelStack] != desired.Name {
		out.network, out.unownedNetwork = nil, true
	}
	return out, nil
}

// readImages inspects every ref at once and returns the images found, in
// the order of refs; errs[i] is set to the failure to inspect refs[i].
func readImages(ctx context.Context, docker DockerReader, refs []string, errs []error) []Image {
	found := make([]*Image, len(refs))
	run := parallel{}
	for i, ref := range refs {
		run.do(func() {
			img, err := docker.InspectImage(ctx, ref)
			found[i], errs[i] = img, wrap("inspect image "+ref, err)
		})
	}
	run.wait()
	var images []Image
	for _, img := range found {
		if img != nil {
			images = append(images, *img)
		}
	}
	return images
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

// registrationLister reads the stack's registrations from a Consul client:
// from its agent on a single engine, from the catalog with hosts.
type registrationLister func(ctx context.Context, c ConsulReader, stack string) ([]Registration, error)

func agentRegistrations(ctx context.Context, c ConsulReader, stack string) ([]Registration, error) {
	return c.Registrations(ctx, stack)
}

// readConsul reads registrations, the stack's KV keys and the Raft leader
// and peers at once.
func (o *Observer) readConsul(ctx context.Context, desired *spec.Stack, at Endpoint, list registrationLister) consulResult {
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
		regs, err := list(ctx, client, desired.Name)
		if err != nil {
			errs[0] = wrap("list registrations", err)
			return
		}
		sort.Slice(regs, func(i, j int) bool { // one ID may be on two nodes while a slot moves
			if regs[i].ID != regs[j].ID {
				return regs[i].ID < regs[j].ID
			}
			return regs[i].Host < regs[j].Host
		})
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
