package plan

import "fmt"

// FormatVersion is the version of the Plan's JSON form (docs/plan-json.md).
// It changes only when a field changes meaning or disappears.
const FormatVersion = 2

// Plan is what apply would do, as plain data: steps, each naming the steps
// it waits for (DependsOn). Apply runs the steps by those edges alone, so
// that what is independent overlaps; Steps lists them in an order that runs
// them correctly one by one (every step after those it depends on), group
// by group. A group is a label for people: a batch of workers, the
// removals, ...
type Plan struct {
	FormatVersion int `json:"format_version"`
	// Mode is ModeDestroy for a plan of removing the whole stack
	// (ComputeDestroy), "" for Compute's.
	Mode  string `json:"mode,omitempty"`
	Stack string `json:"stack"`
	// StackFile is the stack file the plan was made from, as given.
	StackFile string `json:"stack_file,omitempty"`
	Steps     []Step `json:"steps"`
	// LBTemplate is what the stack's LB template renders once every
	// worker passes (nil without an lb section).
	LBTemplate *LBTemplate `json:"lb_template,omitempty"`
	Warnings   []Warning   `json:"warnings,omitempty"`
	Summary    Summary     `json:"summary"`
}

// Action is what a step does to its target.
type Action string

// Actions. Each is counted in the summary as noted.
const (
	ActionCreate     Action = "create"     // add
	ActionBuild      Action = "build"      // add
	ActionPull       Action = "pull"       // add
	ActionCopy       Action = "copy"       // add: an image streamed to a host
	ActionRegister   Action = "register"   // add
	ActionUpdate     Action = "update"     // change
	ActionStart      Action = "start"      // change
	ActionRender     Action = "render"     // change
	ActionReplace    Action = "replace"    // replace
	ActionDestroy    Action = "destroy"    // destroy
	ActionDeregister Action = "deregister" // destroy
	ActionNoop       Action = "noop"       // not counted; never emitted by Compute today
)

// Kind is the sort of object a step acts on.
type Kind string

// Kinds.
const (
	KindNetwork      Kind = "network"
	KindConsul       Kind = "consul"
	KindImage        Kind = "image"
	KindWorker       Kind = "worker"
	KindRegistration Kind = "registration"
	KindLB           Kind = "lb"
	KindTemplate     Kind = "template" // the LB template in Consul KV
	// KindReconcile is the stack's own reconcile agent container.
	KindReconcile Kind = "reconcile"
)

// Groups, in the order Compute lists them. Worker groups are
// "workers/<service>/<n>": one batch of update.parallelism slots. Images
// come before Consul, whose container may need one of them; the LB template
// is written before the LB container is created, so that the LB starts with
// it; the reconcile agent comes after everything else, removals included.
// The order of groups is only a valid order: steps run by DependsOn.
const (
	GroupNetwork       = "network"
	GroupImages        = "images"
	GroupConsul        = "consul"
	GroupWorkersPrefix = "workers/"
	GroupRegistrations = "registrations"
	GroupTemplate      = "lb/template"
	GroupLB            = "lb"
	GroupDeregister    = "removals/deregister"
	GroupDestroy       = "removals/destroy"
	// GroupReconcile is the reconcile agent, last: it starts once the
	// stack it is to keep is as the file says.
	GroupReconcile = "reconcile"
)

// Step is one change to one object.
type Step struct {
	// ID is unique in the plan: "<kind>/<target>".
	ID     string `json:"id"`
	Group  string `json:"group"`
	Action Action `json:"action"`
	Kind   Kind   `json:"kind"`
	// Target is the object's name: container or network name, image
	// reference, registration ID or KV key.
	Target string `json:"target"`
	// Host is the host whose engine (or Consul agent) the step acts on, ""
	// on a single engine (docs/multihost.md).
	Host    string `json:"host,omitempty"`
	Service string `json:"service,omitempty"`
	Slot    int    `json:"slot,omitempty"`
	// HostPort is, for a worker step of a stack with hosts that runs a new
	// container, the port on its host's address that the container
	// publishes its service port on (and is registered at).
	HostPort int `json:"host_port,omitempty"`
	// Home is, for a worker step placed away from a host left out of the
	// run (--exclude-host), that host: the new container goes back there
	// once the host is in the stack again (LabelHome).
	Home   string `json:"home,omitempty"`
	Reason string `json:"reason"`
	// Replaces is the ID of the container a replace step takes the place
	// of; apply acts on that container and no other.
	Replaces string `json:"replaces,omitempty"`
	// DependsOn lists the IDs of the steps that must have finished before
	// this one starts; apply runs a step as soon as they have, and nothing
	// else orders it. A worker step has finished once its new container
	// serves in the LB's place of the old one (docs/plan-json.md).
	DependsOn []string `json:"depends_on,omitempty"`
	// Diff lists the fields that change, sorted by field. For a create it
	// lists the new object's fields with empty Before.
	Diff []FieldDiff `json:"diff,omitempty"`
	// TextDiff is a unified diff of the LB template, for template steps;
	// RenderedDiff the diff of the nginx config the old and new template
	// render over the instances Consul holds now (when it can be known).
	TextDiff     string `json:"text_diff,omitempty"`
	RenderedDiff string `json:"rendered_diff,omitempty"`
}

// KnownAfterApply stands for a value that only apply can know, like the IP
// a new container will get.
const KnownAfterApply = "(known after apply)"

// Sensitive replaces a secret value everywhere a plan is shown or saved.
const Sensitive = "(sensitive)"

// FieldDiff is one field of a step's target that changes. When Sensitive is
// set, Before and After hold Sensitive (or "" for absent), never the value.
type FieldDiff struct {
	Field     string `json:"field"`
	Before    string `json:"before"`
	After     string `json:"after"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Warning is something a user should know before applying: it does not stop
// the plan, it explains the live state (an unfinished apply, a critical check
// whose worker will be replaced, ...).
type Warning struct {
	Summary string   `json:"summary"`
	Detail  []string `json:"detail,omitempty"`
}

// Summary counts steps the way the human view's last line does.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
}

// String is "1 to add, 0 to change, 2 to replace, 0 to destroy".
func (s Summary) String() string {
	return fmt.Sprintf("%d to add, %d to change, %d to replace, %d to destroy", s.Add, s.Change, s.Replace, s.Destroy)
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Steps) == 0 }

// Groups returns the steps split into their groups, in order, for views.
// Apply does not run by groups: it follows DependsOn.
func (p *Plan) Groups() [][]Step {
	var groups [][]Step
	for i, st := range p.Steps {
		if i == 0 || p.Steps[i-1].Group != st.Group {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], st)
	}
	return groups
}

// Step returns the step with the ID, or nil.
func (p *Plan) Step(id string) *Step {
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return &p.Steps[i]
		}
	}
	return nil
}

func (s *Summary) count(a Action) {
	switch a {
	case ActionCreate, ActionBuild, ActionPull, ActionCopy, ActionRegister:
		s.Add++
	case ActionUpdate, ActionStart, ActionRender:
		s.Change++
	case ActionReplace:
		s.Replace++
	case ActionDestroy, ActionDeregister:
		s.Destroy++
	}
}
