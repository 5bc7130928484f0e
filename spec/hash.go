package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// hashOf hashes a value through encoding/json, whose output is stable: struct
// fields keep their declared order and map keys are sorted. The same stack
// therefore hashes the same on every machine and run.
func hashOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain data is hashed here; a failure is a programming error.
		panic("spec: hash: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// WorkerHash is the hash of everything that, when changed, needs a new worker
// container: what it runs, with which environment and limits, on which
// network. Replicas, update settings and the health check are deliberately
// left out: changing them never recreates a container (the check is part of
// the registration, see RegistrationHash).
//
// So are the hosts and the service's placement. The host a slot runs on is
// decided by placement (plan.Place over Stack.EligibleHosts), not by the
// container's configuration: a worker that stays on its host across a new
// host, a new label or a narrower placement must keep its container, and
// one that moves is a new container on another engine whatever its hash.
// With them in the hash, adding one host would recreate every worker of
// every service. Leaving them out also keeps the hash of every worker of a
// stack without hosts what it was before hosts existed.
func (s *Stack) WorkerHash(svc *Service) string {
	return hashOf(struct {
		Kind      string
		Stack     string
		Service   string
		Image     string
		Command   []string
		Env       []EnvVar
		Port      int
		Resources Resources
	}{"worker/v1", s.Name, svc.Name, svc.Image, svc.Command, svc.Env, svc.Port, svc.Resources})
}

// RegistrationHash is the hash of a worker's Consul registration settings;
// a change re-registers the worker without touching its container.
func (s *Stack) RegistrationHash(svc *Service) string {
	return hashOf(struct {
		Kind  string
		Port  int
		Check Check
	}{"registration/v1", svc.Port, svc.Check})
}

// ConsulHash is the hash of the managed Consul server container. Which hosts
// run a server (Consul.Servers) is placement, not yet configuration, and
// is not in it; when the servers' command comes to name its peers, what it
// names joins the hash, left out when empty so that a stack without hosts
// keeps its hash.
func (s *Stack) ConsulHash() string {
	return hashOf(struct {
		Kind  string
		Stack string
		Image string
		Ports []PortMapping
	}{"consul/v1", s.Name, s.Consul.Image, s.Consul.Ports})
}

// LBHash is the hash of the load balancer container. The template is not in
// it: the LB reads its template from Consul KV and re-renders in place. Its
// form is, since it decides which file the LB renders to (the container's
// command); an include LB hashes as it did before forms existed, so no
// running LB is replaced for them. Its host (LB.Host) is not, for the
// reason WorkerHash gives: where a container runs is placement.
func (s *Stack) LBHash() string {
	if s.LB == nil {
		return ""
	}
	form := ""
	if s.LB.WholeConfig() {
		form = LBConfigWhole
	}
	return hashOf(struct {
		Kind   string
		Stack  string
		Image  string
		Ports  []PortMapping
		Consul string
		Form   string `json:",omitempty"`
	}{"lb/v1", s.Name, s.LB.Image, s.LB.Ports, s.Consul.Address, form})
}

// ReconcileHash is the hash of the reconcile agent's container: everything
// its command, mounts and environment are made of. The Consul address is in
// it, since the agent reaches Consul there (CONSUL_HTTP_ADDR).
func (s *Stack) ReconcileHash() string {
	r := s.Reconcile
	if r == nil {
		return ""
	}
	return hashOf(struct {
		Kind       string
		Stack      string
		Repo       string
		Ref        string
		Path       string
		Interval   string
		Env        string
		Image      string
		SSHKey     string
		KnownHosts string
		Consul     string
	}{"reconcile/v1", s.Name, r.Repo, r.Ref, r.Path, r.Interval.String(), r.Env, r.Image, r.SSHKey, r.KnownHosts, s.Consul.Address})
}

// Resource names. Every Docker object and Consul entry of a stack is
// prefixed with the stack's name so that two stacks never collide.

// NetworkName is the stack's own Docker bridge network.
func (s *Stack) NetworkName() string { return s.Name }

// ConsulContainerName is the managed Consul server's container name, also
// its DNS name on the stack network.
func (s *Stack) ConsulContainerName() string { return s.Name + "-consul" }

// LBContainerName is the load balancer's container name.
func (s *Stack) LBContainerName() string { return s.Name + "-lb" }

// ReconcileContainerName is the reconcile agent's container name.
func (s *Stack) ReconcileContainerName() string { return s.Name + "-reconcile" }

// WorkerName is the container name of one worker slot (1-based).
func (s *Stack) WorkerName(svc string, slot int) string {
	return s.Name + "-" + svc + "-" + strconv.Itoa(slot)
}

// ConsulServiceName is the name workers of svc register under in Consul.
// It is the bare service name, so templates say `service "web"`.
func (s *Stack) ConsulServiceName(svc string) string { return svc }

// KVPrefix is the stack's folder in Consul KV: journal, lock, LB template.
func (s *Stack) KVPrefix() string { return "stackctl/" + s.Name + "/" }
