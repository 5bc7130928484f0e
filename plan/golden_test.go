package plan_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
)

func TestGoldenPlans(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			state := observe(t, sc)
			p := plan.Compute(sc.desired, state)
			var human, js, md bytes.Buffer
			if err := views.Human(&human, p, false); err != nil {
				t.Fatal(err)
			}
			if err := views.JSON(&js, p); err != nil {
				t.Fatal(err)
			}
			if err := views.Markdown(&md, p, views.MarkdownOptions{Fingerprint: plan.Fingerprint(state)}); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(human.Bytes(), []byte("\x1b[")) {
				t.Error("plain output has colour codes")
			}
			golden.Assert(t, sc.name+".txt.golden", human.Bytes())
			golden.Assert(t, sc.name+".json.golden", js.Bytes())
			golden.Assert(t, sc.name+".md.golden", md.Bytes())
		})
	}
}

func TestGoldenColour(t *testing.T) {
	sc := scenarioNamed(t, "image_change")
	var human bytes.Buffer
	if err := views.Human(&human, observeAndCompute(t, sc), true); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "image_change.colour.golden", human.Bytes())
}

func observeAndCompute(t *testing.T, sc scenario) *plan.Plan {
	t.Helper()
	return plan.Compute(sc.desired, observe(t, sc))
}

func observe(t *testing.T, sc scenario) *plan.State {
	t.Helper()
	state, err := sc.world().Observer().Observe(context.Background(), sc.desired)
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	return state
}

func scenarioNamed(t *testing.T, name string) scenario {
	for _, sc := range scenarios() {
		if sc.name == name {
			return sc
		}
	}
	t.Fatalf("no scenario %s", name)
	return scenario{}
}
