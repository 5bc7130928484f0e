package views

import (
	"fmt"
	"strings"

	"github.com/stackctl/stackctl/plan"
)

// group writes a group as a folded <details> section: what the human view
// says of it in the summary line, then a table of its steps and the text
// diffs of those that have them. Steps whose changes do not fit are shown
// without them; the group ends where a step does not fit at all.
func (m *markdown) group(out *strings.Builder, b *budget, n, total int, steps []plan.Step, left *omitted) {
	how, perStep := m.index.describe(steps)
	cols := columnsFor(steps, perStep)
	open := fmt.Sprintf("<details><summary><b>Group %d/%d</b>: %s (%s)</summary>\n\n%s",
		n, total, htmlCode(steps[0].Group), htmlText(how), cols.header())
	const closing = "\n</details>\n\n"
	if !b.take(open + closing) {
		left.steps += len(steps)
		return
	}
	var rows, diffs strings.Builder
	shown := 0
	for _, st := range steps {
		full := m.step(st, cols, false)
		if b.fits(full.row + full.diffs) {
			rows.WriteString(full.row)
			diffs.WriteString(full.diffs)
			m.maskedEnv = m.maskedEnv || full.maskedEnv
			shown++
			continue
		}
		if brief := m.step(st, cols, true); b.take(brief.row) {
			rows.WriteString(brief.row)
			left.brief++
			shown++
			continue
		}
		break
	}
	left.steps += len(steps) - shown
	out.WriteString(open + rows.String())
	if diffs.Len() > 0 {
		out.WriteString("\n" + strings.TrimSuffix(diffs.String(), "\n"))
	}
	out.WriteString(closing)
}

// columns are the optional columns of a group's table: each only when a
// step of the group has something in it.
type columns struct {
	replaces bool // a replace names the container it takes the place of
	after    bool // what each step waits for, when the group's summary cannot say it once
	changes  bool // field diffs, or a pointer to the text diffs below
}

func columnsFor(steps []plan.Step, perStep bool) columns {
	c := columns{after: perStep}
	for _, st := range steps {
		c.replaces = c.replaces || st.Replaces != ""
		c.changes = c.changes || len(st.Diff) > 0 || st.TextDiff != "" || st.RenderedDiff != ""
	}
	return c
}

func (c columns) header() string {
	names := []string{"Action", "Step", "Why"}
	if c.replaces {
		names = append(names, "Replaces")
	}
	if c.after {
		names = append(names, "After")
	}
	if c.changes {
		names = append(names, "Changes")
	}
	return "| " + strings.Join(names, " | ") + " |\n|" + strings.Repeat("---|", len(names)) + "\n"
}

// mdStep is a step as the markdown view shows it: its table row, and the
// text diffs that go below the table.
type mdStep struct {
	row, diffs string
	maskedEnv  bool
}

// step renders a step; brief leaves its changes out.
func (m *markdown) step(st plan.Step, c columns, brief bool) mdStep {
	sym, _ := symbol(st.Action, colors{})
	cells := []string{
		mdText(sym) + " " + string(st.Action),
		string(st.Kind) + " " + mdCode(st.Target) + mdText(where(st)),
		mdText(st.Reason),
	}
	if c.replaces {
		cells = append(cells, replacesCell(st))
	}
	if c.after {
		cells = append(cells, m.afterCell(st))
	}
	var s mdStep
	if c.changes {
		var changes string
		changes, s.maskedEnv = changesCell(st, brief)
		cells = append(cells, changes)
	}
	for i := range cells {
		cells[i] = mdCell(cells[i])
	}
	s.row = "| " + strings.Join(cells, " | ") + " |\n"
	if !brief {
		s.diffs = textDiffs(st)
	}
	return s
}

func replacesCell(st plan.Step) string {
	if st.Replaces == "" {
		return ""
	}
	return "container " + mdCode(plan.ShortID(st.Replaces))
}

func (m *markdown) afterCell(st plan.Step) string {
	names := m.index.afterNames(st.DependsOn)
	for i, n := range names {
		names[i] = mdCode(n)
	}
	return strings.Join(names, ", ")
}

// changesCell lists a step's field diffs, one per line; maskedEnv reports
// that an env value was left out.
func changesCell(st plan.Step, brief bool) (cell string, maskedEnv bool) {
	if brief && (len(st.Diff) > 0 || st.TextDiff != "" || st.RenderedDiff != "") {
		return "_left out: the comment would be too long_", false
	}
	var lines []string
	for _, d := range st.Diff {
		line, masked := fieldLine(d)
		lines = append(lines, line)
		maskedEnv = maskedEnv || masked
	}
	if st.TextDiff != "" || st.RenderedDiff != "" {
		lines = append(lines, "diff below")
	}
	return strings.Join(lines, "<br>"), maskedEnv
}

// fieldLine is a field diff as the human view writes it, with the values
// of env variables replaced by plan.Sensitive whether or not they are
// secret (see Markdown).
func fieldLine(d plan.FieldDiff) (line string, maskedEnv bool) {
	before, after := d.Before, d.After
	if strings.HasPrefix(d.Field, "env.") {
		before, after = maskValue(before), maskValue(after)
		maskedEnv = !d.Sensitive && (before != "" || after != "")
	}
	field := mdCode(d.Field)
	switch {
	case before == "":
		return "+ " + field + " = " + mdValue(after), maskedEnv
	case after == "":
		return "- " + field + " = " + mdValue(before), maskedEnv
	}
	return "\\~ " + field + " = " + mdValue(before) + " → " + mdValue(after), maskedEnv
}

// maskValue is plan.Sensitive for a value that is there, "" for one that
// is absent: that a variable is added or removed is not a secret.
func maskValue(v string) string {
	if v == "" {
		return ""
	}
	return plan.Sensitive
}

// mdValue is a value in a code span, or one of the plan's markers in
// italics.
func mdValue(v string) string {
	if v == plan.Sensitive || v == plan.KnownAfterApply {
		return "_" + mdText(v) + "_"
	}
	return mdCode(v)
}

// textDiffs are a template step's unified diffs, as fenced diff blocks.
func textDiffs(st plan.Step) string {
	var b strings.Builder
	if st.TextDiff != "" {
		fmt.Fprintf(&b, "%s %s:\n\n%s\n", st.Kind, mdCode(st.Target), mdFence("diff", st.TextDiff))
	}
	if st.RenderedDiff != "" {
		fmt.Fprintf(&b, "Config nginx would serve, over the instances registered now:\n\n%s\n", mdFence("diff", st.RenderedDiff))
	}
	return b.String()
}
