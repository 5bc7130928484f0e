// Package tmpltest is an in-memory tmpl.Data for tests of the renderer and
// of its consumers (the LB sync loop, plan).
package tmpltest

import (
	"context"
	"slices"
	"sync"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// Data holds instances and KV pairs in memory. Its zero value is empty and
// ready to use; it is safe for concurrent use.
type Data struct {
	mu        sync.Mutex
	instances []tmpl.Instance
	kv        map[string]string
	env       map[string]string
	err       error
}

// Add registers instances; an empty Status means passing.
func (d *Data) Add(insts ...tmpl.Instance) *Data {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, inst := range insts {
		if inst.Status == "" {
			inst.Status = tmpl.StatusPassing
		}
		d.instances = append(d.instances, inst)
	}
	return d
}

// Put sets a KV pair.
func (d *Data) Put(path, value string) *Data {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.kv == nil {
		d.kv = map[string]string{}
	}
	d.kv[path] = value
	return d
}

// SetEnv sets what `env` reads instead of the process environment.
func (d *Data) SetEnv(name, value string) *Data {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.env == nil {
		d.env = map[string]string{}
	}
	d.env[name] = value
	return d
}

// Fail makes every call return err (nil to heal).
func (d *Data) Fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = err
}

// Service implements tmpl.Data.
func (d *Data) Service(_ context.Context, name, tag string, passingOnly bool) ([]tmpl.Instance, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	var out []tmpl.Instance
	for _, inst := range d.instances {
		switch {
		case inst.Name != name:
		case tag != "" && !slices.Contains(inst.Tags, tag):
		case passingOnly && inst.Status != tmpl.StatusPassing:
		default:
			out = append(out, inst)
		}
	}
	return out, nil
}

// Services implements tmpl.Data: every service with the union of its tags.
func (d *Data) Services(context.Context) ([]tmpl.CatalogService, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	byName := map[string]tmpl.Tags{}
	for _, inst := range d.instances {
		tags := byName[inst.Name]
		for _, t := range inst.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		byName[inst.Name] = tags
	}
	var out []tmpl.CatalogService
	for name, tags := range byName {
		out = append(out, tmpl.CatalogService{Name: name, Tags: tags})
	}
	return out, nil
}

// Key implements tmpl.Data.
func (d *Data) Key(_ context.Context, path string) (string, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return "", false, d.err
	}
	v, ok := d.kv[path]
	return v, ok, nil
}

// Env implements tmpl.EnvData; variables never set read as unset.
func (d *Data) Env(name string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.env[name]
	return v, ok
}
