// Package apply carries out a plan.Plan: groups in order, the steps of a
// group in parallel, every new worker gated on its Consul check, old workers
// stopped and kept until the whole apply succeeded. Every step records in a
// journal (Consul KV) how to undo it, so that a failure, or a crash seen by
// the next apply, puts the stack back as it was.
//
// Docker and Consul are reached only through the Docker and Consul
// interfaces below; internal/dockerapi and internal/consulapi implement them.
package apply

import (
	"context"
	"errors"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// LabelApply is put on every Docker object an apply creates: the apply's ID.
// An object carrying the ID of an unfinished apply is that apply's to undo.
const LabelApply = "io.stackctl.apply"

// ErrNameConflict is returned by Docker.CreateContainer when the name is
// taken.
var ErrNameConflict = errors.New("container name already in use")

// ErrPinRefused is returned by Docker.CreateContainer when the network does
// not allow fixed addresses (its subnet was not configured by the user).
var ErrPinRefused = errors.New("fixed addresses are not supported on this network")

// ContainerSpec is a container to create on the stack network.
type ContainerSpec struct {
	Name    string
	Image   string
	Cmd     []string
	Env     []string // NAME=value
	Labels  map[string]string
	Network string
	// IP, when set, is the container's fixed address on Network.
	IP string
	// Aliases are extra DNS names on the network.
	Aliases     []string
	Ports       []spec.PortMapping
	MemoryBytes int64
	NanoCPUs    int64
	// StopTimeout is how long `docker stop` waits before SIGKILL.
	StopTimeout time.Duration
	// Restart is the restart policy ("unless-stopped", or "" for none).
	Restart string
	// Mounts are bind mounts of the Docker host's files and folders.
	Mounts []Mount
	// HostNetwork runs the container in the Docker host's network
	// namespace (network_mode host): Network, IP, Aliases and Ports must
	// then be empty. For the Consul agents of a multi-host stack, which
	// bind their host's address.
	HostNetwork bool
	// Volumes are named volumes, made (labelled) when missing.
	Volumes []VolumeMount
	// Files are written into the container after it is created and before
	// it starts: how secrets reach a container without showing in its
	// command or environment, which `docker inspect` prints.
	Files []File
}

// Mount is a bind mount of Source, on the Docker host, at Target in the
// container.
type Mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

// BuildSpec is an image to build from a folder.
type BuildSpec struct {
	Context    string
	Dockerfile string
	Tag        string
	Labels     map[string]string
}

// Docker is what apply needs from the Docker engine. Removing or inspecting
// something that does not exist is not an error (nil, nil for inspect).
type Docker interface {
	plan.DockerReader
	CreateNetwork(ctx context.Context, name string, labels map[string]string) (string, error)
	RemoveNetwork(ctx context.Context, name string) error
	CreateContainer(ctx context.Context, c ContainerSpec) (string, error)
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	RemoveContainer(ctx context.Context, id string) error
	RenameContainer(ctx context.Context, id, name string) error
	// InspectContainer finds a container by ID or name, or returns nil.
	InspectContainer(ctx context.Context, idOrName string) (*plan.Container, error)
	// NetworkAddresses returns the network's subnet ("" when unknown) and
	// every address in use on it, by running or stopped containers.
	NetworkAddresses(ctx context.Context, name string) (subnet string, used []string, err error)
	BuildImage(ctx context.Context, b BuildSpec) (string, error)
	TagImage(ctx context.Context, id, ref string) error
	UntagImage(ctx context.Context, ref string) error
}

// Check is the HTTP check Consul runs for a registration.
type Check struct {
	URL             string        `json:"url"`
	Interval        time.Duration `json:"interval"`
	Timeout         time.Duration `json:"timeout"`
	DeregisterAfter time.Duration `json:"deregister_after,omitempty"`
}

// Registration is a worker's registration in Consul, with its check.
type Registration struct {
	ID      string            `json:"id"`
	Service string            `json:"service"`
	Address string            `json:"address"`
	Port    int               `json:"port"`
	Meta    map[string]string `json:"meta,omitempty"`
	Check   *Check            `json:"check,omitempty"`
	// Host is the host whose agent holds it, in a stack with hosts.
	Host string `json:"host,omitempty"`
	// Passing starts the check passing instead of critical: for a worker
	// whose check has just been seen passing under another ID.
	Passing bool `json:"-"`
}

// Consul is what apply needs from the stack's Consul agent.
type Consul interface {
	plan.ConsulReader
	Leader(ctx context.Context) (string, error)
	Register(ctx context.Context, r Registration) error
	Deregister(ctx context.Context, id string) error
	// Registration reads back one registration with its check, or nil.
	Registration(ctx context.Context, id string) (*Registration, error)
	// Status is the aggregated check status of a registration in the
	// catalog, what the LB renders from ("" when it is not registered).
	Status(ctx context.Context, id string) (string, error)
	// LocalStatus is the same as the agent running the checks sees it; it
	// reaches the catalog by the agent's anti-entropy, which SyncNow runs
	// at once (see waitPassing).
	LocalStatus(ctx context.Context, id string) (string, error)
	// Serving reports whether the catalog, what the LB follows, has the
	// registration id of service at address with every check passing.
	Serving(ctx context.Context, service, id, address string) (bool, error)
	SyncNow(ctx context.Context, id string) error
	KVPut(ctx context.Context, key string, value []byte) error
	KVDelete(ctx context.Context, key string) error
	// Lock takes the lock at key for a session with the given TTL, waiting
	// up to wait; when another session still holds it, l is nil and held
	// is the key as it is.
	Lock(ctx context.Context, key string, value []byte, ttl, wait time.Duration) (l Lock, held *LockPair, err error)
	// ReadLock returns the lock key while a session holds it, else nil.
	ReadLock(ctx context.Context, key string) (*LockPair, error)
	// DestroySession ends a session: the locks it holds are released.
	DestroySession(ctx context.Context, id string) error
}

// LockPair is a held lock key: the holder's value and its session, whose
// ID is the lock's ID.
type LockPair struct {
	Session string
	Value   []byte
}

// Lock is a held Consul lock.
type Lock interface {
	// Lost is closed when the lock's session is gone.
	Lost() <-chan struct{}
	Unlock(ctx context.Context) error
}

// ConsulDialer returns a Consul client for an address.
type ConsulDialer func(addr string) (Consul, error)
