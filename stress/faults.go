package stress

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
)

// Engine is what stress does to the stack's containers: Docker's calls,
// implemented by internal/dockerapi and faked in tests.
type Engine interface {
	KillContainer(ctx context.Context, id string) error
	StartContainer(ctx context.Context, id string) error
	RestartContainer(ctx context.Context, id string, timeout time.Duration) error
	PauseContainer(ctx context.Context, id string) error
	UnpauseContainer(ctx context.Context, id string) error
	DisconnectNetwork(ctx context.Context, network, id string) error
	ConnectNetwork(ctx context.Context, network, id, ip string) error
	// InspectContainer returns nil for a container that does not exist.
	InspectContainer(ctx context.Context, idOrName string) (*plan.Container, error)
}

// Cutter cuts one container off from one address and back: the
// cut-consul fault makes the stack's Consul unable to reach a worker
// (its checks fail) while the LB still can. internal/netcut implements it
// where the engine is local; nil where it cannot be done.
type Cutter interface {
	Cut(ctx context.Context, from, ip string) error // from: a container ID
	Uncut(ctx context.Context, from, ip string) error
}

// Object is one of the stack's containers that a fault may hit.
type Object struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	IP   string `json:"ip,omitempty"` // on the stack network
}

// Objects are what faults may hit: nothing but the stack's own.
type Objects struct {
	Network string
	Workers []Object // running workers on the stack network, by name
	Consul  *Object  // the managed Consul server; nil for an external one
	LB      *Object
}

// ObjectsOf lists the stack's own containers in an observed state.
func ObjectsOf(network, consul, lb string, workers []string, state *plan.State) Objects {
	o := Objects{Network: network}
	for _, name := range workers {
		if c := state.Container(name); c != nil && c.Running() && c.IP(network) != "" {
			o.Workers = append(o.Workers, Object{Name: c.Name, ID: c.ID, IP: c.IP(network)})
		}
	}
	find := func(name string) *Object {
		if c := state.Container(name); c != nil && c.Running() {
			return &Object{Name: c.Name, ID: c.ID, IP: c.IP(network)}
		}
		return nil
	}
	o.Consul, o.LB = find(consul), find(lb)
	return o
}

// Hit is a fault as it ran: which containers it hit, when, and how it was
// undone.
type Hit struct {
	Index   int      `json:"-"` // the fault's number in the schedule
	Fault   Fault    `json:"-"`
	Spec    string   `json:"fault"` // the --chaos spelling
	Kind    Kind     `json:"kind"`
	Targets []string `json:"targets"`
	// At and Until are seconds after the start: when it was injected and
	// undone (Until is nil for an instant fault, or one never undone).
	At    float64  `json:"at_s"`
	Until *float64 `json:"until_s,omitempty"`
	// UndoneBy says what ended it: "schedule", "end of run", "interrupt",
	// "heal" (the apply of --heal), "docker" (a restart that finished).
	UndoneBy string `json:"undone_by,omitempty"`
	Error    string `json:"error,omitempty"`
	// Failures are the failures, by kind, of the requests sent while the
	// fault was on and in the AfterEffect that followed (whole seconds).
	Failures map[string]uint64 `json:"failures"`
}

// AfterEffect is how long after a fault ends its failures still count
// as its own: clients and the LB take that long to notice a change.
const AfterEffect = 2 * time.Second

// Injector injects faults into the stack's objects and undoes them. Every
// fault that lasts is recorded (Leftovers) before it is injected and
// forgotten only once undone, so that a stress run that dies leaves a
// record the next stackctl command undoes.
type Injector struct {
	Engine  Engine
	Cutter  Cutter // nil: cut-consul is refused
	Objects Objects
	Seed    uint64
	Record  *Leftovers
	Start   time.Time
	// StopTimeout is given to Docker's restart of Consul and the LB.
	StopTimeout time.Duration

	mu   sync.Mutex
	hits []*Hit
	busy map[string]bool // workers a lasting fault holds now
}

// Check refuses a schedule the stack cannot take: more workers than it
// runs, a Consul it does not run, cut-consul without a Cutter, stop-host on
// a stack without hosts.
func (in *Injector) Check(faults []Fault) error {
	var errs *multierror.Error
	for _, f := range faults {
		switch {
		case f.Kind.WorkerFault() && f.Count > len(in.Objects.Workers):
			errs = multierror.Append(errs, fmt.Errorf("%s: the stack runs %d workers on network %s", f, len(in.Objects.Workers), in.Objects.Network))
		case (f.Kind == RestartConsul || f.Kind == CutConsul) && in.Objects.Consul == nil:
			errs = multierror.Append(errs, fmt.Errorf("%s: the stack runs no Consul container of its own (consul.address points elsewhere), and stress touches nothing it does not own", f))
		case f.Kind == CutConsul && in.Cutter == nil:
			errs = multierror.Append(errs, fmt.Errorf("%s: cutting a worker off from Consul alone needs root on the Docker host itself (nsenter and ip), and this run has not", f))
		case f.Kind == RestartLB && in.Objects.LB == nil:
			errs = multierror.Append(errs, fmt.Errorf("%s: the stack's LB is not running", f))
		case f.Kind == StopHost:
			errs = multierror.Append(errs, fmt.Errorf("%s: the stack has no hosts: section; stop-host needs a stack across several Docker hosts", f))
		}
	}
	return errs.ErrorOrNil()
}

func (in *Injector) since() float64 { return time.Since(in.Start).Seconds() }

// Inject runs fault number i now. For a lasting fault it returns once the
// fault is in place; Undo ends it.
func (in *Injector) Inject(ctx context.Context, i int, f Fault) *Hit {
	h := &Hit{Index: i, Fault: f, Spec: f.String(), Kind: f.Kind, Targets: []string{}, At: in.since()}
	in.mu.Lock()
	in.hits = append(in.hits, h)
	in.mu.Unlock()
	var targets []string
	var err error
	switch {
	case f.Kind.WorkerFault():
		targets, err = in.injectWorkers(ctx, i, f)
	case f.Kind == RestartConsul || f.Kind == RestartLB:
		obj := in.Objects.LB
		if f.Kind == RestartConsul {
			obj = in.Objects.Consul
		}
		targets = []string{obj.Name}
		err = in.Engine.RestartContainer(ctx, obj.ID, in.StopTimeout)
	default:
		err = fmt.Errorf("%s cannot be injected into this stack", f)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if f.Kind == RestartConsul || f.Kind == RestartLB {
		// A restart lasts until Docker has the container running again.
		until := in.since()
		h.Until, h.UndoneBy = &until, "docker"
	}
	h.Targets = append(h.Targets, targets...)
	if err != nil {
		h.Error = err.Error()
	}
	cp := *h
	return &cp
}

// injectWorkers puts f on workers picked from the seed, returning those
// it hit.
func (in *Injector) injectWorkers(ctx context.Context, i int, f Fault) ([]string, error) {
	in.mu.Lock()
	if in.busy == nil {
		in.busy = map[string]bool{}
	}
	names := make([]string, len(in.Objects.Workers))
	for j, w := range in.Objects.Workers {
		names[j] = w.Name
	}
	victims := Victims(in.Seed, i, names, in.busy, f.Count)
	for _, v := range victims {
		in.busy[v] = true
	}
	in.mu.Unlock()
	var errs *multierror.Error
	if len(victims) < f.Count {
		errs = multierror.Append(errs, fmt.Errorf("only %d of %d workers were free of other faults", len(victims), f.Count))
	}
	// Record first: a fault is never in place without a record of it.
	var acts []Active
	for _, v := range victims {
		w := in.worker(v)
		a := Active{Kind: f.Kind, Container: w.Name, ID: w.ID, Network: in.Objects.Network, IP: w.IP, Fault: i}
		if f.Kind == CutConsul {
			a.From = in.Objects.Consul.ID
		}
		acts = append(acts, a)
	}
	if err := in.Record.Add(ctx, acts...); err != nil {
		in.release(victims)
		return nil, fmt.Errorf("not injected: cannot record it first: %w", err)
	}
	var hit []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range acts {
		wg.Go(func() {
			err := in.apply(ctx, a)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = multierror.Append(errs, fmt.Errorf("%s: %w", a.Container, err))
				return
			}
			hit = append(hit, a.Container)
		})
	}
	wg.Wait()
	slices.Sort(hit)
	return hit, errs.ErrorOrNil()
}

func (in *Injector) worker(name string) Object {
	for _, w := range in.Objects.Workers {
		if w.Name == name {
			return w
		}
	}
	return Object{Name: name}
}

func (in *Injector) release(names []string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, n := range names {
		delete(in.busy, n)
	}
}

// apply puts one fault on one worker in place.
func (in *Injector) apply(ctx context.Context, a Active) error {
	switch a.Kind {
	case Kill:
		return in.Engine.KillContainer(ctx, a.ID)
	case Pause:
		return in.Engine.PauseContainer(ctx, a.ID)
	case Disconnect:
		return in.Engine.DisconnectNetwork(ctx, a.Network, a.ID)
	case CutConsul:
		return in.Cutter.Cut(ctx, a.From, a.IP)
	}
	return fmt.Errorf("no worker fault %q", a.Kind)
}

// Undo ends the faults of fault number i (by why) and forgets their
// records. What is undone already (a killed worker an apply replaced) is
// left alone.
func (in *Injector) Undo(ctx context.Context, i int, why string) error {
	acts := in.Record.Of(i)
	if len(acts) == 0 {
		return nil
	}
	if err := UndoAll(ctx, in.Engine, in.Cutter, acts); err != nil {
		return err
	}
	in.mu.Lock()
	for _, h := range in.hits {
		if h.Index == i && h.Until == nil {
			until := in.since()
			h.Until, h.UndoneBy = &until, why
		}
	}
	in.mu.Unlock()
	in.release(containerNames(acts))
	return in.Record.Remove(ctx, acts...)
}

// Healed marks the kills not yet ended as ended at at by the heal's apply,
// which started or replaced the killed workers.
func (in *Injector) Healed(at float64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, h := range in.hits {
		if h.Kind == Kill && h.Until == nil && h.Error == "" {
			t := at
			h.Until, h.UndoneBy = &t, "heal"
		}
	}
}

// UndoEvery ends every fault still on, for why.
func (in *Injector) UndoEvery(ctx context.Context, why string) error {
	var errs *multierror.Error
	for _, h := range in.Hits() {
		if err := in.Undo(ctx, h.Index, why); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("%s: %w", h.Spec, err))
		}
	}
	return errs.ErrorOrNil()
}

// Hits returns the faults as they ran, in order.
func (in *Injector) Hits() []Hit {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Hit, len(in.hits))
	for i, h := range in.hits {
		out[i] = *h
	}
	return out
}

func containerNames(acts []Active) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.Container
	}
	return out
}

// UndoAll ends each fault in acts, in parallel, leaving alone what is
// already undone (a worker running again, reconnected, unpaused). A worker
// that is gone (removed by an apply meanwhile) has nothing left to undo.
func UndoAll(ctx context.Context, eng Engine, cut Cutter, acts []Active) error {
	var errs *multierror.Error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range acts {
		wg.Go(func() {
			if err := undoOne(ctx, eng, cut, a); err != nil {
				mu.Lock()
				errs = multierror.Append(errs, fmt.Errorf("%s %s: %w", a.Kind, a.Container, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs.ErrorOrNil()
}

func undoOne(ctx context.Context, eng Engine, cut Cutter, a Active) error {
	c, err := eng.InspectContainer(ctx, a.ID)
	if err != nil {
		return err
	}
	if c == nil {
		return nil // removed meanwhile (an apply replaced it): nothing to undo
	}
	switch a.Kind {
	case Kill:
		if c.State == plan.ContainerExited || c.State == plan.ContainerCreated || c.State == plan.ContainerDead {
			return eng.StartContainer(ctx, a.ID)
		}
	case Pause:
		if c.State == plan.ContainerPaused {
			return eng.UnpauseContainer(ctx, a.ID)
		}
	case Disconnect:
		if _, on := c.Networks[a.Network]; !on {
			return eng.ConnectNetwork(ctx, a.Network, a.ID, a.IP)
		}
	case CutConsul:
		if cut == nil {
			return fmt.Errorf("cannot undo a cut from Consul here: run stackctl on the Docker host as root")
		}
		return cut.Uncut(ctx, a.From, a.IP)
	}
	return nil
}
