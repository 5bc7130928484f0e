// Package plan reads what a stack has running (the observed State), compares
// it with the stack file (the desired spec.Stack) and produces a Plan: plain
// data, ordered steps grouped so that apply can run each group in parallel.
//
// Docker and Consul are reached only through the small DockerReader and
// ConsulReader interfaces below; internal/dockerapi and internal/consulapi
// implement them, plan/planfake fakes them in memory.
package plan

import "time"

// State is what a stack has live, as seen through its ownership labels. Only
// objects labelled io.stackctl.stack=<Stack> (or registered with meta
// stackctl_stack=<Stack>) are in it; anything else is never observed.
type State struct {
	Stack   string   `json:"stack"`
	Network *Network `json:"network,omitempty"` // nil: the stack network is missing
	// UnownedNetwork is set when a network with the stack network's name
	// exists but is not labelled for the stack: plan refuses to touch it.
	UnownedNetwork bool        `json:"unowned_network,omitempty"`
	Containers     []Container `json:"containers"`       // sorted by name
	Images         []Image     `json:"images,omitempty"` // images present locally, sorted by ref
	// Contexts maps a service with a build section to the hash of its build
	// context on disk (see ContextHash); the image records the hash it was
	// built from, so a changed context shows as a rebuild.
	Contexts map[string]string `json:"contexts,omitempty"`
	Consul   ConsulState       `json:"consul"`
	// Hosts is, for a stack with hosts, what each host's engine showed, by
	// host name (docs/multihost.md); nil on a single engine, whose network
	// and images are Network and Images above.
	Hosts map[string]*HostState `json:"hosts,omitempty"`
}

// HostState is what one host's engine showed.
type HostState struct {
	Name string `json:"name"`
	// Docker is the engine's endpoint as the stack file gives it.
	Docker string `json:"docker"`
	// Error says why the engine could not be read; "" when it was.
	Error          string   `json:"error,omitempty"`
	Network        *Network `json:"network,omitempty"`
	UnownedNetwork bool     `json:"unowned_network,omitempty"`
	Images         []Image  `json:"images,omitempty"`
}

// Reached reports whether the host's engine answered.
func (h *HostState) Reached() bool { return h.Error == "" }

// Network is the stack's Docker network.
type Network struct {
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Driver string            `json:"driver,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Container states as Docker reports them.
const (
	ContainerCreated    = "created"
	ContainerRunning    = "running"
	ContainerPaused     = "paused"
	ContainerRestarting = "restarting"
	ContainerExited     = "exited"
	ContainerDead       = "dead"
	ContainerRemoving   = "removing"
)

// Container is one container labelled for the stack.
type Container struct {
	ID   string `json:"id"`
	Name string `json:"name"` // without Docker's leading "/"
	// Host is the host whose engine runs it, "" on a single engine.
	Host   string            `json:"host,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	State  string            `json:"state"`
	// ImageRef is the reference the container was created from, ImageID the
	// image it actually runs.
	ImageRef string `json:"image_ref"`
	ImageID  string `json:"image_id"`
	// Networks maps each attached network's name to the container's IP on it
	// (empty while the container is not running).
	Networks map[string]string `json:"networks,omitempty"`
	Ports    []PublishedPort   `json:"ports,omitempty"`
	// StartedAt is when the container last started; only an inspect of
	// one container reads it (zero otherwise).
	StartedAt time.Time `json:"-"`
}

// PublishedPort is a container port bound on the host.
type PublishedPort struct {
	HostIP        string `json:"host_ip"`
	HostPort      int    `json:"host_port"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol"`
}

// Running reports whether the container is up (restarting counts: Docker is
// bringing it back on its own).
func (c *Container) Running() bool {
	return c.State == ContainerRunning || c.State == ContainerRestarting
}

// IP is the container's address on the named network, or "".
func (c *Container) IP(network string) string { return c.Networks[network] }

// Image is a local image found under a reference.
type Image struct {
	Ref    string            `json:"ref"`
	ID     string            `json:"id"`
	Labels map[string]string `json:"labels,omitempty"`
}

// ConsulState is what the stack's Consul holds for it.
type ConsulState struct {
	// Address is where Consul was looked for and Via says why there (e.g.
	// "CONSUL_HTTP_ADDR"); both empty when Consul was not contacted because
	// the managed server container is missing or stopped.
	Address string `json:"address,omitempty"`
	Via     string `json:"via,omitempty"`
	Reached bool   `json:"reached"`
	// Leader is the Raft leader's address ("" while there is none) and
	// Peers the Raft peers', sorted: who serves the datacenter's writes.
	Leader string   `json:"leader,omitempty"`
	Peers  []string `json:"peers,omitempty"`

	Registrations []Registration `json:"registrations,omitempty"` // sorted by ID
	// The stack's keys under KVPrefix; nil when absent.
	LBTemplate *string `json:"lb_template,omitempty"`
	LBStatus   *string `json:"lb_status,omitempty"`
	Journal    *string `json:"journal,omitempty"`
	// The records of stackctl reconcile (plan/reconcile.go); only status
	// reads them.
	ReconcileApplied *string `json:"reconcile_applied,omitempty"`
	ReconcileHistory *string `json:"reconcile_history,omitempty"`
}

// Aggregated check status of a registration, worst first.
const (
	CheckCritical = "critical"
	CheckWarning  = "warning"
	CheckPassing  = "passing"
	CheckNone     = "" // registered without checks
)

// Registration is one Consul service instance registered for the stack.
type Registration struct {
	ID      string            `json:"id"`
	Service string            `json:"service"`
	Address string            `json:"address"`
	Port    int               `json:"port"`
	Meta    map[string]string `json:"meta,omitempty"`
	// Host is the host whose agent holds it (its Consul node), "" on a
	// single engine.
	Host string `json:"host,omitempty"`
	// Status aggregates the instance's checks: the worst one wins.
	Status string `json:"status"`
	// Output is the failing check's last output, for humans; it is not part
	// of the fingerprint because it changes on every check run.
	Output string `json:"output,omitempty"`
}

// Container returns the observed container with the given name, or nil.
func (s *State) Container(name string) *Container {
	for i := range s.Containers {
		if s.Containers[i].Name == name {
			return &s.Containers[i]
		}
	}
	return nil
}

// ContainerByID returns the container with the given ID, or nil.
func (s *State) ContainerByID(id string) *Container {
	for i := range s.Containers {
		if s.Containers[i].ID == id {
			return &s.Containers[i]
		}
	}
	return nil
}

// Image returns the local image found under ref, or nil.
func (s *State) Image(ref string) *Image {
	for i := range s.Images {
		if s.Images[i].Ref == ref {
			return &s.Images[i]
		}
	}
	return nil
}

// Registration returns the registration with the given ID, or nil.
func (s *State) Registration(id string) *Registration {
	for i := range s.Consul.Registrations {
		if s.Consul.Registrations[i].ID == id {
			return &s.Consul.Registrations[i]
		}
	}
	return nil
}

// ContainerOn returns the observed container with the given name on host,
// or nil. On a single engine (host "") that is Container: names are unique
// there; over hosts one name can be on two of them while a worker moves.
func (s *State) ContainerOn(name, host string) *Container {
	if host == "" {
		return s.Container(name)
	}
	for i := range s.Containers {
		if c := &s.Containers[i]; c.Name == name && c.Host == host {
			return c
		}
	}
	return nil
}
