//go:build unix

package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// cacheLock serializes the agents of one host that follow the same
// repository (two stacks of one monorepo): they share its cache, and a
// fetch or checkout must not run into another's. An flock on a file in the
// cache folder: the kernel releases it when its holder dies.
type cacheLock struct {
	path string
	f    *os.File
}

func newCacheLock(path string) *cacheLock { return &cacheLock{path: path} }

// acquire waits for the lock, polling so that ctx can end the wait.
func (l *cacheLock) acquire(ctx context.Context) error {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cache lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.f = f
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return fmt.Errorf("cache lock %s: %w", l.path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (l *cacheLock) release() {
	if l.f != nil {
		l.f.Close() // closing the file releases the flock
		l.f = nil
	}
}
