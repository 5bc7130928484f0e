package main

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/lbsync"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

// statusFixture is a primes stack of 3 workers where slot 2 is critical,
// slot 3 is missing, an orphan from an old scale-up still runs, and the LB
// refused its latest render.
func statusFixture(t *testing.T) (*spec.Stack, *plan.State) {
	t.Helper()
	data, err := os.ReadFile("../../stack.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("replicas: 20"), []byte("replicas: 3"), 1)
	stack, err := spec.Parse("stack.yaml", data, nil, "../..")
	if err != nil {
		t.Fatal(err)
	}
	svc := stack.Service("web")
	worker := func(slot int, state, ip string) plan.Container {
		return plan.Container{
			ID: "id" + ip, Name: stack.WorkerName("web", slot), State: state, ImageRef: svc.Image,
			Labels:   plan.WorkerLabels(stack, svc, slot),
			Networks: map[string]string{stack.NetworkName(): ip},
		}
	}
	reg := func(slot int, ip, status, output string) plan.Registration {
		r := plan.DesiredRegistration(stack, svc, slot, ip)
		r.Status, r.Output = status, output
		return r
	}
	lbStatus := `{"ok":false,"error":"nginx -t: unknown directive \"bogus\"","rendered_at":"2026-11-25T10:00:00Z","instances":2,"last_good_at":"2026-11-25T09:00:00Z","reloads":4}`
	journal := `{"format_version":1,"steps":[{"id":"worker/primes-web-3","status":"running"},{"id":"network/primes","status":"done"}]}`
	state := &plan.State{
		Stack:   stack.Name,
		Network: &plan.Network{Name: stack.NetworkName()},
		Containers: []plan.Container{
			{Name: stack.ConsulContainerName(), State: plan.ContainerRunning, Labels: plan.ConsulLabels(stack)},
			{Name: stack.LBContainerName(), State: plan.ContainerRunning, Labels: plan.LBLabels(stack),
				Ports: []plan.PublishedPort{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}},
			worker(1, plan.ContainerRunning, "10.0.0.2"),
			worker(2, plan.ContainerRunning, "10.0.0.3"),
			worker(4, plan.ContainerRunning, "10.0.0.5"),
		},
		Consul: plan.ConsulState{
			Address: "127.0.0.1:8500", Reached: true,
			Registrations: []plan.Registration{
				reg(1, "10.0.0.2", plan.CheckPassing, ""),
				reg(2, "10.0.0.3", plan.CheckCritical, "HTTP GET http://10.0.0.3:5000/healthz: 503 Service Unavailable"),
				reg(4, "10.0.0.5", plan.CheckPassing, ""),
			},
			Leader:   "10.0.0.9:8300",
			LBStatus: &lbStatus,
			Journal:  &journal,
		},
	}
	return stack, state
}

func TestStatusShowsRenderErrorHealthAndLeader(t *testing.T) {
	stack, state := statusFixture(t)
	st := plan.BuildStatus(stack, state)
	var out bytes.Buffer
	if err := views.StatusHuman(&out, st, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"consul   primes-consul (running), reached at 127.0.0.1:8500, leader 10.0.0.9:8300",
		"config NOT updated at",
		`nginx -t: unknown directive "bogus"`,
		"nginx keeps serving the last good config",
		"503 Service Unavailable",
		"not in the stack file",
		"2 passing of 4",
		"an apply did not finish",
		"worker/primes-web-3 (running)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b[") {
		t.Errorf("colour codes in plain output:\n%s", text)
	}
}

// The LB writes lbsync.Status; status reads it as plan.LBRender. They must
// agree on every field.
func TestLBRenderReadsEveryFieldTheLBWrites(t *testing.T) {
	written := jsonKeys(reflect.TypeOf(lbsync.Status{}))
	read := jsonKeys(reflect.TypeOf(plan.LBRender{}))
	if !slices.Equal(written, read) {
		t.Errorf("lbsync.Status has %v, plan.LBRender %v", written, read)
	}
}

func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name+" "+t.Field(i).Type.String())
	}
	slices.Sort(keys)
	return keys
}
