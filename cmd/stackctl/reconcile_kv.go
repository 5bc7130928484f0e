package main

import (
	"context"
	"fmt"
	"os"

	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/reconcile"
	"github.com/stackctl/stackctl/spec"
)

// stackKV reaches the Consul KV of a stack where plan finds its Consul:
// CONSUL_HTTP_ADDR, the stack's consul.address, or the port its managed
// Consul container publishes (looked up at each dial: Docker may pick it).
type stackKV struct {
	docker *dockerapi.Client
	pool   *consulapi.Pool
}

// client is the stack's Consul client, or reconcile.ErrNoConsul when its
// managed Consul does not run.
func (k *stackKV) client(ctx context.Context, st *spec.Stack) (*consulapi.Client, error) {
	override := os.Getenv("CONSUL_HTTP_ADDR")
	var live *plan.Container
	if st.Consul.Managed() && override == "" {
		c, err := k.docker.InspectContainer(ctx, st.ConsulContainerName())
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", st.ConsulContainerName(), err)
		}
		if c == nil || !c.Running() {
			return nil, reconcile.ErrNoConsul
		}
		live = c
	}
	at, err := plan.ConsulEndpoint(st, override, live)
	if err != nil {
		return nil, err
	}
	return k.pool.Client(at.Address)
}

// dial is client as a reconcile.KVDialer.
func (k *stackKV) dial(ctx context.Context, st *spec.Stack) (reconcile.KV, error) {
	c, err := k.client(ctx, st)
	if err != nil {
		return nil, err
	}
	return c, nil
}
