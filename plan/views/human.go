// Package views renders a plan for people (Human), for programs (JSON) and
// for pull requests (Markdown).
// None reads live state, only the plan (and what the caller hands over, such
// as the fingerprint markdown shows): what is shown is what apply would do.
package views

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/plan"
)

// Human writes the plan the way `terraform plan` does: every step under its
// group, with its reason and field diffs, then warnings and a summary line.
// What each step waits for is said with its group, or with the step.
// Colour is for terminals; callers turn it off for NO_COLOR and pipes.
func Human(w io.Writer, p *plan.Plan, color bool) error {
	h := &human{w: w, c: palette(color)}
	h.render(p)
	return h.err
}

type human struct {
	w   io.Writer
	c   colors
	err error
}

func (h *human) printf(format string, args ...any) {
	if h.err == nil {
		_, h.err = fmt.Fprintf(h.w, format, args...)
	}
}

func (h *human) render(p *plan.Plan) {
	file := "stack.yaml"
	if p.StackFile != "" {
		file = filepath.Base(p.StackFile)
	}
	if p.Empty() {
		h.warnings(p.Warnings)
		h.printf("%sNo changes.%s Live state matches %s.\n", h.c.bold, h.c.reset, file)
		return
	}
	h.printf("stackctl will perform the following actions on stack %s (%s):\n", p.Stack, file)
	if t := p.LBTemplate; t != nil {
		h.printf("  LB template %s: %s\n", t.File, t.Summary())
	}
	groups, index := p.Groups(), newGroupIndex(p)
	for i, g := range groups {
		h.group(i+1, len(groups), g, index)
	}
	h.printf("\n")
	h.warnings(p.Warnings)
	h.printf("%sPlan:%s %s.\n", h.c.bold, h.c.reset, p.Summary)
}

// group writes a group's header and steps. What the steps wait for is said
// once in the header when it is the same for all of them, as it is for a
// batch of workers, and under each step otherwise (see describe).
func (h *human) group(n, total int, steps []plan.Step, index *groupIndex) {
	how, perStep := index.describe(steps)
	h.printf("\n%sGroup %d/%d: %s%s (%s)\n", h.c.bold, n, total, steps[0].Group, h.c.reset, how)
	for _, st := range steps {
		after := ""
		if perStep && len(st.DependsOn) > 0 {
			after = index.after(st.DependsOn)
		}
		h.step(st, after)
	}
}

func (h *human) step(st plan.Step, after string) {
	sym, color := symbol(st.Action, h.c)
	h.printf("  %s# %s %s %s:%s %s\n", h.c.dim, st.Kind, st.Target, phrase(st), h.c.reset, st.Reason)
	h.printf("  %s%s%s %s %s%s%s\n", color, sym, h.c.reset, st.Kind, st.Target, where(st), replaces(st))
	if after != "" {
		h.printf("      %safter %s%s\n", h.c.dim, after, h.c.reset)
	}
	for _, d := range st.Diff {
		h.field(d)
	}
	if st.TextDiff != "" {
		h.textDiff(st.TextDiff)
	}
	if st.RenderedDiff != "" {
		h.printf("      %sconfig nginx would serve, over the instances registered now:%s\n", h.c.dim, h.c.reset)
		h.textDiff(st.RenderedDiff)
	}
}

// where says which slot a step is for and, in a stack with hosts, on
// which host (and host port) it runs.
func where(st plan.Step) string {
	on := ""
	if st.Host != "" {
		on = " on " + st.Host
		if st.HostPort != 0 {
			on += fmt.Sprintf(", host port %d", st.HostPort)
		}
		if st.Home != "" {
			on += ", standing in for host " + st.Home
		}
	}
	if st.Service == "" || st.Slot == 0 {
		return on
	}
	return fmt.Sprintf(" (%s, slot %d)%s", st.Service, st.Slot, on)
}

func replaces(st plan.Step) string {
	if st.Replaces == "" {
		return ""
	}
	return " replaces container " + plan.ShortID(st.Replaces)
}

func (h *human) field(d plan.FieldDiff) {
	switch {
	case d.Before == "":
		h.printf("      %s+%s %s = %s\n", h.c.green, h.c.reset, d.Field, value(d.After))
	case d.After == "":
		h.printf("      %s-%s %s = %s\n", h.c.red, h.c.reset, d.Field, value(d.Before))
	default:
		h.printf("      %s~%s %s = %s → %s\n", h.c.yellow, h.c.reset, d.Field, value(d.Before), value(d.After))
	}
}

// value quotes a value unless it is one of the plan's markers.
func value(v string) string {
	if v == plan.Sensitive || v == plan.KnownAfterApply {
		return v
	}
	return strconv.Quote(v)
}

func (h *human) textDiff(diff string) {
	for _, line := range strings.SplitAfter(strings.TrimSuffix(diff, "\n"), "\n") {
		line = strings.TrimSuffix(line, "\n")
		color := ""
		switch {
		case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
			color = h.c.bold
		case strings.HasPrefix(line, "+"):
			color = h.c.green
		case strings.HasPrefix(line, "-"):
			color = h.c.red
		case strings.HasPrefix(line, "@@"):
			color = h.c.cyan
		}
		if color == "" {
			h.printf("      %s\n", line)
			continue
		}
		h.printf("      %s%s%s\n", color, line, h.c.reset)
	}
}

func (h *human) warnings(ws []plan.Warning) {
	for _, w := range ws {
		h.printf("%sWarning:%s %s\n", h.c.yellowBold, h.c.reset, w.Summary)
		for _, d := range w.Detail {
			h.printf("  %s\n", d)
		}
		h.printf("\n")
	}
}

func phrase(st plan.Step) string {
	switch st.Action {
	case plan.ActionCreate:
		return "will be created"
	case plan.ActionBuild:
		return "will be built"
	case plan.ActionPull:
		return "will be pulled"
	case plan.ActionCopy:
		return "will be copied"
	case plan.ActionRegister:
		return "will be registered"
	case plan.ActionUpdate:
		return "will be updated in place"
	case plan.ActionStart:
		return "will be started"
	case plan.ActionRender:
		return "will be written, and the LB re-rendered"
	case plan.ActionReplace:
		return "must be replaced"
	case plan.ActionDestroy:
		return "will be destroyed"
	case plan.ActionDeregister:
		return "will be deregistered"
	}
	return "is unchanged"
}

func symbol(a plan.Action, c colors) (string, string) {
	switch a {
	case plan.ActionCreate, plan.ActionBuild, plan.ActionPull, plan.ActionCopy, plan.ActionRegister:
		return "+", c.green
	case plan.ActionUpdate, plan.ActionStart, plan.ActionRender:
		return "~", c.yellow
	case plan.ActionReplace:
		return "-/+", c.red
	case plan.ActionDestroy, plan.ActionDeregister:
		return "-", c.red
	}
	return " ", ""
}

type colors struct {
	reset, bold, dim, red, green, yellow, yellowBold, cyan string
}

func palette(on bool) colors {
	if !on {
		return colors{}
	}
	return colors{
		reset: "\x1b[0m", bold: "\x1b[1m", dim: "\x1b[2m",
		red: "\x1b[31m", green: "\x1b[32m", yellow: "\x1b[33m", yellowBold: "\x1b[1;33m", cyan: "\x1b[36m",
	}
}
