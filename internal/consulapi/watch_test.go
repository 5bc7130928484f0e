package consulapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// fakeAgent is a real HTTP listener answering the few endpoints the adapter
// uses, recording the queries it got.
type fakeAgent struct {
	mu      sync.Mutex
	queries []string
	kv      map[string][]byte
}

func (a *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queries = append(a.queries, r.Method+" "+r.URL.RequestURI())
	w.Header().Set("X-Consul-Index", "42")
	switch {
	case r.URL.Path == "/v1/health/service/web":
		json.NewEncoder(w).Encode([]map[string]any{
			{
				"Node":    map[string]any{"Node": "n1", "Address": "10.0.0.9"},
				"Service": map[string]any{"ID": "web-1", "Service": "web", "Address": "", "Port": 5000, "Tags": []string{"b", "a"}, "Meta": map[string]string{"v": "1"}},
				"Checks":  []map[string]any{{"CheckID": "serfHealth", "Status": "passing"}, {"CheckID": "service:web-1", "Status": "passing"}},
			},
			{
				"Node":    map[string]any{"Node": "n1", "Address": "10.0.0.9"},
				"Service": map[string]any{"ID": "web-2", "Service": "web", "Address": "10.0.0.2", "Port": 5000},
				"Checks":  []map[string]any{{"CheckID": "_service_maintenance:web-2", "Status": "critical"}},
			},
			{
				"Node":    map[string]any{"Node": "n1", "Address": "10.0.0.9"},
				"Service": map[string]any{"ID": "web-3", "Service": "web", "Address": "10.0.0.3", "Port": 5000},
				"Checks":  []map[string]any{{"CheckID": "service:web-3", "Status": "warning"}},
			},
		})
	case r.URL.Path == "/v1/catalog/services":
		json.NewEncoder(w).Encode(map[string][]string{"web": {"a"}, "consul": {}})
	case r.Method == http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		a.kv[r.URL.Path[len("/v1/kv/"):]] = body
		io.WriteString(w, "true")
	case r.URL.Path == "/v1/kv/present":
		json.NewEncoder(w).Encode([]map[string]any{{"Key": "present", "Value": []byte("hello")}})
	default:
		http.NotFound(w, r)
	}
}

func newAgent(t *testing.T) (*fakeAgent, *Watcher) {
	t.Helper()
	a := &fakeAgent{kv: map[string][]byte{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	c, err := NewWatcher(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

func TestHealthServiceMapsInstances(t *testing.T) {
	a, c := newAgent(t)
	insts, index, err := c.HealthService(context.Background(), "web", "", false, 7, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if index != 42 {
		t.Errorf("index = %d, want X-Consul-Index 42", index)
	}
	want := []tmpl.Instance{
		{Node: "n1", NodeAddress: "10.0.0.9", Address: "10.0.0.9", Port: 5000, ID: "web-1", Name: "web", Status: "passing", Tags: tmpl.Tags{"b", "a"}, ServiceMeta: map[string]string{"v": "1"}},
		{Node: "n1", NodeAddress: "10.0.0.9", Address: "10.0.0.2", Port: 5000, ID: "web-2", Name: "web", Status: "critical"},
		{Node: "n1", NodeAddress: "10.0.0.9", Address: "10.0.0.3", Port: 5000, ID: "web-3", Name: "web", Status: "warning"},
	}
	for i := range insts {
		if len(insts[i].Tags) == 0 {
			insts[i].Tags = nil
		}
		if len(insts[i].ServiceMeta) == 0 {
			insts[i].ServiceMeta = nil
		}
	}
	if !reflect.DeepEqual(insts, want) {
		t.Errorf("instances:\n got  %+v\n want %+v", insts, want)
	}
	if q := a.queries[0]; q != "GET /v1/health/service/web?index=7&wait=1000ms" {
		t.Errorf("query = %q, want a blocking query on index 7", q)
	}
}

func TestPassingOnlyAsksConsulToFilter(t *testing.T) {
	a, c := newAgent(t)
	if _, err := c.Service(context.Background(), "web", "blue", true); err != nil {
		t.Fatal(err)
	}
	if q := a.queries[0]; q != "GET /v1/health/service/web?passing=1&tag=blue" {
		t.Errorf("query = %q", q)
	}
}

func TestKV(t *testing.T) {
	a, c := newAgent(t)
	ctx := context.Background()
	v, ok, err := c.Key(ctx, "present")
	if err != nil || !ok || v != "hello" {
		t.Errorf("Key(present) = %q, %v, %v", v, ok, err)
	}
	_, ok, index, err := c.KVGet(ctx, "missing", 0, 0)
	if err != nil || ok || index != 42 {
		t.Errorf("KVGet(missing) = %v, %d, %v; want not found with an index to wait on", ok, index, err)
	}
	if err := c.KVPut(ctx, "stackctl/s/lb/status", []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if got := string(a.kv["stackctl/s/lb/status"]); got != `{"ok":true}` {
		t.Errorf("put %q", got)
	}
}

func TestCatalogServices(t *testing.T) {
	_, c := newAgent(t)
	svcs, err := c.Services(context.Background())
	if err != nil || len(svcs) != 2 {
		t.Fatalf("Services = %+v, %v", svcs, err)
	}
}

func TestUnreachable(t *testing.T) {
	c, err := NewWatcher("http://127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Service(context.Background(), "web", "", true); err == nil {
		t.Error("no error from an unreachable agent")
	}
}
