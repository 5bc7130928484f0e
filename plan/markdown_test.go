package plan_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

func markdown(t *testing.T, p *plan.Plan, o views.MarkdownOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := views.Markdown(&b, p, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// No env value reaches a pull request, secret or not: neither of a
// changed variable, nor of a new worker's.
func TestMarkdownNeverShowsEnvValues(t *testing.T) {
	for _, name := range []string{"env_change", "update_2_workers", "unfinished_apply", "secrets_masked", "secrets_masked_create"} {
		sc := scenarioNamed(t, name)
		md := markdown(t, observeAndCompute(t, sc), views.MarkdownOptions{})
		for _, value := range []string{`"8"`, "`8`", "`9`", "debug", secretOld, secretNew} {
			if strings.Contains(md, value) {
				t.Errorf("%s: the markdown shows the env value %s:\n%s", name, value, md)
			}
		}
		if !strings.Contains(md, "= _(sensitive)_") {
			t.Errorf("%s: the markdown does not say an env variable changes:\n%s", name, md)
		}
	}
}

func TestMarkdownStartsWithItsMarker(t *testing.T) {
	md := markdown(t, observeAndCompute(t, scenarioNamed(t, "no_changes")), views.MarkdownOptions{})
	if first, _, _ := strings.Cut(md, "\n"); first != "<!-- stackctl-plan: primes -->" || first != views.MarkdownMarker("primes") {
		t.Errorf("first line %q", first)
	}
	if got := views.MarkdownMarker("a-->b <x>"); got != "<!-- stackctl-plan: a--_b__x_ -->" {
		t.Errorf("marker of a hostile name: %q", got)
	}
}

// hostilePlan has every user-controlled string a markdown table or code
// span could trip on.
func hostilePlan() *plan.Plan {
	step := plan.Step{
		ID: "worker/x", Group: "workers/we|b/1", Action: plan.ActionReplace, Kind: plan.KindWorker,
		Target: "x|`y`", Service: "we|b", Slot: 1, Reason: "a | b `c` <details> *d*\nnext line",
		Replaces: "0123456789abcdef0123",
		Diff: []plan.FieldDiff{
			{Field: "image", Before: "img|``v1", After: "`img:v2`"},
			{Field: "command", Before: "", After: `["sh","-c","echo | tee"]`},
		},
	}
	other := step
	other.ID, other.Target, other.DependsOn = "worker/z", "z", []string{"worker/x"}
	return &plan.Plan{FormatVersion: plan.FormatVersion, Stack: "primes", StackFile: "st|ack.yaml",
		Steps:    []plan.Step{step, other},
		Warnings: []plan.Warning{{Summary: "</details> | `", Detail: []string{"<!-- x -->", "line\nbreak"}}},
		Summary:  plan.Summary{Replace: 2}}
}

// A name, image or message with pipes, backticks, HTML or line breaks
// neither adds a column to a table nor ends a code span or a section.
func TestMarkdownEscapesWhatTheStackControls(t *testing.T) {
	md := markdown(t, hostilePlan(), views.MarkdownOptions{})
	golden.Assert(t, "markdown_escaped.md.golden", []byte(md))
	var header int
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := tableCells(line)
		if strings.HasPrefix(line, "| Action ") {
			header = cells
			continue
		}
		if header != 0 && cells != header {
			t.Errorf("row of %d cells under a header of %d: %s", cells, header, line)
		}
	}
	if header == 0 {
		t.Fatal("no step table")
	}
	for _, bad := range []string{"<details> *d*", "</details> |", "- <!-- x", "\nnext line", "\nbreak"} {
		if strings.Contains(md, bad) {
			t.Errorf("the markdown has %q unescaped", bad)
		}
	}
	if n, m := strings.Count(md, "<details>"), strings.Count(md, "</details>"); n != 1 || m != 1 {
		t.Errorf("%d <details> and %d </details>, want one each", n, m)
	}
	if !strings.Contains(md, "`` `img:v2` ``") || !strings.Contains(md, "```img\\|``v1```") {
		t.Errorf("values with backticks are not in wider code spans:\n%s", md)
	}
}

// tableCells counts a row's cells as GitHub splits it: at every pipe not
// escaped by a backslash.
func tableCells(row string) int {
	n := 0
	for i := 1; i < len(row); i++ {
		if row[i] == '|' && row[i-1] != '\\' {
			n++
		}
	}
	return n
}

// A plan too long for a comment keeps under GitHub's limit, shows what
// fits and says what it left out; its sections stay closed.
func TestMarkdownOfAHugePlanFitsInAComment(t *testing.T) {
	big := primes(1000, func(s *spec.Stack) { web(s).Update.Parallelism = 1000 })
	w := planfake.NewWorld()
	w.AddImages(big)
	state, err := w.Observer().Observe(t.Context(), big)
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Compute(big, state)
	var full bytes.Buffer
	if err := views.Human(&full, p, false); err != nil || full.Len() < 2*views.MarkdownLimit {
		t.Fatalf("the plan is not big enough to test (%d bytes): %v", full.Len(), err)
	}
	md := markdown(t, p, views.MarkdownOptions{Fingerprint: plan.Fingerprint(state)})
	if len(md) > views.MarkdownLimit || len(md) < views.MarkdownLimit-4096 {
		t.Errorf("%d bytes, want at most %d and not far below", len(md), views.MarkdownLimit)
	}
	for _, want := range []string{"> [!NOTE]\n> This plan is too long for one comment", "steps not shown", "primes-web-1`",
		"live state fingerprint `" + plan.Fingerprint(state) + "`</sub>\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("the cut markdown lacks %q", want)
		}
	}
	if !strings.HasSuffix(md, "</sub>\n") || strings.Count(md, "<details>") != strings.Count(md, "</details>") {
		t.Errorf("the cut markdown does not end whole:\n%s", md[len(md)-500:])
	}
}

// The cut is pinned on a small limit: the groups and steps that fit, in
// plan order, then the note; no limit is overrun.
func TestMarkdownCutGolden(t *testing.T) {
	sc := scenarioNamed(t, "rolling_update_8_by_4")
	state := observe(t, sc)
	p := plan.Compute(sc.desired, state)
	o := views.MarkdownOptions{Fingerprint: plan.Fingerprint(state)}
	for o.Limit = 1500; o.Limit <= 3300; o.Limit += 25 {
		if md := markdown(t, p, o); len(md) > o.Limit {
			t.Errorf("limit %d: %d bytes", o.Limit, len(md))
		}
	}
	o.Limit = 2700
	golden.Assert(t, "markdown_cut.md.golden", []byte(markdown(t, p, o)))
}

// A step whose template diff alone is over the limit is still listed,
// without its diff, and the steps after it are shown.
func TestMarkdownLeavesOutADiffTooLongForTheComment(t *testing.T) {
	p := hostilePlan()
	p.Steps[0].TextDiff = strings.Repeat("+ a long line of nginx config\n", 4000)
	md := markdown(t, p, views.MarkdownOptions{})
	if len(md) > views.MarkdownLimit || !strings.Contains(md, "1 step shown without its changes") ||
		!strings.Contains(md, "_left out: the comment would be too long_") || !strings.Contains(md, "| worker `z` (") {
		t.Errorf("%d bytes:\n%.3000s", len(md), md)
	}
}

// docs/plan-markdown.md shows the golden file's example as it is.
func TestMarkdownDocShowsTheGoldenExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/plan-markdown.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("testdata/update_2_workers.md.golden")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, append([]byte("````markdown\n"), example...)) {
		t.Error("docs/plan-markdown.md does not show testdata/update_2_workers.md.golden as it is: copy it in")
	}
}
