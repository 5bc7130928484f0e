package tmpl

import (
	"slices"
	"sync"
)

// Deps is what one render read. The sync loop watches exactly these with
// blocking queries, as consul-template's watcher does with the dependencies
// its renderer reports.
type Deps struct {
	Services []ServiceDep // sorted, without duplicates
	Catalog  bool         // the template called `services`
	Keys     []string     // KV paths read by key or keyOrDefault, sorted
	Env      []string     // environment variables read, sorted
}

// ServiceDep is one health query.
type ServiceDep struct {
	Name        string
	Tag         string
	PassingOnly bool
}

// Empty reports whether the render read nothing from Consul.
func (d Deps) Empty() bool {
	return len(d.Services) == 0 && !d.Catalog && len(d.Keys) == 0
}

// recorder collects Deps while a render runs; template functions may be
// called from one goroutine only, but the lock keeps Data implementations
// that fan out honest.
type recorder struct {
	mu       sync.Mutex
	services map[ServiceDep]bool
	catalog  bool
	keys     map[string]bool
	env      map[string]bool
}

func newRecorder() *recorder {
	return &recorder{services: map[ServiceDep]bool{}, keys: map[string]bool{}, env: map[string]bool{}}
}

func (r *recorder) service(d ServiceDep) { r.mu.Lock(); r.services[d] = true; r.mu.Unlock() }
func (r *recorder) key(path string)      { r.mu.Lock(); r.keys[path] = true; r.mu.Unlock() }
func (r *recorder) envVar(name string)   { r.mu.Lock(); r.env[name] = true; r.mu.Unlock() }
func (r *recorder) catalogRead()         { r.mu.Lock(); r.catalog = true; r.mu.Unlock() }

func (r *recorder) deps() Deps {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := Deps{Catalog: r.catalog}
	for s := range r.services {
		d.Services = append(d.Services, s)
	}
	slices.SortFunc(d.Services, compareServiceDeps)
	for k := range r.keys {
		d.Keys = append(d.Keys, k)
	}
	slices.Sort(d.Keys)
	for e := range r.env {
		d.Env = append(d.Env, e)
	}
	slices.Sort(d.Env)
	return d
}

func compareServiceDeps(a, b ServiceDep) int {
	switch {
	case a.Name != b.Name:
		return compareStrings(a.Name, b.Name)
	case a.Tag != b.Tag:
		return compareStrings(a.Tag, b.Tag)
	case a.PassingOnly == b.PassingOnly:
		return 0
	case a.PassingOnly:
		return -1
	}
	return 1
}
