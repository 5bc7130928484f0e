package lbsync

import (
	"context"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// Consul is what the sync loop needs from Consul. Reads are blocking
// queries: with waitIndex > 0 they return once Consul's index for the
// query passes waitIndex, or when wait is up, with the index to wait on
// next. consulapi.Watcher implements it.
type Consul interface {
	HealthService(ctx context.Context, name, tag string, passingOnly bool, waitIndex uint64, wait time.Duration) ([]tmpl.Instance, uint64, error)
	CatalogServices(ctx context.Context, waitIndex uint64, wait time.Duration) ([]tmpl.CatalogService, uint64, error)
	KVGet(ctx context.Context, key string, waitIndex uint64, wait time.Duration) (value []byte, exists bool, index uint64, err error)
	KVPut(ctx context.Context, key string, value []byte) error
}
