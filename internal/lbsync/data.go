package lbsync

import (
	"context"
	"fmt"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// cacheData serves one render from the watcher's views, starting a view
// for every dependency the template reaches for the first time.
type cacheData struct {
	w       *watcher
	timeout time.Duration
	// emptyOnError serves "no instances, no keys" instead of failing while
	// no config has been installed yet, so nginx can start on the
	// template's {{else}} branch when Consul is unreachable at start.
	emptyOnError bool
	degraded     error // the first error served as empty data
	instances    map[string]bool
}

func newCacheData(w *watcher, timeout time.Duration, emptyOnError bool) *cacheData {
	return &cacheData{w: w, timeout: timeout, emptyOnError: emptyOnError, instances: map[string]bool{}}
}

func (c *cacheData) get(ctx context.Context, d dep) (any, error) {
	data, err := c.w.view(d).await(ctx, c.timeout)
	if err != nil && c.emptyOnError && ctx.Err() == nil {
		if c.degraded == nil {
			c.degraded = err
		}
		return nil, nil
	}
	return data, err
}

func (c *cacheData) Service(ctx context.Context, name, tag string, passingOnly bool) ([]tmpl.Instance, error) {
	data, err := c.get(ctx, dep{kind: depService, name: name, tag: tag, passingOnly: passingOnly})
	if err != nil || data == nil {
		return nil, err
	}
	insts := data.([]tmpl.Instance)
	for _, inst := range insts {
		if inst.Status == tmpl.StatusPassing {
			c.instances[fmt.Sprintf("%s/%s/%s", inst.Node, inst.Name, inst.ID)] = true
		}
	}
	return insts, nil
}

func (c *cacheData) Services(ctx context.Context) ([]tmpl.CatalogService, error) {
	data, err := c.get(ctx, dep{kind: depCatalog})
	if err != nil || data == nil {
		return nil, err
	}
	return data.([]tmpl.CatalogService), nil
}

func (c *cacheData) Key(ctx context.Context, path string) (string, bool, error) {
	data, err := c.get(ctx, dep{kind: depKey, name: path})
	if err != nil || data == nil {
		return "", false, err
	}
	kv := data.(keyValue)
	return string(kv.value), kv.exists, nil
}
