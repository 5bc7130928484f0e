package plan_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
)

func asEndpointError(err error, target **plan.EndpointError) bool { return errors.As(err, target) }

func TestFingerprint(t *testing.T) {
	desired := primes(3)
	w := planfake.Running(desired)
	state, err := w.Observe(desired)
	if err != nil {
		t.Fatal(err)
	}
	fp := plan.Fingerprint(state)

	again, _ := w.Observe(desired)
	if plan.Fingerprint(again) != fp {
		t.Fatal("fingerprint differs between two observations of an unchanged world")
	}

	w.Consul.SetStatus("primes-web-1", plan.CheckPassing, "HTTP GET ...: 200 OK at a new time")
	w.Consul.Put("stackctl/primes/lb/status", []byte(`{"rendered_at":"now"}`))
	noise, _ := w.Observe(desired)
	if plan.Fingerprint(noise) != fp {
		t.Error("fingerprint moved with check output or LB status, which change all the time")
	}

	for name, move := range map[string]func(){
		"container stopped": func() {
			w.Docker.UpdateContainer("primes-web-2", func(c *plan.Container) { c.State = plan.ContainerExited })
		},
		"check critical": func() { w.Consul.SetStatus("primes-web-1", plan.CheckCritical, "") },
		"journal":        func() { w.Consul.Put("stackctl/primes/journal", []byte("{}")) },
	} {
		move()
		moved, _ := w.Observe(desired)
		if plan.Fingerprint(moved) == fp {
			t.Errorf("%s: fingerprint did not move", name)
		}
		fp = plan.Fingerprint(moved)
	}
}

func TestPlanFileRoundTrip(t *testing.T) {
	sc := scenarioNamed(t, "image_change")
	state, _ := sc.world().Observe(sc.desired)
	p := plan.Compute(sc.desired, state)
	tmpl := sc.desired.LB.TemplateSource
	f := plan.NewFile(p, "stacks/primes/stack.yaml", []byte("version: 1\n"), &tmpl, state)
	path := filepath.Join(t.TempDir(), "out.plan")
	if err := plan.Save(path, f); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode = %v, want 0600", info.Mode().Perm())
	}
	got, err := plan.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Fingerprint != plan.Fingerprint(state) || got.StackSHA256 != plan.SHA256([]byte("version: 1\n")) {
		t.Errorf("loaded file = %+v", got)
	}
	if planJSON(t, got.Plan) != planJSON(t, p) {
		t.Error("plan changed through save and load")
	}
}

// A plan file of version 1 has no depends_on edges: run by this apply, its
// steps would all start at once. Versions to come are unknown.
func TestLoadFileRefusesOtherVersions(t *testing.T) {
	for _, v := range []int{plan.FormatVersion - 1, plan.FormatVersion + 1} {
		path := filepath.Join(t.TempDir(), "other.plan")
		os.WriteFile(path, []byte(fmt.Sprintf(`{"format_version": %d, "plan": {"format_version": %d}}`, v, v)), 0o600)
		if _, err := plan.LoadFile(path); !errors.Is(err, plan.ErrPlanFileVersion) {
			t.Fatalf("version %d: err = %v, want ErrPlanFileVersion", v, err)
		}
	}
}
