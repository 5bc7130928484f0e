package lbsync

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

var errUnreachable = errors.New("dial tcp 127.0.0.1:8500: connect: connection refused")

// fakeConsul answers blocking queries from memory the way Consul does: one
// index for everything, bumped on every write; a query with a wait index
// blocks until the index passes it or the wait is up.
type fakeConsul struct {
	mu        sync.Mutex
	index     uint64
	wake      chan struct{} // closed and replaced on every write
	instances []tmpl.Instance
	kv        map[string][]byte
	down      bool
	queries   int // blocking reads answered or failed
	puts      map[string][][]byte
}

func newFakeConsul() *fakeConsul {
	return &fakeConsul{index: 10, wake: make(chan struct{}), kv: map[string][]byte{}, puts: map[string][][]byte{}}
}

func (f *fakeConsul) bump() {
	f.index++
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *fakeConsul) setInstances(insts ...tmpl.Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances = slices.Clone(insts)
	f.bump()
}

func (f *fakeConsul) put(key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kv[key] = []byte(value)
	f.bump()
}

// setDown makes Consul unreachable (true) or brings it back (false); a
// restart that lost its state (dev mode) also resets the index.
func (f *fakeConsul) setDown(down bool, resetIndex bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
	if resetIndex {
		f.index = 1
	}
	f.bump()
}

func (f *fakeConsul) queryCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries
}

func (f *fakeConsul) putsTo(key string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.puts[key])
}

// block waits until the index passes waitIndex, then returns answer's
// result under the lock.
func (f *fakeConsul) block(ctx context.Context, waitIndex uint64, wait time.Duration, answer func()) (uint64, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	woken := false
	for {
		f.mu.Lock()
		if f.down {
			f.queries++
			f.mu.Unlock()
			return 0, errUnreachable
		}
		// Like Consul, a wait index ahead of the current one (state lost
		// in a restart) blocks until the next change, not until the index
		// catches up.
		if waitIndex == 0 || f.index > waitIndex || (f.index < waitIndex && woken) {
			f.queries++
			answer()
			idx := f.index
			f.mu.Unlock()
			return idx, nil
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-deadline.C:
			waitIndex = 0 // timed out: answer with what there is
		case <-wake:
			woken = true
		}
	}
}

func (f *fakeConsul) HealthService(ctx context.Context, name, tag string, passingOnly bool, waitIndex uint64, wait time.Duration) ([]tmpl.Instance, uint64, error) {
	var out []tmpl.Instance
	idx, err := f.block(ctx, waitIndex, wait, func() {
		for _, inst := range f.instances {
			if inst.Name == name && (tag == "" || inst.Tags.Contains(tag)) && (!passingOnly || inst.Status == tmpl.StatusPassing) {
				out = append(out, inst)
			}
		}
	})
	return out, idx, err
}

func (f *fakeConsul) CatalogServices(ctx context.Context, waitIndex uint64, wait time.Duration) ([]tmpl.CatalogService, uint64, error) {
	var out []tmpl.CatalogService
	idx, err := f.block(ctx, waitIndex, wait, func() {
		seen := map[string]bool{}
		for _, inst := range f.instances {
			if !seen[inst.Name] {
				seen[inst.Name] = true
				out = append(out, tmpl.CatalogService{Name: inst.Name})
			}
		}
	})
	return out, idx, err
}

func (f *fakeConsul) KVGet(ctx context.Context, key string, waitIndex uint64, wait time.Duration) ([]byte, bool, uint64, error) {
	var value []byte
	var exists bool
	idx, err := f.block(ctx, waitIndex, wait, func() { value, exists = f.kv[key] })
	return value, exists, idx, err
}

func (f *fakeConsul) KVPut(_ context.Context, key string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errUnreachable
	}
	f.puts[key] = append(f.puts[key], slices.Clone(value))
	f.kv[key] = slices.Clone(value)
	f.bump()
	return nil
}
