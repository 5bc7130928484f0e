package consulapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stackctl/stackctl/plan"
)

// fakeCatalog is a real HTTP listener that answers the catalog and health
// endpoints as a Consul server of a three-node datacenter would, recording
// each request's filter and token.
type fakeCatalog struct {
	mu      sync.Mutex
	filters map[string]string // path → filter
	tokens  []string
	failLB  bool
}

func (f *fakeCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.filters[r.URL.Path] = r.URL.Query().Get("filter")
	f.tokens = append(f.tokens, r.Header.Get("X-Consul-Token"))
	f.mu.Unlock()
	node := func(name string) map[string]any { return map[string]any{"Node": name} }
	check := func(id, service, status, output string) map[string]any {
		return map[string]any{"CheckID": id, "ServiceID": service, "Status": status, "Output": output}
	}
	meta := map[string]string{plan.MetaStack: "primes"}
	switch r.URL.Path {
	case "/v1/catalog/services":
		json.NewEncoder(w).Encode(map[string][]string{"web": {}, "lb": {}})
	case "/v1/health/service/web":
		json.NewEncoder(w).Encode([]map[string]any{
			{"Node": node("box1"), "Service": map[string]any{"ID": "primes-web-1", "Service": "web", "Address": "10.0.0.2", "Port": 20000, "Meta": meta},
				"Checks": []map[string]any{check("serfHealth", "", "passing", ""), check("service:primes-web-1", "primes-web-1", "passing", "HTTP GET: 200")}},
			{"Node": node("box2"), "Service": map[string]any{"ID": "primes-web-2", "Service": "web", "Address": "10.0.0.3", "Port": 20000, "Meta": meta},
				"Checks": []map[string]any{check("serfHealth", "", "critical", "Agent not live or unreachable"), check("service:primes-web-2", "primes-web-2", "passing", "")}},
		})
	case "/v1/health/service/lb":
		if f.failLB {
			http.Error(w, "rpc error: No cluster leader", http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode([]map[string]any{
			{"Node": node("box1"), "Service": map[string]any{"ID": "primes-lb", "Service": "lb", "Address": "10.0.0.2", "Port": 8080, "Meta": meta},
				"Checks": []map[string]any{check("serfHealth", "", "passing", "")}},
		})
	default:
		http.NotFound(w, r)
	}
}

func newFakeCatalog(t *testing.T) (*fakeCatalog, *Client) {
	t.Helper()
	f := &fakeCatalog{filters: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv("CONSUL_HTTP_TOKEN", "the-management-token")
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestCatalogRegistrationsSeesEveryNodeAndItsHealth(t *testing.T) {
	f, c := newFakeCatalog(t)
	regs, err := c.CatalogRegistrations(context.Background(), "primes")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]plan.Registration{}
	for _, r := range regs {
		got[r.ID] = r
	}
	want := map[string]struct{ host, status, output string }{
		"primes-web-1": {"box1", plan.CheckPassing, ""},
		"primes-web-2": {"box2", plan.CheckCritical, "Agent not live or unreachable"},
		"primes-lb":    {"box1", plan.CheckNone, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("registrations = %+v, want %d", regs, len(want))
	}
	for id, w := range want {
		r := got[id]
		if r.Host != w.host || r.Status != w.status || r.Output != w.output || r.Meta[plan.MetaStack] != "primes" {
			t.Errorf("%s = %+v, want on %s, status %q, output %q", id, r, w.host, w.status, w.output)
		}
	}
	if r := got["primes-web-2"]; r.Address != "10.0.0.3" || r.Port != 20000 || r.Service != "web" {
		t.Errorf("primes-web-2 at %s:%d of %s, want 10.0.0.3:20000 of web", r.Address, r.Port, r.Service)
	}
	if want := `ServiceMeta.stackctl_stack == "primes"`; f.filters["/v1/catalog/services"] != want {
		t.Errorf("catalog filter %q, want %q", f.filters["/v1/catalog/services"], want)
	}
	if want := `Service.Meta.stackctl_stack == "primes"`; f.filters["/v1/health/service/web"] != want {
		t.Errorf("health filter %q, want %q", f.filters["/v1/health/service/web"], want)
	}
	for _, tok := range f.tokens {
		if tok != "the-management-token" {
			t.Errorf("a request carried token %q, want CONSUL_HTTP_TOKEN's", tok)
		}
	}
}

func TestCatalogRegistrationsFailsWhenAServiceCannotBeRead(t *testing.T) {
	f, c := newFakeCatalog(t)
	f.failLB = true
	regs, err := c.CatalogRegistrations(context.Background(), "primes")
	if err == nil || !strings.Contains(err.Error(), "health of service lb") || !strings.Contains(err.Error(), "No cluster leader") {
		t.Fatalf("err = %v, want the lb's read named with Consul's reason", err)
	}
	if regs != nil {
		t.Errorf("registrations = %+v with an error, want none: a partial list would read as instances gone", regs)
	}
}
