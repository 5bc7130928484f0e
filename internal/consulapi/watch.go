package consulapi

// The load balancer's side of Consul (lbsync.Consul and tmpl's data): it
// turns Consul's answers into tmpl's small types and exposes reads as
// blocking queries (wait index + wait time), as consul-template's
// dependencies do.

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// Watcher is the load balancer's Consul client.
type Watcher struct {
	api *api.Client
}

// NewWatcher connects to the agent at addr ("http://host:8500", "host:8500"); an
// empty addr or token falls back to CONSUL_HTTP_ADDR and CONSUL_HTTP_TOKEN,
// then to 127.0.0.1:8500. Nothing is sent until the first call.
func NewWatcher(addr, token string) (*Watcher, error) {
	cfg := api.DefaultConfig()
	if addr != "" {
		cfg.Address = addr
	}
	if token != "" {
		cfg.Token = token
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("consul client for %s: %w", cfg.Address, err)
	}
	return &Watcher{api: c}, nil
}

func blockingQuery(ctx context.Context, waitIndex uint64, wait time.Duration) *api.QueryOptions {
	q := &api.QueryOptions{WaitIndex: waitIndex, WaitTime: wait}
	return q.WithContext(ctx)
}

// HealthService returns a service's instances and the index to wait on
// next. With waitIndex > 0 it blocks until Consul's index for the query
// passes waitIndex or wait is up.
func (c *Watcher) HealthService(ctx context.Context, name, tag string, passingOnly bool, waitIndex uint64, wait time.Duration) ([]tmpl.Instance, uint64, error) {
	entries, meta, err := c.api.Health().Service(name, tag, passingOnly, blockingQuery(ctx, waitIndex, wait))
	if err != nil {
		return nil, 0, fmt.Errorf("consul health of service %q: %w", name, err)
	}
	out := make([]tmpl.Instance, 0, len(entries))
	for _, e := range entries {
		out = append(out, instanceOf(e))
	}
	return out, meta.LastIndex, nil
}

func instanceOf(e *api.ServiceEntry) tmpl.Instance {
	inst := tmpl.Instance{
		ID:          e.Service.ID,
		Name:        e.Service.Service,
		Address:     e.Service.Address,
		Port:        e.Service.Port,
		Tags:        tmpl.Tags(e.Service.Tags),
		ServiceMeta: e.Service.Meta,
		Status:      healthStatus(e.Checks),
	}
	if e.Node != nil {
		inst.Node = e.Node.Node
		inst.NodeAddress = e.Node.Address
		if inst.Address == "" {
			inst.Address = e.Node.Address
		}
	}
	return inst
}

// status is the worst of the checks' statuses, as consul-template computes
// it: a maintenance check is critical, and no checks at all is passing.
func healthStatus(checks api.HealthChecks) string {
	var warning, unknown, critical bool
	for _, c := range checks {
		switch c.Status {
		case api.HealthPassing:
		case api.HealthWarning:
			warning = true
		case api.HealthCritical, api.HealthMaint:
			critical = true
		default:
			unknown = true
		}
	}
	switch {
	case critical:
		return tmpl.StatusCritical
	case unknown:
		return tmpl.StatusUnknown
	case warning:
		return tmpl.StatusWarning
	}
	return tmpl.StatusPassing
}

// CatalogServices returns every registered service with its tags.
func (c *Watcher) CatalogServices(ctx context.Context, waitIndex uint64, wait time.Duration) ([]tmpl.CatalogService, uint64, error) {
	svcs, meta, err := c.api.Catalog().Services(blockingQuery(ctx, waitIndex, wait))
	if err != nil {
		return nil, 0, fmt.Errorf("consul catalog services: %w", err)
	}
	out := make([]tmpl.CatalogService, 0, len(svcs))
	for name, tags := range svcs {
		out = append(out, tmpl.CatalogService{Name: name, Tags: tmpl.Tags(tags)})
	}
	return out, meta.LastIndex, nil
}

// KVGet returns a key's value and whether it exists; a missing key is not
// an error, and its index can be waited on for the key to appear.
func (c *Watcher) KVGet(ctx context.Context, key string, waitIndex uint64, wait time.Duration) ([]byte, bool, uint64, error) {
	pair, meta, err := c.api.KV().Get(key, blockingQuery(ctx, waitIndex, wait))
	if err != nil {
		return nil, false, 0, fmt.Errorf("consul kv get %q: %w", key, err)
	}
	if pair == nil {
		return nil, false, meta.LastIndex, nil
	}
	return pair.Value, true, meta.LastIndex, nil
}

// KVPut writes a key.
func (c *Watcher) KVPut(ctx context.Context, key string, value []byte) error {
	w := (&api.WriteOptions{}).WithContext(ctx)
	if _, err := c.api.KV().Put(&api.KVPair{Key: key, Value: value}, w); err != nil {
		return fmt.Errorf("consul kv put %q: %w", key, err)
	}
	return nil
}

// Service implements tmpl.Data with a non-blocking read, for one-shot
// renders (`stackctl lb render`, plan).
func (c *Watcher) Service(ctx context.Context, name, tag string, passingOnly bool) ([]tmpl.Instance, error) {
	insts, _, err := c.HealthService(ctx, name, tag, passingOnly, 0, 0)
	return insts, err
}

// Services implements tmpl.Data.
func (c *Watcher) Services(ctx context.Context) ([]tmpl.CatalogService, error) {
	svcs, _, err := c.CatalogServices(ctx, 0, 0)
	return svcs, err
}

// Key implements tmpl.Data.
func (c *Watcher) Key(ctx context.Context, path string) (string, bool, error) {
	v, ok, _, err := c.KVGet(ctx, path, 0, 0)
	return string(v), ok, err
}
