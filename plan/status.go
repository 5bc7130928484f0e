package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stackctl/stackctl/spec"
)

// StatusFormatVersion is the version of the Status JSON form
// (docs/status-json.md). It changes only when a field changes meaning or
// disappears.
const StatusFormatVersion = 1

// Status is what `stackctl status` shows: each desired worker slot joined
// with its container and registration, whatever else the stack owns, the
// stack's Consul and LB, and an unfinished apply. It is plain data, built
// by BuildStatus from the same State that Compute reads.
type Status struct {
	FormatVersion int    `json:"format_version"`
	Stack         string `json:"stack"`
	// ObservedAt is when the state was read; BuildStatus leaves it zero,
	// the caller that observed sets it.
	ObservedAt time.Time `json:"observed_at,omitzero"`
	// Error is set, and nothing but the fields above, when the state could
	// not be read (a frame of `status --watch` while Docker or Consul is down).
	Error string `json:"error,omitempty"`
	// Network is the stack network's name, "" when it is missing.
	Network string `json:"network,omitempty"`
	// Hosts are a stack with hosts' machines (docs/multihost.md); nil on a
	// single engine.
	Hosts   []HostStatus   `json:"hosts,omitempty"`
	Consul  ConsulStatus   `json:"consul,omitzero"`
	Workers []WorkerStatus `json:"workers,omitzero"` // nil only with Error
	LB      *LBStatus      `json:"lb,omitempty"`     // nil: the stack has no LB
	// Agent is the stack's own reconcile agent container; nil when the
	// stack file has no reconcile section and no such container runs.
	Agent      *AgentStatus     `json:"agent,omitempty"`
	Unfinished *UnfinishedApply `json:"unfinished_apply,omitempty"`
	// Reconcile is what `stackctl reconcile` recorded; nil when it never
	// ran for the stack (or Consul was not reached).
	Reconcile *ReconcileStatus `json:"reconcile,omitempty"`
	Summary   StatusSummary    `json:"summary,omitzero"`
}

// AgentStatus is the stack's reconcile agent container (a reconcile
// section): what it follows, as the stack file says, and its state.
type AgentStatus struct {
	Container string `json:"container"`
	State     string `json:"state"` // the container's Docker state, or StateMissing
	// Repo, Ref and Path are the stack file's reconcile section; absent
	// when a container runs that the file no longer has a section for.
	Repo string `json:"repo,omitempty"`
	Ref  string `json:"ref,omitempty"`
	Path string `json:"path,omitempty"`
}

// ConsulStatus is the stack's Consul as status sees it.
type ConsulStatus struct {
	// Managed is true when the stack runs its own Consul server container,
	// Container; false for an external agent (consul.address).
	Managed   bool   `json:"managed"`
	Container string `json:"container,omitempty"`
	State     string `json:"state,omitempty"` // the container's Docker state, or StateMissing
	Address   string `json:"address,omitempty"`
	Via       string `json:"via,omitempty"`
	Reached   bool   `json:"reached"`
	// Leader is the Raft leader's address, "" while there is none or when
	// Consul was not reached; Peers are the Raft peers.
	Leader string   `json:"leader,omitempty"`
	Peers  []string `json:"peers,omitempty"`
}

// WorkerStatus is one worker: a desired slot, or a container or
// registration the stack owns beyond the stack file.
type WorkerStatus struct {
	Service string `json:"service"`
	Slot    int    `json:"slot"`
	Name    string `json:"name"`
	// Host is the host the worker runs on, in a stack with hosts.
	Host  string `json:"host,omitempty"`
	State string `json:"state"` // Docker state, or StateMissing
	Image string `json:"image,omitempty"`
	// Address is the registered address:port, else the container's IP on
	// the stack network.
	Address string `json:"address,omitempty"`
	Health  string `json:"health"`
	// Output is the last output of the worst failing check, in full; ""
	// while the checks pass.
	Output string   `json:"output,omitempty"`
	Notes  []string `json:"notes,omitempty"`
	// Old marks a container an apply replaced and keeps, stopped and
	// renamed <name>.old-<id>, until the apply has succeeded.
	Old bool `json:"old"`
}

// Worker states and health beyond Docker's states and Consul's statuses.
const (
	StateMissing       = "missing"      // no container
	HealthUnregistered = "unregistered" // no registration in Consul
	HealthNoCheck      = "no check"     // registered without checks
	HealthUnknown      = "unknown"      // Consul was not reached
)

// Notes on workers the stack file does not explain.
const (
	NoteNotInStackFile = "not in the stack file"
	NoteNoContainer    = "registration without a container"
	NoteKeptByApply    = "replaced by an apply, kept until the apply succeeds"
	NoteStartedByApply = "new container of an apply that is running or was interrupted"
)

// Names apply gives a worker's containers while it replaces them:
// <name>.old-<id> for the old one it keeps, <name>.new-<apply> for the new
// one before it takes the slot's name.
const (
	keptInfix = ".old-"
	newInfix  = ".new-"
)

// LBStatus is the load balancer container and its last render.
type LBStatus struct {
	Container string   `json:"container"`
	State     string   `json:"state"`
	Ports     []string `json:"ports,omitempty"` // HOST_IP:HOST_PORT->PORT/PROTO
	// Resolves lists the upstreams nginx resolves at run time through
	// Consul's DNS (resolve mode): their servers are in no render, so
	// Render.Instances does not count them.
	Resolves []string `json:"resolves,omitempty"`
	// Render is the LB's own report from Consul KV; nil before its first
	// render, when Consul was not reached, or when it cannot be read.
	Render *LBRender `json:"render,omitempty"`
}

// LBRender is the status the LB writes to <KVPrefix>lb/status after every
// render (internal/lbsync's Status, field for field).
type LBRender struct {
	OK             bool      `json:"ok"`
	Error          string    `json:"error,omitempty"`
	ConfigSHA256   string    `json:"config_sha256,omitempty"`
	RenderedSHA256 string    `json:"rendered_sha256,omitempty"`
	RenderedAt     time.Time `json:"rendered_at"`
	Instances      int       `json:"instances"`
	LastGoodAt     time.Time `json:"last_good_at,omitzero"`
	Template       string    `json:"template,omitempty"`
	TemplateSHA256 string    `json:"template_sha256,omitempty"`
	Rejected       bool      `json:"rejected,omitempty"`
	Reloads        int       `json:"reloads"`
}

// UnfinishedApply is the journal an interrupted apply left in Consul.
type UnfinishedApply struct {
	StartedAt  time.Time     `json:"started_at,omitzero"`
	TotalSteps int           `json:"total_steps"`
	Left       []JournalStep `json:"steps_left"` // steps not done, in plan order
	// Error says why the journal could not be read; the rest is then empty.
	Error string `json:"error,omitempty"`
}

// StatusSummary counts the workers by health. Old containers kept by an
// apply are not counted.
type StatusSummary struct {
	Desired      int `json:"desired"` // replicas in the stack file
	Total        int `json:"total"`
	Passing      int `json:"passing"`
	Warning      int `json:"warning"`
	Critical     int `json:"critical"`
	Unregistered int `json:"unregistered"`
	Unknown      int `json:"unknown"` // Consul was not reached
}

// StatusError is the Status of a stack whose state could not be read.
func StatusError(stack string, err error) *Status {
	return &Status{FormatVersion: StatusFormatVersion, Stack: stack, Error: err.Error()}
}

// BuildStatus joins the desired stack and what is live into one view: each
// desired slot with its container and registration, then whatever the stack
// owns beyond the file (orphans, old and new containers of an apply,
// registrations without a container). It is pure: the same inputs give the
// same Status.
func BuildStatus(desired *spec.Stack, state *State) *Status {
	st := &Status{FormatVersion: StatusFormatVersion, Stack: desired.Name}
	if state.Network != nil {
		st.Network = state.Network.Name
	}
	if desired.MultiHost() && everyHostHasNetwork(desired, state) {
		st.Network = desired.NetworkName()
	}
	st.Consul = consulStatus(desired, state)
	st.Hosts = hostStatuses(desired, state)
	st.Workers = workerStatuses(desired, state)
	st.LB = lbStatus(desired, state)
	st.Agent = agentStatus(desired, state)
	if state.Consul.Journal != nil {
		st.Unfinished = unfinishedApply(*state.Consul.Journal)
	}
	st.Reconcile = reconcileStatus(state.Consul)
	st.Summary = summarize(desired, st.Workers)
	return st
}

func consulStatus(desired *spec.Stack, state *State) ConsulStatus {
	c := state.Consul
	out := ConsulStatus{Managed: desired.Consul.Managed(), Address: c.Address, Via: c.Via, Reached: c.Reached,
		Leader: c.Leader, Peers: c.Peers}
	if out.Managed && !desired.MultiHost() { // with hosts: an agent per host (Status.Hosts)
		out.Container = desired.ConsulContainerName()
		out.State = StateOf(state.Container(out.Container))
	}
	return out
}

func workerStatuses(desired *spec.Stack, state *State) []WorkerStatus {
	regs := map[string]*Registration{}
	for i := range state.Consul.Registrations {
		r := &state.Consul.Registrations[i]
		regs[r.ID] = r
	}
	out := []WorkerStatus{}
	seen := map[string]bool{}
	for _, svc := range desired.Services {
		for slot := 1; slot <= svc.Replicas; slot++ {
			name := desired.WorkerName(svc.Name, slot)
			seen[name] = true
			out = append(out, workerRow(svc.Name, slot, name, state, regs[name]))
		}
	}
	for _, c := range state.Containers {
		if c.Labels[spec.LabelRole] != RoleWorker || seen[c.Name] {
			continue
		}
		slot, _ := strconv.Atoi(c.Labels[spec.LabelSlot])
		w := workerRow(c.Labels[spec.LabelService], slot, c.Name, state, regs[c.Name])
		switch {
		case strings.Contains(c.Name, keptInfix):
			w.Old = true
			w.Notes = append(w.Notes, NoteKeptByApply)
		case strings.Contains(c.Name, newInfix):
			w.Notes = append(w.Notes, NoteStartedByApply)
		default:
			w.Notes = append(w.Notes, NoteNotInStackFile)
		}
		seen[c.Name] = true
		out = append(out, w)
	}
	for _, r := range state.Consul.Registrations {
		if !seen[r.ID] {
			slot, _ := strconv.Atoi(r.Meta[MetaSlot])
			svc := r.Meta[MetaService]
			if svc == "" {
				svc = r.Service
			}
			out = append(out, WorkerStatus{
				Service: svc, Slot: slot, Name: r.ID, State: StateMissing,
				Address: registeredAddress(&r), Health: healthOf(&r), Output: r.Output,
				Notes: []string{NoteNoContainer},
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Slot != b.Slot {
			return a.Slot < b.Slot
		}
		return a.Name < b.Name
	})
	return out
}

func workerRow(svc string, slot int, name string, state *State, reg *Registration) WorkerStatus {
	w := WorkerStatus{Service: svc, Slot: slot, Name: name, Health: HealthUnregistered}
	c := state.Container(name)
	w.State = StateOf(c)
	if c != nil {
		w.Image = c.ImageRef
		w.Address = c.IP(state.Stack)
		w.Host = c.Host
	}
	if !state.Consul.Reached {
		w.Health = HealthUnknown
	}
	if reg != nil {
		w.Health = healthOf(reg)
		w.Output = reg.Output
		w.Address = registeredAddress(reg)
	}
	return w
}

func registeredAddress(r *Registration) string {
	return r.Address + ":" + strconv.Itoa(r.Port)
}

func healthOf(r *Registration) string {
	if r.Status == CheckNone {
		return HealthNoCheck
	}
	return r.Status
}

// StateOf is c's Docker state, or StateMissing when there is no container.
func StateOf(c *Container) string {
	if c == nil {
		return StateMissing
	}
	return c.State
}

func lbStatus(desired *spec.Stack, state *State) *LBStatus {
	if desired.LB == nil {
		return nil
	}
	name := desired.LBContainerName()
	c := state.Container(name)
	lb := &LBStatus{Container: name, State: StateOf(c)}
	if t := CheckLBTemplate(desired); t != nil && t.Resolve != nil {
		lb.Resolves = t.Resolve.Upstreams
	}
	if c != nil {
		for _, p := range c.Ports {
			lb.Ports = append(lb.Ports, fmt.Sprintf("%s:%d->%d/%s", p.HostIP, p.HostPort, p.ContainerPort, p.Protocol))
		}
	}
	if raw := state.Consul.LBStatus; raw != nil {
		var r LBRender
		if json.Unmarshal([]byte(*raw), &r) == nil {
			lb.Render = &r
		}
	}
	return lb
}

func agentStatus(desired *spec.Stack, state *State) *AgentStatus {
	name := desired.ReconcileContainerName()
	c := state.Container(name)
	if desired.Reconcile == nil && c == nil {
		return nil
	}
	a := &AgentStatus{Container: name, State: StateOf(c)}
	if r := desired.Reconcile; r != nil {
		a.Repo, a.Ref, a.Path = r.Repo, r.Ref, r.Path
	}
	return a
}

// unfinishedApply reads the journal an interrupted apply left; a journal
// that cannot be read is reported as such.
func unfinishedApply(raw string) *UnfinishedApply {
	var j Journal
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return &UnfinishedApply{Left: []JournalStep{}, Error: "journal unreadable: " + err.Error()}
	}
	u := &UnfinishedApply{StartedAt: j.StartedAt, TotalSteps: len(j.Steps), Left: []JournalStep{}}
	for _, s := range j.Steps {
		if s.Status != JournalDone {
			u.Left = append(u.Left, s)
		}
	}
	return u
}

func summarize(desired *spec.Stack, workers []WorkerStatus) StatusSummary {
	var s StatusSummary
	for _, svc := range desired.Services {
		s.Desired += svc.Replicas
	}
	for _, w := range workers {
		if w.Old {
			continue
		}
		s.Total++
		switch w.Health {
		case CheckPassing:
			s.Passing++
		case CheckWarning:
			s.Warning++
		case CheckCritical:
			s.Critical++
		case HealthUnregistered:
			s.Unregistered++
		case HealthUnknown:
			s.Unknown++
		}
	}
	return s
}
