package main

import (
	"strings"
	"testing"

	"github.com/stackctl/stackctl/plan"
)

func TestStressRefusesBadFlagsBeforeTouchingAnything(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock") // nothing may be read
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "fast"}, `--rate "fast"`},
		{[]string{"--rate", "10/h"}, "per s or per m"},
		{[]string{"--rate", "100", "--connections", "8"}, "give one"},
		{[]string{"--duration", "11m"}, "at most 10m0s"},
		{[]string{"--rate", "1000000"}, "between 1 and 50000"},
		{[]string{"--path", "x"}, "must start with /"},
		{[]string{"--find-max", "--chaos", "kill=1@1s"}, "--find-max runs alone"},
		{[]string{"--find-max", "--connections", "4"}, "leave out --connections"},
	} {
		args := append([]string{"stress", "-f", "../../stack.example.yaml"}, c.args...)
		code, _, stderr := runCLI(t, args...)
		if code != exitFailure || !strings.Contains(stderr, c.want) {
			t.Errorf("stress %v: exit %d, stderr %q; want exit 1 and %q", c.args, code, stderr, c.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"200": 200, "200/s": 200, "6000/m": 100, " 50/s ": 50, "2.5": 2.5} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]float64{"0.1%": 0.001, "0.001": 0.001, "5%": 0.05} {
		if got, err := parseRatio(in); err != nil || got != want {
			t.Errorf("parseRatio(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseRatio("100%"); err == nil {
		t.Error("100% of failures accepted as a bound")
	}
}

func TestWholeStatus(t *testing.T) {
	st := &plan.Status{
		Summary: plan.StatusSummary{Desired: 4, Total: 4, Passing: 4},
		LB:      &plan.LBStatus{State: plan.ContainerRunning, Render: &plan.LBRender{OK: true, Instances: 4}},
	}
	if ok, why := wholeStatus(st); !ok {
		t.Errorf("a whole stack: %s", why)
	}
	st.LB.Render.Instances = 3
	if ok, why := wholeStatus(st); ok || !strings.Contains(why, "3 of the 4") {
		t.Errorf("a render one short: %v %q", ok, why)
	}
	st.LB.Resolves = []string{"web"} // nginx resolves through DNS: renders list nobody
	if ok, why := wholeStatus(st); !ok {
		t.Errorf("resolve mode: %s", why)
	}
	st.Summary.Passing = 3
	if ok, why := wholeStatus(st); ok || !strings.Contains(why, "3 of 4 workers passing") {
		t.Errorf("a worker down: %v %q", ok, why)
	}
}
