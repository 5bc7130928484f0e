package consulapi

import (
	"context"

	"github.com/hashicorp/consul/api"
)

// KVGetIndex returns a key's value with its modify index, 0 when the key
// does not exist: what KVCAS needs to write it back only if nobody else
// did in between (reconcile's history, a read-modify-write).
func (c *Client) KVGetIndex(ctx context.Context, key string) ([]byte, uint64, error) {
	pair, _, err := c.api.KV().Get(key, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil || pair == nil {
		return nil, 0, err
	}
	return pair.Value, pair.ModifyIndex, nil
}

// KVCAS writes a key only if its modify index is still index (0: only if
// it does not exist); ok is false when someone wrote it since.
func (c *Client) KVCAS(ctx context.Context, key string, value []byte, index uint64) (bool, error) {
	ok, _, err := c.api.KV().CAS(&api.KVPair{Key: key, Value: value, ModifyIndex: index}, (&api.WriteOptions{}).WithContext(ctx))
	return ok, err
}
