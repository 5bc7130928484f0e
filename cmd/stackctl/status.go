package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackctl/stackctl/internal/lbsync"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// statusOptions are status's flags.
type statusOptions struct {
	file string
	json bool
}

func newStatusCmd() *cobra.Command {
	var opts statusOptions
	cmd := &cobra.Command{
		Use:   "status [-f FILE] [--json]",
		Short: "Show what runs, where, and whether Consul sees it passing",
		Long: `Status lists the stack's containers with their state, address and published
ports, the health of each worker as Consul sees it, and the load balancer's
last render: whether the config nginx serves is current, or why the latest
render was refused. It changes nothing.

Exit status is 0 when the status could be read, whatever it shows, and 1 when
Docker or Consul could not be reached.`,
		Example: `  stackctl status -f stack.yaml
  stackctl status --json | jq '.workers[] | select(.health != "passing")'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runStatus(ctx, cmd.OutOrStdout(), opts)
		},
	}
	addFileFlag(cmd, &opts.file)
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the status as JSON")
	return cmd
}

func runStatus(ctx context.Context, stdout io.Writer, o statusOptions) error {
	stack, err := spec.Load(o.file)
	if err != nil {
		return exitWith(exitFailure, err)
	}
	state, err := observe(ctx, stack)
	if err != nil {
		return exitWith(exitFailure, fmt.Errorf("cannot read the live state of stack %s: %w", stack.Name, err))
	}
	st := buildStatus(stack, state)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return printStatus(stdout, st, styleFor(stdout))
}

// stackStatus is the JSON form of `stackctl status --json`.
type stackStatus struct {
	Stack      string         `json:"stack"`
	Network    string         `json:"network,omitempty"` // empty: missing
	Consul     consulStatus   `json:"consul"`
	Workers    []workerStatus `json:"workers"`
	LB         *lbStatus      `json:"lb,omitempty"`
	Unfinished []string       `json:"unfinished_apply,omitempty"`
}

type consulStatus struct {
	Container string `json:"container,omitempty"` // managed server's name
	State     string `json:"state,omitempty"`     // its Docker state, or "missing"
	Address   string `json:"address,omitempty"`
	Reached   bool   `json:"reached"`
}

type workerStatus struct {
	Service string   `json:"service"`
	Slot    int      `json:"slot"`
	Name    string   `json:"name"`
	State   string   `json:"state"` // Docker state, or "missing"
	Image   string   `json:"image,omitempty"`
	Address string   `json:"address,omitempty"`
	Health  string   `json:"health"` // passing, warning, critical, unregistered
	Output  string   `json:"output,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

type lbStatus struct {
	Container string   `json:"container"`
	State     string   `json:"state"`
	Ports     []string `json:"ports,omitempty"`
	// Render is the LB's own report from Consul KV, nil before its first.
	Render *lbsync.Status `json:"render,omitempty"`
}

const (
	stateMissing     = "missing"
	healthUnregister = "unregistered"
)

// buildStatus joins the desired stack and what is live into one view: each
// desired slot with its container and registration, then whatever the stack
// owns beyond the file (orphans, and old containers an apply keeps).
func buildStatus(desired *spec.Stack, state *plan.State) stackStatus {
	st := stackStatus{Stack: desired.Name}
	if state.Network != nil {
		st.Network = state.Network.Name
	}
	st.Consul = consulStatus{Address: state.Consul.Address, Reached: state.Consul.Reached}
	if desired.Consul.Managed() {
		st.Consul.Container = desired.ConsulContainerName()
		st.Consul.State = containerState(state.Container(st.Consul.Container))
	}

	regs := map[string]*plan.Registration{}
	for i := range state.Consul.Registrations {
		r := &state.Consul.Registrations[i]
		regs[r.ID] = r
	}
	seen := map[string]bool{}
	for _, svc := range desired.Services {
		for slot := 1; slot <= svc.Replicas; slot++ {
			name := desired.WorkerName(svc.Name, slot)
			seen[name] = true
			st.Workers = append(st.Workers, workerRow(svc.Name, slot, name, state, regs))
		}
	}
	for _, c := range state.Containers {
		if c.Labels[spec.LabelRole] != plan.RoleWorker || seen[c.Name] {
			continue
		}
		slot, _ := strconv.Atoi(c.Labels[spec.LabelSlot])
		w := workerRow(c.Labels[spec.LabelService], slot, c.Name, state, regs)
		w.Notes = append(w.Notes, "not in the stack file")
		seen[c.Name] = true
		st.Workers = append(st.Workers, w)
	}
	for id, r := range regs {
		if !seen[id] {
			slot, _ := strconv.Atoi(r.Meta[plan.MetaSlot])
			st.Workers = append(st.Workers, workerStatus{
				Service: r.Service, Slot: slot, Name: id, State: stateMissing,
				Address: r.Address + ":" + strconv.Itoa(r.Port), Health: healthOf(r), Output: r.Output,
				Notes: []string{"registration without a container"},
			})
		}
	}
	sort.SliceStable(st.Workers, func(i, j int) bool {
		a, b := st.Workers[i], st.Workers[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Slot != b.Slot {
			return a.Slot < b.Slot
		}
		return a.Name < b.Name
	})

	if desired.LB != nil {
		name := desired.LBContainerName()
		c := state.Container(name)
		lb := &lbStatus{Container: name, State: containerState(c)}
		if c != nil {
			for _, p := range c.Ports {
				lb.Ports = append(lb.Ports, fmt.Sprintf("%s:%d->%d/%s", p.HostIP, p.HostPort, p.ContainerPort, p.Protocol))
			}
		}
		if state.Consul.LBStatus != nil {
			if r, err := lbsync.ParseStatus([]byte(*state.Consul.LBStatus)); err == nil {
				lb.Render = &r
			}
		}
		st.LB = lb
	}
	if state.Consul.Journal != nil {
		st.Unfinished = unfinishedSteps(*state.Consul.Journal)
	}
	return st
}

func workerRow(svc string, slot int, name string, state *plan.State, regs map[string]*plan.Registration) workerStatus {
	w := workerStatus{Service: svc, Slot: slot, Name: name, Health: healthUnregister}
	c := state.Container(name)
	w.State = containerState(c)
	if c != nil {
		w.Image = c.ImageRef
		if ip := c.IP(state.Stack); ip != "" {
			w.Address = ip
		}
	}
	if r := regs[name]; r != nil {
		w.Health = healthOf(r)
		w.Output = r.Output
		w.Address = r.Address + ":" + strconv.Itoa(r.Port)
	}
	return w
}

func healthOf(r *plan.Registration) string {
	if r.Status == plan.CheckNone {
		return "no check"
	}
	return r.Status
}

func containerState(c *plan.Container) string {
	if c == nil {
		return stateMissing
	}
	return c.State
}

// unfinishedSteps lists the steps an interrupted apply did not finish, from
// its journal; a journal that cannot be read is reported as such.
func unfinishedSteps(raw string) []string {
	var j plan.Journal
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return []string{"journal unreadable: " + err.Error()}
	}
	var left []string
	for _, s := range j.Steps {
		if s.Status != plan.JournalDone {
			left = append(left, s.ID+" ("+s.Status+")")
		}
	}
	if len(left) == 0 {
		left = []string{"all steps done; the apply did not finish its clean-up"}
	}
	return left
}

func printStatus(w io.Writer, st stackStatus, s style) error {
	fmt.Fprintf(w, "%s %s\n", s.bold("Stack"), st.Stack)
	network := st.Network
	if network == "" {
		network = s.red(stateMissing)
	}
	fmt.Fprintf(w, "  network  %s\n", network)
	consul := "external agent"
	if st.Consul.Container != "" {
		consul = st.Consul.Container + " (" + colourState(s, st.Consul.State) + ")"
	}
	reach := s.red("not reached")
	if st.Consul.Reached {
		reach = s.green("reached")
	}
	if st.Consul.Address != "" {
		reach += " at " + st.Consul.Address
	}
	fmt.Fprintf(w, "  consul   %s, %s\n", consul, reach)

	if len(st.Unfinished) > 0 {
		fmt.Fprintf(w, "\n%s an apply did not finish; run apply again to converge. Steps left:\n", s.red("Warning:"))
		for _, l := range st.Unfinished {
			fmt.Fprintf(w, "  - %s\n", l)
		}
	}

	fmt.Fprintf(w, "\n%s\n", s.bold("Workers"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tSTATE\tHEALTH\tADDRESS\tIMAGE\tNOTES")
	counts := map[string]int{}
	for _, wk := range st.Workers {
		counts[wk.Health]++
		notes := strings.Join(wk.Notes, "; ")
		if wk.Output != "" && wk.Health != plan.CheckPassing {
			notes = strings.TrimSpace(strings.Join([]string{notes, firstLine(wk.Output)}, " "))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", wk.Name, colourState(s, wk.State), colourHealth(s, wk.Health),
			dash(wk.Address), dash(wk.Image), notes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "  %d passing of %d\n", counts[plan.CheckPassing], len(st.Workers))

	if st.LB != nil {
		fmt.Fprintf(w, "\n%s\n", s.bold("Load balancer"))
		fmt.Fprintf(w, "  %s (%s) %s\n", st.LB.Container, colourState(s, st.LB.State), strings.Join(st.LB.Ports, ", "))
		printRender(w, st.LB.Render, s)
	}
	return nil
}

func printRender(w io.Writer, r *lbsync.Status, s style) {
	if r == nil {
		fmt.Fprintln(w, "  no render reported yet")
		return
	}
	when := r.RenderedAt.Local().Format(time.DateTime)
	if r.OK {
		fmt.Fprintf(w, "  config %s, %d passing instances, rendered %s, %d reloads\n",
			s.green("current"), r.Instances, when, r.Reloads)
		return
	}
	fmt.Fprintf(w, "  config %s at %s: %s\n", s.red("NOT updated"), when, r.Error)
	if !r.LastGoodAt.IsZero() {
		fmt.Fprintf(w, "  nginx keeps serving the last good config, from %s\n", r.LastGoodAt.Local().Format(time.DateTime))
	}
}

func colourState(s style, state string) string {
	switch state {
	case plan.ContainerRunning:
		return s.green(state)
	case stateMissing, plan.ContainerExited, plan.ContainerDead:
		return s.red(state)
	}
	return state
}

func colourHealth(s style, h string) string {
	switch h {
	case plan.CheckPassing:
		return s.green(h)
	case plan.CheckCritical, healthUnregister:
		return s.red(h)
	}
	return h
}

func dash(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 80 {
		line = line[:77] + "..."
	}
	return line
}
