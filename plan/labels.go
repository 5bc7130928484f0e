package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/spec"
)

// LabelConfig holds the desired configuration a container was created from,
// as a JSON object of field → value (see WorkerConfig). It lets a plan show
// which fields changed, not only that the hash did. Secret values are stored
// hashed, never in clear.
const LabelConfig = "io.stackctl.config"

// LabelContext is put on images stackctl builds: the hash of the build
// context they were built from (see ContextHash).
const LabelContext = "io.stackctl.context"

// Roles of the containers a stack owns (label io.stackctl.role).
const (
	RoleWorker = "worker"
	RoleConsul = "consul"
	RoleLB     = "lb"
	// RoleReconcile is the stack's own reconcile agent (a reconcile
	// section): <stack>-reconcile.
	RoleReconcile = "reconcile"
)

// Service meta keys of every Consul registration a stack owns.
const (
	MetaStack   = "stackctl_stack"
	MetaService = "stackctl_service"
	MetaSlot    = "stackctl_slot"
	MetaHash    = "stackctl_hash"  // spec.Stack.RegistrationHash
	MetaCheck   = "stackctl_check" // the check settings, readable (CheckSummary)
)

// KV keys of a stack, under spec.Stack.KVPrefix.
const (
	KVLBTemplate = "lb/template"
	KVLBStatus   = "lb/status"
	KVJournal    = "journal"
)

// NetworkLabels are the labels of the stack network.
func NetworkLabels(s *spec.Stack) map[string]string {
	return withEnv(s, map[string]string{spec.LabelStack: s.Name})
}

// withEnv adds the stack's environment, if it has one, to labels.
func withEnv(s *spec.Stack, labels map[string]string) map[string]string {
	if s.Env != "" {
		labels[spec.LabelEnv] = s.Env
	}
	return labels
}

// WorkerLabels are the labels of the container of one worker slot. Apply
// creates containers with exactly these; plan reads them back.
func WorkerLabels(s *spec.Stack, svc *spec.Service, slot int) map[string]string {
	return withEnv(s, map[string]string{
		spec.LabelStack:   s.Name,
		spec.LabelRole:    RoleWorker,
		spec.LabelService: svc.Name,
		spec.LabelSlot:    strconv.Itoa(slot),
		spec.LabelHash:    s.WorkerHash(svc),
		LabelConfig:       encodeConfig(WorkerConfig(s, svc)),
	})
}

// ConsulLabels are the labels of the managed Consul server container.
func ConsulLabels(s *spec.Stack) map[string]string {
	return withEnv(s, map[string]string{
		spec.LabelStack: s.Name,
		spec.LabelRole:  RoleConsul,
		spec.LabelHash:  s.ConsulHash(),
		LabelConfig:     encodeConfig(ConsulConfig(s)),
	})
}

// LBLabels are the labels of the load balancer container.
func LBLabels(s *spec.Stack) map[string]string {
	return withEnv(s, map[string]string{
		spec.LabelStack: s.Name,
		spec.LabelRole:  RoleLB,
		spec.LabelHash:  s.LBHash(),
		LabelConfig:     encodeConfig(LBConfig(s)),
	})
}

// ReconcileLabels are the labels of the reconcile agent's container.
func ReconcileLabels(s *spec.Stack) map[string]string {
	return withEnv(s, map[string]string{
		spec.LabelStack: s.Name,
		spec.LabelRole:  RoleReconcile,
		spec.LabelHash:  s.ReconcileHash(),
		LabelConfig:     encodeConfig(ReconcileConfig(s)),
	})
}

// ImageBuildLabels are the labels apply gives an image it builds from a
// context whose ContextHash is contextHash.
func ImageBuildLabels(s *spec.Stack, contextHash string) map[string]string {
	return map[string]string{spec.LabelStack: s.Name, LabelContext: contextHash}
}

// RegistrationMeta is the service meta of the registration of one worker.
func RegistrationMeta(s *spec.Stack, svc *spec.Service, slot int) map[string]string {
	return map[string]string{
		MetaStack:   s.Name,
		MetaService: svc.Name,
		MetaSlot:    strconv.Itoa(slot),
		MetaHash:    s.RegistrationHash(svc),
		MetaCheck:   CheckSummary(svc),
	}
}

// DesiredRegistration is the registration of one worker whose container has
// address ip on the stack network. The registration ID is the worker's
// container name.
func DesiredRegistration(s *spec.Stack, svc *spec.Service, slot int, ip string) Registration {
	return Registration{
		ID:      s.WorkerName(svc.Name, slot),
		Service: s.ConsulServiceName(svc.Name),
		Address: ip,
		Port:    svc.Port,
		Meta:    RegistrationMeta(s, svc, slot),
	}
}

// CheckSummary describes a service's health check in one line, as stored in
// the registration meta and shown in plans.
func CheckSummary(svc *spec.Service) string {
	c := svc.Check
	out := fmt.Sprintf("GET %s every %s, timeout %s", c.HTTP, c.Interval, c.Timeout)
	if c.DeregisterAfter > 0 {
		out += fmt.Sprintf(", deregister after %s", c.DeregisterAfter)
	}
	return out
}

// Field names of a container's configuration, as they appear in diffs.
// A secret environment variable is stored as "secret.NAME" (value hashed)
// and shown as "env.NAME" (sensitive).
const (
	secretPrefix = "secret."
	envPrefix    = "env."
)

// WorkerConfig is the flat field → value view of a worker's desired
// configuration: what its LabelConfig label holds and what diffs show.
func WorkerConfig(s *spec.Stack, svc *spec.Service) map[string]string {
	cfg := map[string]string{
		"image": svc.Image,
		"port":  strconv.Itoa(svc.Port),
	}
	if len(svc.Command) > 0 {
		b, _ := json.Marshal(svc.Command)
		cfg["command"] = string(b)
	}
	for _, e := range svc.Env {
		if e.Secret {
			cfg[secretPrefix+e.Name] = secretDigest(s.Name, svc.Name, e.Name, e.Value)
			continue
		}
		cfg[envPrefix+e.Name] = e.Value
	}
	if m := svc.Resources.MemoryBytes; m > 0 {
		cfg["memory"] = formatBytes(m)
	}
	if c := svc.Resources.NanoCPUs; c > 0 {
		cfg["cpus"] = strconv.FormatFloat(float64(c)/1e9, 'f', -1, 64)
	}
	return cfg
}

// ConsulConfig is the flat view of the managed Consul container's config.
func ConsulConfig(s *spec.Stack) map[string]string {
	return map[string]string{"image": s.Consul.Image, "ports": formatPorts(s.Consul.Ports)}
}

// LBConfig is the flat view of the load balancer container's config.
func LBConfig(s *spec.Stack) map[string]string {
	if s.LB == nil {
		return nil
	}
	cfg := map[string]string{"image": s.LB.Image, "ports": formatPorts(s.LB.Ports)}
	if s.Consul.Address != "" {
		cfg["consul"] = s.Consul.Address
	}
	if s.LB.WholeConfig() { // absent for include, as on LBs made before forms existed
		cfg["config"] = "whole nginx.conf"
	}
	return cfg
}

// ReconcileConfig is the flat view of the reconcile agent's container
// config: what its command, mounts and environment are made of.
func ReconcileConfig(s *spec.Stack) map[string]string {
	r := s.Reconcile
	if r == nil {
		return nil
	}
	cfg := map[string]string{"image": r.Image, "repo": r.Repo, "ref": r.Ref, "path": r.Path,
		"interval": r.Interval.String()}
	for k, v := range map[string]string{"env": r.Env, "ssh_key": r.SSHKey, "known_hosts": r.KnownHosts, "consul": s.Consul.Address} {
		if v != "" {
			cfg[k] = v
		}
	}
	return cfg
}

// secretDigest stands in for a secret value in labels: it changes when the
// value does, and is salted with where the secret lives so equal secrets of
// two stacks do not look alike.
func secretDigest(stack, svc, name, value string) string {
	sum := sha256.Sum256([]byte("stackctl-secret/v1\x00" + stack + "\x00" + svc + "\x00" + name + "\x00" + value))
	return "sha256:" + hex.EncodeToString(sum[:16])
}

func encodeConfig(cfg map[string]string) string {
	b, err := json.Marshal(cfg) // map keys are sorted: stable bytes
	if err != nil {
		panic("plan: encode config: " + err.Error())
	}
	return string(b)
}

// decodeConfig reads a LabelConfig value; ok is false when it is missing or
// unreadable (e.g. made by another version), and diffs then fall back to
// the hash.
func decodeConfig(labels map[string]string) (map[string]string, bool) {
	raw, ok := labels[LabelConfig]
	if !ok {
		return nil, false
	}
	var cfg map[string]string
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return nil, false
	}
	return cfg, true
}

func formatPorts(ports []spec.PortMapping) string {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		parts = append(parts, p.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func formatBytes(n int64) string {
	for _, u := range []struct {
		size int64
		unit string
	}{{1 << 30, "g"}, {1 << 20, "m"}, {1 << 10, "k"}} {
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.unit
		}
	}
	return strconv.FormatInt(n, 10)
}
