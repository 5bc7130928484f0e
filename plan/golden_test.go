package plan_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func TestGoldenPlans(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			p := observeAndCompute(t, sc)
			var human, js bytes.Buffer
			if err := views.Human(&human, p, false); err != nil {
				t.Fatal(err)
			}
			if err := views.JSON(&js, p); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(human.Bytes(), []byte("\x1b[")) {
				t.Error("plain output has colour codes")
			}
			golden(t, sc.name+".txt.golden", human.Bytes())
			golden(t, sc.name+".json.golden", js.Bytes())
		})
	}
}

func TestGoldenColour(t *testing.T) {
	sc := scenarioNamed(t, "image_change")
	var human bytes.Buffer
	if err := views.Human(&human, observeAndCompute(t, sc), true); err != nil {
		t.Fatal(err)
	}
	golden(t, "image_change.colour.golden", human.Bytes())
}

func observeAndCompute(t *testing.T, sc scenario) *plan.Plan {
	t.Helper()
	state, err := sc.world().Observer().Observe(context.Background(), sc.desired)
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	return plan.Compute(sc.desired, state)
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

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./plan -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test ./plan -update to accept):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines where two texts part.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(same lines, different bytes)"
}
