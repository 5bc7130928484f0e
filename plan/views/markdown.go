package views

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/plan"
)

// MarkdownLimit is the most characters GitHub keeps in a comment. Markdown
// counts bytes, of which there are never fewer.
const MarkdownLimit = 65536

// MarkdownOptions is what the markdown view shows beside the plan.
type MarkdownOptions struct {
	// Fingerprint is plan.Fingerprint of the live state the plan was
	// computed from: the value a plan saved with -out records, and apply
	// compares. Empty leaves it out.
	Fingerprint string
	// Limit is the most bytes the comment may take; 0 is MarkdownLimit.
	Limit int
}

// MarkdownMarker is the hidden first line of a stack's plan comment, by
// which a CI job finds the comment it posted before and updates it.
func MarkdownMarker(stack string) string {
	return "<!-- stackctl-plan: " + markerName(stack) + " -->"
}

// Markdown writes the plan as a pull-request comment: a summary table, the
// warnings, and the groups the human view shows, each folded in a
// <details> section, step by step with what it replaces and waits for.
//
// Env values are never shown, not even those the stack file does not mark
// secret: a comment is read by everyone who can read the pull request (of
// a public repository, everyone), and whether a variable is secret is only
// a guess from its name. A hash would not hide them either, as most values
// are short enough to guess. The field and the kind of change are shown.
//
// A plan too long for a comment keeps its head, its warnings and as many
// steps as fit, then says what it left out.
func Markdown(w io.Writer, p *plan.Plan, o MarkdownOptions) error {
	limit := o.Limit
	if limit <= 0 {
		limit = MarkdownLimit
	}
	m := &markdown{p: p, o: o, index: newGroupIndex(p)}
	doc := m.document(math.MaxInt)
	if len(doc) > limit {
		doc = m.document(limit)
	}
	_, err := io.WriteString(w, doc)
	return err
}

// truncationReserve is kept free of detail when a plan is cut: enough for
// the note saying what was left out, and the line before a group's diffs.
const truncationReserve = 512

type markdown struct {
	p     *plan.Plan
	o     MarkdownOptions
	index *groupIndex
	// maskedEnv records that an env value was left out, for the foot.
	maskedEnv bool
}

// document renders the comment within limit bytes (math.MaxInt: all of
// it). The head and foot are always shown; warnings, then groups and
// steps, take what is left in order.
func (m *markdown) document(limit int) string {
	m.maskedEnv = false
	head := m.head()
	b := &budget{left: limit}
	if limit != math.MaxInt {
		b.left -= len(head) + len(m.foot(true)) + truncationReserve
	}
	var body strings.Builder
	left := &omitted{}
	for _, w := range m.p.Warnings {
		m.warning(&body, b, w, left)
	}
	groups := m.p.Groups()
	for i, g := range groups {
		if b.cut {
			left.steps += len(g)
			continue
		}
		m.group(&body, b, i+1, len(groups), g, left)
	}
	if left.any() {
		body.WriteString(left.note(limit))
	}
	return head + body.String() + m.foot(m.maskedEnv)
}

func (m *markdown) head() string {
	var b strings.Builder
	title := "stackctl plan"
	if m.p.Mode == plan.ModeDestroy {
		title = "stackctl destroy"
	}
	fmt.Fprintf(&b, "%s\n## %s: %s\n\n", MarkdownMarker(m.p.Stack), title, mdCode(m.p.Stack))
	switch {
	case m.p.Empty() && m.p.Mode == plan.ModeDestroy:
		fmt.Fprintf(&b, "**Nothing to destroy.** Stack %s owns no containers, network, registrations or keys.\n\n", mdCode(m.p.Stack))
		return b.String()
	case m.p.Empty():
		fmt.Fprintf(&b, "**No changes.** Live state matches %s.\n\n", mdCode(m.stackFile()))
		return b.String()
	}
	s := m.p.Summary
	fmt.Fprintf(&b, "| Add | Change | Replace | Destroy |\n|---:|---:|---:|---:|\n| %d | %d | %d | %d |\n\n", s.Add, s.Change, s.Replace, s.Destroy)
	if t := m.p.LBTemplate; t != nil {
		fmt.Fprintf(&b, "LB template %s: %s\n\n", mdCode(t.File), mdText(t.Summary()))
	}
	return b.String()
}

// foot names where the plan came from, and says so when env values were
// left out.
func (m *markdown) foot(maskedEnv bool) string {
	parts := []string{"Stack file " + mdCode(m.stackFile())}
	if m.o.Fingerprint != "" {
		parts = append(parts, "live state fingerprint "+mdCode(m.o.Fingerprint))
	}
	foot := "<sub>" + strings.Join(parts, " · ") + "</sub>\n"
	if maskedEnv {
		foot = "<sub>Env values are not shown in a comment; `stackctl plan` shows those that are not secret.</sub><br>\n" + foot
	}
	return foot
}

func (m *markdown) stackFile() string {
	if m.p.StackFile == "" {
		return "stack.yaml"
	}
	return m.p.StackFile
}

// warning writes a warning as a GitHub alert; without its detail when the
// whole of it does not fit.
func (m *markdown) warning(out *strings.Builder, b *budget, w plan.Warning, left *omitted) {
	head := "> [!WARNING]\n> " + mdText(w.Summary) + "\n"
	var detail strings.Builder
	for _, d := range w.Detail {
		detail.WriteString("> - " + mdText(d) + "\n")
	}
	full := head + detail.String() + "\n"
	brief := head + ">\n> _" + plural(len(w.Detail), "line") + " of detail left out._\n\n"
	switch {
	case b.fits(full):
		out.WriteString(full)
	case len(w.Detail) > 0 && b.take(brief):
		out.WriteString(brief)
	default:
		b.cut = true
		left.warnings++
	}
}

// budget is the bytes left for detail. Once something did not fit, cut is
// set and nothing more is added: what is shown is a prefix of the plan.
type budget struct {
	left int
	cut  bool
}

// fits takes s when it fits, for text that has a shorter form to fall
// back on.
func (b *budget) fits(s string) bool {
	if b.cut || len(s) > b.left {
		return false
	}
	b.left -= len(s)
	return true
}

// take is fits for text that has no shorter form: when it does not fit,
// the plan is cut there.
func (b *budget) take(s string) bool {
	if b.fits(s) {
		return true
	}
	b.cut = true
	return false
}

// omitted counts what a cut plan leaves out.
type omitted struct {
	warnings int // not shown at all
	steps    int // not shown at all
	brief    int // shown without their changes
}

func (o *omitted) any() bool { return o.warnings > 0 || o.steps > 0 || o.brief > 0 }

func (o *omitted) note(limit int) string {
	var parts []string
	if o.warnings > 0 {
		parts = append(parts, plural(o.warnings, "warning")+" not shown")
	}
	if o.steps > 0 {
		parts = append(parts, plural(o.steps, "step")+" not shown")
	}
	switch {
	case o.brief == 1:
		parts = append(parts, "1 step shown without its changes")
	case o.brief > 1:
		parts = append(parts, plural(o.brief, "step")+" shown without their changes")
	}
	return "> [!NOTE]\n> This plan is too long for one comment of at most " + strconv.Itoa(limit) +
		" characters: " + strings.Join(parts, ", ") + ". `stackctl plan` shows all of it.\n\n"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// markerName is the stack's name as the marker holds it: a stack name
// needs nothing more, but nothing else may end the HTML comment.
func markerName(stack string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, stack)
}
