package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// StatusJSON writes a status in its versioned machine-readable form,
// documented in docs/status-json.md: indented, or on one line for NDJSON
// (`status --watch --json`), with a final newline.
func StatusJSON(w io.Writer, st *plan.Status, oneLine bool) error {
	enc := json.NewEncoder(w)
	if !oneLine {
		enc.SetIndent("", "  ")
	}
	enc.SetEscapeHTML(false)
	return enc.Encode(st)
}

// StatusHuman writes a status for people: the stack's network and Consul,
// an unfinished apply, a table of workers with the first line of each
// failing check's output, and the LB's last render. Times are local.
func StatusHuman(w io.Writer, st *plan.Status, color bool) error {
	h := &human{w: w, c: palette(color)}
	h.printf("%sStack%s %s\n", h.c.bold, h.c.reset, st.Stack)
	if st.Error != "" {
		h.printf("  %scannot read the live state:%s %s\n", h.c.red, h.c.reset, st.Error)
		return h.err
	}
	h.statusHead(st)
	h.hosts(st.Hosts)
	h.reconcile(st.Reconcile, st.ObservedAt)
	h.unfinished(st.Unfinished)
	h.workers(st.Workers, st.Summary)
	if st.LB != nil {
		h.lb(st.LB, st.Consul.Reached)
	}
	return h.err
}

func (h *human) statusHead(st *plan.Status) {
	network := st.Network
	if network == "" {
		network = h.red(plan.StateMissing)
	}
	h.printf("  network  %s\n", network)
	consul := "external agent"
	switch {
	case st.Consul.Managed && len(st.Hosts) > 0:
		consul = "an agent on every host"
	case st.Consul.Managed:
		consul = st.Consul.Container + " (" + h.state(st.Consul.State) + ")"
	}
	reach := h.red("not reached")
	if st.Consul.Reached {
		reach = h.green("reached")
	}
	if st.Consul.Address != "" {
		reach += " at " + st.Consul.Address
	}
	if st.Consul.Reached {
		leader := h.red("no leader")
		if st.Consul.Leader != "" {
			leader = "leader " + st.Consul.Leader
		}
		if len(st.Hosts) > 0 {
			leader += fmt.Sprintf(" of %d raft peers", len(st.Consul.Peers))
		}
		reach += ", " + leader
	}
	h.printf("  consul   %s, %s\n", consul, reach)
	if a := st.Agent; a != nil {
		follows := "not in the stack file"
		if a.Repo != "" {
			follows = fmt.Sprintf("following %s of %s, stack file %s", a.Ref, a.Repo, a.Path)
		}
		h.printf("  agent    %s (%s), %s\n", a.Container, h.state(a.State), follows)
	}
}

func (h *human) unfinished(u *plan.UnfinishedApply) {
	if u == nil {
		return
	}
	h.printf("\n%sWarning:%s an apply did not finish; run apply again to converge.", h.c.red, h.c.reset)
	switch {
	case u.Error != "":
		h.printf("\n  - %s\n", u.Error)
	case len(u.Left) == 0:
		h.printf("\n  - all %d steps done; the apply did not finish its clean-up\n", u.TotalSteps)
	default:
		if !u.StartedAt.IsZero() {
			h.printf(" Started %s;", u.StartedAt.Local().Format(time.DateTime))
		}
		h.printf(" %d of %d steps left:\n", len(u.Left), u.TotalSteps)
		for _, s := range u.Left {
			h.printf("  - %s (%s)\n", s.ID, s.Status)
		}
	}
}

func (h *human) workers(workers []plan.WorkerStatus, sum plan.StatusSummary) {
	h.printf("\n%sWorkers%s\n", h.c.bold, h.c.reset)
	if h.err != nil {
		return
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tSTATE\tHEALTH\tADDRESS\tIMAGE\tNOTES")
	for _, wk := range workers {
		notes := strings.Join(wk.Notes, "; ")
		if wk.Output != "" && wk.Health != plan.CheckPassing {
			notes = strings.TrimSpace(notes + " " + firstLine(wk.Output))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", wk.Name, h.state(wk.State), h.health(wk.Health),
			dash(wk.Address), dash(wk.Image), notes)
	}
	if err := tw.Flush(); err != nil {
		h.err = err
		return
	}
	// Rows without notes end in the padding of the column before.
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if line != "" {
			h.printf("%s\n", strings.TrimRight(line, " \n"))
		}
	}
	h.printf("  %d passing of %d (%d desired)\n", sum.Passing, sum.Total, sum.Desired)
}

func (h *human) lb(lb *plan.LBStatus, consulReached bool) {
	h.printf("\n%sLoad balancer%s\n", h.c.bold, h.c.reset)
	h.printf("  %s (%s)", lb.Container, h.state(lb.State))
	if len(lb.Ports) > 0 {
		h.printf(" %s", strings.Join(lb.Ports, ", "))
	}
	h.printf("\n")
	r := lb.Render
	switch {
	case r == nil && !consulReached:
		h.printf("  last render unknown: Consul was not reached\n")
		return
	case r == nil:
		h.printf("  no render reported yet\n")
		return
	}
	when := r.RenderedAt.Local().Format(time.DateTime)
	if r.OK && len(lb.Resolves) > 0 {
		h.printf("  config %s, rendered %s, %d reloads; nginx resolves upstream %s through Consul's DNS (its passing instances)\n",
			h.green("current"), when, r.Reloads, strings.Join(lb.Resolves, ", "))
		return
	}
	if r.OK {
		h.printf("  config %s, %d passing instances, rendered %s, %d reloads\n", h.green("current"), r.Instances, when, r.Reloads)
		return
	}
	h.printf("  config %s at %s: %s\n", h.red("NOT updated"), when, r.Error)
	if !r.LastGoodAt.IsZero() {
		h.printf("  nginx keeps serving the last good config, from %s\n", r.LastGoodAt.Local().Format(time.DateTime))
	}
}

func (h *human) red(s string) string   { return h.c.red + s + h.c.reset }
func (h *human) green(s string) string { return h.c.green + s + h.c.reset }

func (h *human) state(state string) string {
	switch state {
	case plan.ContainerRunning:
		return h.green(state)
	case plan.StateMissing, plan.ContainerExited, plan.ContainerDead:
		return h.red(state)
	}
	return state
}

func (h *human) health(health string) string {
	switch health {
	case plan.CheckPassing:
		return h.green(health)
	case plan.CheckCritical, plan.HealthUnregistered:
		return h.red(health)
	}
	return health
}

func dash(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

// firstLine is a check output's first line, cut to fit a table row.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 80 {
		line = line[:77] + "..."
	}
	return line
}

// hosts lists a stack with hosts' machines: reached or not (and what a
// lost one held), its Consul agent, its workers.
func (h *human) hosts(hosts []plan.HostStatus) {
	if len(hosts) == 0 {
		return
	}
	h.printf("\n%sHosts%s\n", h.c.bold, h.c.reset)
	for _, hs := range hosts {
		role := "client"
		if hs.Server {
			role = "server"
		}
		switch {
		case hs.Excluded && !hs.Reached:
			h.printf("  %s  %s (left out of this run)\n", hs.Name, h.red("unreachable"))
		case !hs.Reached:
			h.printf("  %s  %s: %s\n", hs.Name, h.red("unreachable"), hs.Held)
		default:
			h.printf("  %s  %s, Consul %s %s (%s), %d workers running\n", hs.Name, h.green("reached"), role,
				hs.Agent, h.state(hs.AgentState), hs.Workers)
		}
	}
}
