//go:build e2e

package plan_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
	"github.com/stackctl/stackctl/spec"
)

func TestPlanAgainstLiveStack(t *testing.T) {
	e := e2e.New(t)
	desired := e2eStack(e.Stack, 3, 32<<20)
	h := startByHand(t, e, desired)
	o := h.observer(t)

	t.Run("no changes", func(t *testing.T) {
		p := computeLive(t, o, desired)
		if !p.Empty() {
			t.Fatalf("plan of a stack matching its file is not empty:\n%s", human(p))
		}
		if got := human(p); got != "No changes. Live state matches stack.yaml.\n" {
			t.Errorf("human output = %q", got)
		}
	})

	t.Run("plan changes nothing", func(t *testing.T) {
		before := h.snapshot(t)
		for range 100 {
			if p := computeLive(t, o, desired); !p.Empty() {
				t.Fatalf("plan not empty:\n%s", human(p))
			}
		}
		after := h.snapshot(t)
		if !bytes.Equal(before, after) {
			t.Fatalf("docker inspect / Consul catalog and KV changed across 100 plans:\n%s", firstDifference(before, after))
		}
	})

	t.Run("secret not in labels", func(t *testing.T) {
		list, err := e.Docker.ContainerList(t.Context(), container.ListOptions{All: true, Filters: stackFilter(e.Stack)})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			for k, v := range c.Labels {
				if strings.Contains(v, "e2e-secret-value") {
					t.Errorf("label %s of %s holds the secret", k, c.Names)
				}
			}
		}
	})

	t.Run("removed worker is exactly one create", func(t *testing.T) {
		name := desired.WorkerName("web", 2)
		if err := e.Docker.ContainerRemove(t.Context(), name, container.RemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		p := computeLive(t, o, desired)
		if len(p.Steps) != 1 || p.Steps[0].Action != plan.ActionCreate || p.Steps[0].Target != name {
			t.Fatalf("want exactly one create of %s, got:\n%s", name, human(p))
		}
		if p.Summary != (plan.Summary{Add: 1}) {
			t.Errorf("summary = %+v", p.Summary)
		}
	})

	t.Run("unreachable Consul names its address", func(t *testing.T) {
		o := *o
		o.ConsulAddr = "127.0.0.1:1" // nothing listens there
		_, err := o.Observe(t.Context(), desired)
		if err == nil || !strings.Contains(err.Error(), "Consul at 127.0.0.1:1 (CONSUL_HTTP_ADDR)") {
			t.Fatalf("err = %v, want it to name Consul's address and why", err)
		}
	})

	t.Run("stopped Consul is started, not an error", func(t *testing.T) {
		if err := e.Docker.ContainerStop(t.Context(), desired.ConsulContainerName(), container.StopOptions{}); err != nil {
			t.Fatal(err)
		}
		p := computeLive(t, o, desired)
		if len(p.Steps) == 0 || p.Steps[0].Kind != plan.KindConsul || p.Steps[0].Action != plan.ActionStart {
			t.Fatalf("want a start of %s first, got:\n%s", desired.ConsulContainerName(), human(p))
		}
	})
}

func computeLive(t testing.TB, o *plan.Observer, desired *spec.Stack) *plan.Plan {
	t.Helper()
	state, err := o.Observe(t.Context(), desired)
	if err != nil {
		t.Fatal(err)
	}
	return plan.Compute(desired, state)
}

func human(p *plan.Plan) string {
	var b bytes.Buffer
	views.Human(&b, p, false)
	return b.String()
}

func stackFilter(stack string) filters.Args {
	return filters.NewArgs(filters.Arg("label", spec.LabelStack+"="+stack))
}

// snapshot is every stack object as `docker inspect` shows it, plus the
// Consul catalog, agent services and KV, as raw bytes.
func (h *handStack) snapshot(t testing.TB) []byte {
	t.Helper()
	ctx := t.Context()
	var out bytes.Buffer
	list, err := h.env.Docker.ContainerList(ctx, container.ListOptions{All: true, Filters: stackFilter(h.desired.Name)})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	for _, id := range ids {
		_, raw, err := h.env.Docker.ContainerInspectWithRaw(ctx, id, false)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "container %s\n%s\n", id, raw)
	}
	_, raw, err := h.env.Docker.NetworkInspectWithRaw(ctx, h.desired.NetworkName(), network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&out, "network\n%s\n", raw)
	for _, path := range []string{"/v1/catalog/services", "/v1/catalog/service/web", "/v1/agent/services", "/v1/kv/?recurse=true"} {
		fmt.Fprintf(&out, "consul %s\n%s\n", path, httpGet(ctx, t, "http://"+h.consulAddr+path))
	}
	return out.Bytes()
}

func httpGet(ctx context.Context, t testing.TB, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Status + "\n" + string(body)
}

func firstDifference(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  before: %.300s\n  after:  %.300s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(al), len(bl))
}
