package lbsync

import (
	"context"
	"fmt"
	"log"
	"reflect"
	"sync"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// dep identifies one blocking query.
type dep struct {
	kind        depKind
	name        string // service name or KV path
	tag         string
	passingOnly bool
}

type depKind int

const (
	depService depKind = iota
	depCatalog
	depKey
)

func (d dep) String() string {
	switch d.kind {
	case depService:
		s := "service " + d.name
		if d.tag != "" {
			s = fmt.Sprintf("service %s.%s", d.tag, d.name)
		}
		if !d.passingOnly {
			s += "|any"
		}
		return s
	case depCatalog:
		return "catalog services"
	}
	return "key " + d.name
}

func depsOf(d tmpl.Deps) []dep {
	var out []dep
	for _, s := range d.Services {
		out = append(out, dep{kind: depService, name: s.Name, tag: s.Tag, passingOnly: s.PassingOnly})
	}
	if d.Catalog {
		out = append(out, dep{kind: depCatalog})
	}
	for _, k := range d.Keys {
		out = append(out, dep{kind: depKey, name: k})
	}
	return out
}

// keyValue is a KV dependency's data.
type keyValue struct {
	value  []byte
	exists bool
}

// watcher runs one goroutine per dependency, each following its query with
// blocking queries, and signals changed when any result or error state
// changes — consul-template's watcher and views, reduced to what an LB
// needs.
type watcher struct {
	consul  Consul
	timing  Config
	log     *log.Logger
	changed chan struct{} // capacity 1: a burst of changes is one signal

	ctx       context.Context // owns every view
	wg        sync.WaitGroup
	mu        sync.Mutex
	views     map[dep]*view
	closed    bool
	recovered time.Time // when a view last got an answer after failing
}

func newWatcher(ctx context.Context, c Consul, timing Config, logger *log.Logger) *watcher {
	return &watcher{consul: c, timing: timing, log: logger, changed: make(chan struct{}, 1), ctx: ctx, views: map[dep]*view{}}
}

func (w *watcher) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// view returns the view of d, starting it if it is new.
func (w *watcher) view(d dep) *view {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v, ok := w.views[d]; ok {
		return v
	}
	ctx, cancel := context.WithCancel(w.ctx)
	v := &view{dep: d, cancel: cancel, tried: make(chan struct{})}
	w.views[d] = v
	if w.closed {
		cancel()
		v.markTried()
		return v
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.follow(ctx, v)
	}()
	return v
}

// retain stops every view not in keep.
func (w *watcher) retain(keep []dep) {
	want := map[dep]bool{}
	for _, d := range keep {
		want[d] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for d, v := range w.views {
		if !want[d] {
			v.cancel()
			delete(w.views, d)
		}
	}
}

// errors returns the current error of every failing view.
func (w *watcher) errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, v := range w.views {
		if _, _, err := v.snapshot(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// dirty reports whether any view changed since the last render read it:
// a change signal can be stale, sent for an answer the render that
// started the view already waited for.
func (w *watcher) dirty() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.views {
		if v.dirty() {
			return true
		}
	}
	return false
}

// recoveredAt is when Consul last answered a view that had been failing.
func (w *watcher) recoveredAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.recovered
}

// stop ends every view and waits for them.
func (w *watcher) stop() {
	w.mu.Lock()
	w.closed = true
	for _, v := range w.views {
		v.cancel()
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// follow runs v's blocking queries until its context ends.
func (w *watcher) follow(ctx context.Context, v *view) {
	var index uint64
	failures := 0
	for ctx.Err() == nil {
		data, next, err := w.fetch(ctx, v.dep, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if v.fail(err) {
				w.log.Printf("watch %s: %v (retrying)", v.dep, err)
				w.notify()
			}
			sleep(ctx, backoff(failures, w.timing.BackoffMin, w.timing.BackoffMax))
			failures++
			// Read afresh after a failure: a Consul that restarted may
			// hold other data under a lower index, and a blocking query
			// on the old index would not return until something changed.
			index = 0
			continue
		}
		if failures > 0 {
			w.log.Printf("watch %s: consul answers again", v.dep)
			w.mu.Lock()
			w.recovered = time.Now()
			w.mu.Unlock()
		}
		failures = 0
		// Consul's index only grows; one that went back means Consul lost
		// its state (a -dev restart), so start over from a fresh read.
		if next < index {
			index = 0
		} else {
			index = max(next, 1)
		}
		if v.set(data) {
			w.notify()
		}
	}
}

func (w *watcher) fetch(ctx context.Context, d dep, index uint64) (any, uint64, error) {
	wait := w.timing.BlockWait
	switch d.kind {
	case depService:
		insts, next, err := w.consul.HealthService(ctx, d.name, d.tag, d.passingOnly, index, wait)
		return insts, next, err
	case depCatalog:
		svcs, next, err := w.consul.CatalogServices(ctx, index, wait)
		return svcs, next, err
	}
	value, exists, next, err := w.consul.KVGet(ctx, d.name, index, wait)
	return keyValue{value: value, exists: exists}, next, err
}

// view is the latest answer to one query.
type view struct {
	dep    dep
	cancel context.CancelFunc

	mu        sync.Mutex
	data      any
	have      bool          // data holds a successful answer (perhaps stale)
	err       error         // the last attempt's error; nil after a success
	tried     chan struct{} // closed once the first attempt has finished
	triedOnce bool
	version   int // bumped on every change of data or error state
	read      int // the version the last render saw
}

// set stores a successful answer, reporting whether anything changed.
func (v *view) set(data any) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	changed := !v.have || v.err != nil || !reflect.DeepEqual(v.data, data)
	v.data, v.have, v.err = data, true, nil
	v.markTried()
	if changed {
		v.version++
	}
	return changed
}

// fail records an error, reporting whether the view was healthy before.
func (v *view) fail(err error) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	wasHealthy := v.err == nil
	v.err = err
	v.markTried()
	if wasHealthy {
		v.version++
	}
	return wasHealthy
}

// dirty reports whether the view changed since a render last read it.
func (v *view) dirty() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.version != v.read
}

func (v *view) markTried() {
	if !v.triedOnce {
		v.triedOnce = true
		close(v.tried)
	}
}

func (v *view) snapshot() (data any, have bool, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.data, v.have, v.err
}

// await returns the view's data once its first attempt has finished (or
// timeout passed): the latest good answer if there is one, even when a
// later attempt failed, else the error.
func (v *view) await(ctx context.Context, timeout time.Duration) (any, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-v.tried:
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	v.mu.Lock()
	data, have, err := v.data, v.have, v.err
	v.read = v.version
	v.mu.Unlock()
	switch {
	case have:
		return data, nil
	case err != nil:
		return nil, err
	}
	return nil, fmt.Errorf("watch %s: no answer from consul within %s", v.dep, timeout)
}
