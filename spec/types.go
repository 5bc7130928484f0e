// Package spec is the stack file: its types, loading with positions,
// interpolation, defaults, validation and the hash that decides whether a
// container must be replaced.
package spec

import "time"

// Version is the only stack file format version this build understands.
const Version = 1

// Ownership labels put on every Docker object a stack owns. Consul
// registrations carry the same facts as service meta (stackctl_stack,
// stackctl_service, ...; see plan/labels.go), since meta keys may not
// contain dots.
// Live state is read back through them; there is no local state file.
const (
	LabelStack   = "io.stackctl.stack"
	LabelService = "io.stackctl.service"
	LabelSlot    = "io.stackctl.slot"
	LabelHash    = "io.stackctl.hash"
	LabelRole    = "io.stackctl.role" // "worker", "consul", "lb" or "reconcile"
)

// Position is where a value was written in the stack file.
type Position struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Stack is a validated stack file with defaults applied. Everything a
// later stage needs is resolved here: paths are absolute, durations parsed,
// variables expanded.
type Stack struct {
	Version int
	// Name is the stack's name: the file's name, and with an environment
	// <name>-<env>. Every container, network and Consul entry starts with it.
	Name string
	// Env is the environment the stack was loaded for (LoadEnv), "" for none.
	Env string
	// File is the stack file's path as given; Dir is its absolute folder.
	File string
	Dir  string
	// Published is every host port the stack publishes, with where it was
	// written, for checks across environments (PortClashes).
	Published []Published

	// Hosts are the machines the stack runs on, in file order: the first
	// ones are the defaults for the LB and the Consul servers, so the order
	// is meaningful and kept. Nil when the file has no hosts: the stack then
	// runs on the one engine DOCKER_HOST names, as before hosts existed.
	Hosts []*Host
	// Excluded are hosts of the file left out of this run (ExcludeHost).
	Excluded []*Host
	Consul   Consul
	Services []*Service // sorted by name, so every walk is deterministic
	LB       *LB        // nil when the stack has no load balancer
	// Reconcile is the stack's own reconcile agent; nil without a
	// reconcile section.
	Reconcile *Reconcile
	// InAgent is set (by the caller, not the file) when the stack is loaded
	// by its own reconcile agent, the one running as <stack>-reconcile:
	// plans then leave that container alone, since an agent that replaced
	// or removed itself would die in the middle of its apply.
	InAgent bool
}

// Service returns the named service, or nil.
func (s *Stack) Service(name string) *Service {
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc
		}
	}
	return nil
}

// Host returns the named host, or nil.
func (s *Stack) Host(name string) *Host {
	for _, h := range s.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// MultiHost reports whether the stack file lists its hosts. Until every
// stage places containers on them, a stage that runs on one engine must
// refuse such a stack rather than put everything on DOCKER_HOST.
func (s *Stack) MultiHost() bool { return len(s.Hosts) > 0 }

// Host is one machine of a multi-host stack: the Docker engine that runs
// its containers, and the address the others reach it on. Workers are
// reached at their host's Address and published port, so Address must be
// an IP every other host (and the LB container) can route to; Docker is
// only how stackctl itself talks to the engine, and may go through ssh.
type Host struct {
	Name string
	// Docker is the engine's address as the docker CLI takes it in
	// DOCKER_HOST: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT].
	Docker string
	// Address is the host's IP in canonical form (net/netip).
	Address string
	// Labels select hosts for a service's placement; nil when none.
	Labels map[string]string
	// TLS is the absolute folder holding ca.pem, cert.pem and key.pem for a
	// tcp:// engine, as DOCKER_CERT_PATH does; "" for none. Insecure says
	// the file accepted plain tcp:// without TLS, in so many words.
	TLS      string
	Insecure bool
	Pos      Position
}

// Consul is either a server container the stack manages (Image set) or an
// existing agent it only talks to (Address set).
type Consul struct {
	Image   string
	Address string
	Ports   []PortMapping
	// Servers names the hosts that run a managed Consul server, in file
	// order: consul.servers, or else the first hosts (see DefaultServers).
	// Nil without hosts, and for an existing agent.
	Servers []string
	Pos     Position
}

// Managed reports whether the stack runs its own Consul server container.
func (c Consul) Managed() bool { return c.Address == "" }

// Service is a group of identical workers.
type Service struct {
	Name string
	// Image is the reference the containers run. With Build set it is the
	// tag the build produces (defaulting to "<stack>-<service>:latest").
	Image     string
	Build     *Build
	Replicas  int
	Port      int
	Command   []string
	Env       []EnvVar // sorted by name
	Check     Check
	Update    Update
	Resources Resources
	// Placement limits the hosts the workers may run on; nil lets them run
	// on every host. Which host a slot gets is decided later, from the
	// hosts this leaves (Stack.EligibleHosts), not stored here.
	Placement *Placement
	Pos       Position
}

// Placement is services.NAME.placement: the hosts a service's workers may
// run on, either named (Hosts) or selected by their labels (Labels), never
// both.
type Placement struct {
	Hosts []string // as written, each a host of the stack
	// Labels select the hosts that carry every one of them.
	Labels map[string]string
	Pos    Position
}

// Build describes an image built from a folder inside the stack's folder.
type Build struct {
	Context    string // absolute path
	Dockerfile string // relative to Context, default "Dockerfile"
}

// EnvVar is one environment variable of a worker. Secret values are never
// printed by any command: output shows "(sensitive)" instead.
type EnvVar struct {
	Name   string
	Value  string
	Secret bool
}

// Check is the HTTP health check Consul runs against every worker.
type Check struct {
	HTTP     string        // path, e.g. /healthz
	Interval time.Duration // default 5s
	Timeout  time.Duration // default 2s
	// DeregisterAfter removes a registration whose check stayed critical
	// this long; zero leaves it to stackctl.
	DeregisterAfter time.Duration
}

// Update settings for rolling changes of a service.
type Update struct {
	Parallelism     int           // workers replaced at a time; default 1
	Order           string        // OrderStartFirst (default) or OrderStopFirst
	HealthyDeadline time.Duration // default 60s
	OnFailure       string        // OnFailureRollback (default) or OnFailurePause

	// ParallelismPercent is the percentage the file gave ("25%"), 0 when it
	// gave a number; Parallelism then holds that share of the replicas,
	// rounded up and at least 1.
	ParallelismPercent int
}

// Update orders and failure actions.
const (
	OrderStartFirst   = "start-first"
	OrderStopFirst    = "stop-first"
	OnFailureRollback = "rollback"
	OnFailurePause    = "pause"
)

// Resources are container limits; zero means unlimited.
type Resources struct {
	MemoryBytes int64 // from "128m", "1g", ...
	NanoCPUs    int64 // from 0.5 -> 5e8
}

// LB is the nginx load balancer rendered from a consul-template template.
type LB struct {
	Image string
	// Template is the template's absolute path; TemplateSource its content,
	// read at load time so a plan and its apply see the same bytes.
	Template       string
	TemplateSource string
	// Config is lb.config as written (LBConfigAuto by default); Form the
	// form in effect, LBConfigInclude or LBConfigWhole: detected from the
	// template for auto.
	Config string
	Form   string
	Ports  []PortMapping
	// Host is the host the LB runs on: lb.host, or else the first host.
	// "" without hosts.
	Host string
	Pos  Position
}

// Published is a port mapping of the stack (consul.ports or lb.ports) with
// where it was written: Path is its field ("lb.ports[0]").
type Published struct {
	Path string
	Pos  Position
	Port PortMapping
}

// PortMapping is a compose-style "[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]".
// A missing HostIP means 127.0.0.1: only loopback is published by default.
type PortMapping struct {
	HostIP        string
	HostPort      int // 0: Docker picks one
	ContainerPort int
	Protocol      string // "tcp" (default) or "udp"
}
