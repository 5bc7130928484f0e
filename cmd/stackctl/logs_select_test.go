package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// liveContainers is a stack "s" mid-apply: web-1 replaced (its old one kept),
// web-2 being replaced start-first, api-1, Consul and the LB.
func liveContainers() []plan.Container {
	worker := func(id, name, svc, slot, state string) plan.Container {
		return plan.Container{ID: id, Name: name, State: state, Labels: map[string]string{
			spec.LabelStack: "s", spec.LabelRole: plan.RoleWorker, spec.LabelService: svc, spec.LabelSlot: slot}}
	}
	role := func(id, name, r string) plan.Container {
		return plan.Container{ID: id, Name: name, State: plan.ContainerRunning, Labels: map[string]string{
			spec.LabelStack: "s", spec.LabelRole: r}}
	}
	return []plan.Container{
		worker("a1", "s-api-1", "api", "1", plan.ContainerRunning),
		role("c1", "s-consul", plan.RoleConsul),
		role("l1", "s-lb", plan.RoleLB),
		worker("w1old", "s-web-1.old-w1old", "web", "1", plan.ContainerExited),
		worker("w1", "s-web-1", "web", "1", plan.ContainerRunning),
		worker("w2", "s-web-2", "web", "2", plan.ContainerRunning),
		worker("w2new", "s-web-2.new-abc123", "web", "2", plan.ContainerRunning),
		worker("w10", "s-web-10", "web", "10", plan.ContainerRunning),
	}
}

func labels(ts []logTarget) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.label)
	}
	return out
}

func TestLogsSelectTargets(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{nil, []string{"consul", "lb", "api-1", "web-1", "web-1 (old)", "web-2", "web-2 (new)", "web-10"}},
		{[]string{"web"}, []string{"web-1", "web-1 (old)", "web-2", "web-2 (new)", "web-10"}},
		{[]string{"web/1"}, []string{"web-1", "web-1 (old)"}},
		{[]string{"web/10", "lb"}, []string{"lb", "web-10"}},
		{[]string{"consul", "api"}, []string{"consul", "api-1"}},
		{[]string{"web/2", "web"}, []string{"web-1", "web-1 (old)", "web-2", "web-2 (new)", "web-10"}},
	}
	for _, tt := range tests {
		sels, err := parseSelectors(tt.args)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		got, err := selectTargets("s", liveContainers(), sels)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if !reflect.DeepEqual(labels(got), tt.want) {
			t.Errorf("%v: got %q, want %q", tt.args, labels(got), tt.want)
		}
	}
}

func TestLogsSelectorErrorsSayWhatExists(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"db"}, `stack s has no containers for "db"; choose from: api, web, lb, consul`},
		{[]string{"web/7"}, "service web of stack s has no slot 7; its slots are 1, 2, 10"},
		{[]string{"lb/1"}, "lb has no slots: write lb"},
		{[]string{"web", "worker/2"}, `no containers for "worker/2"`},
	}
	for _, tt := range tests {
		sels, err := parseSelectors(tt.args)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		_, err = selectTargets("s", liveContainers(), sels)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want it to contain %q", tt.args, err, tt.want)
		}
	}
	_, err := selectTargets("s", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "run stackctl apply first") {
		t.Errorf("empty stack: got %v", err)
	}
}

func TestLogsParseSelectors(t *testing.T) {
	for _, bad := range []string{"web/0", "web/x", "web/", "/3", "web/-1"} {
		if _, err := parseSelectors([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	got, err := parseSelectors([]string{"web/12", "lb"})
	if want := []logSelector{{"web", 12}, {"lb", 0}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
}

func TestLogsTailAndSinceChecked(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"logs", "--tail", "ten"}, `--tail "ten": give a number of lines`},
		{[]string{"logs", "-n", "-1"}, `--tail "-1"`},
		{[]string{"logs", "--since", "yesterday"}, `--since "yesterday": give a duration`},
		{[]string{"logs", "web/x"}, `"web/x": a slot is a number`},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitFailure || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "stackctl logs --help") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

func TestLogsExplainsAStackFileGivenAfterF(t *testing.T) {
	err := checkNotAStackFile([]string{"web", "stack.yaml"})
	if err == nil || !strings.Contains(err.Error(), "--file stack.yaml") {
		t.Fatalf("checkNotAStackFile = %v, want an error pointing at --file", err)
	}
	if err := checkNotAStackFile([]string{"web/3", "lb"}); err != nil {
		t.Fatalf("selectors refused: %v", err)
	}
}
