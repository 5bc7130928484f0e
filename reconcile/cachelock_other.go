//go:build !unix

package reconcile

import "context"

// cacheLock does nothing where there is no flock: two agents of one host
// must then not follow the same repository.
type cacheLock struct{}

func newCacheLock(string) *cacheLock { return &cacheLock{} }

func (*cacheLock) acquire(context.Context) error { return nil }
func (*cacheLock) release()                      {}
