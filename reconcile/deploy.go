package reconcile

import (
	"context"
	"errors"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// Loader loads the stack file of a checkout (the folder Source.Checkout
// returned): the stack file, its overlay and every file it names, checked
// as apply checks them. Its error is the commit's problems: for a stack
// file that does not load, a *spec.Errors with each problem's FILE:LINE:COL.
type Loader func(dir string) (*spec.Stack, error)

// Deployer plans and applies a stack: the CLI's apply path, or a fake.
type Deployer interface {
	// Plan reads the stack's live state and returns what an apply would
	// change; it changes nothing. A non-empty plan is drift.
	Plan(ctx context.Context, st *spec.Stack) (*plan.Plan, error)
	// Apply plans again and applies, under the stack's lock, without
	// asking anyone.
	Apply(ctx context.Context, st *spec.Stack) Outcome
}

// Outcome is how an apply ended.
type Outcome struct {
	// Result is ResultApplied, ResultNoChanges, ResultRolledBack or
	// ResultError.
	Result plan.ReconcileResult
	// Plan is the plan the apply carried out, when it got that far.
	Plan *plan.Plan
	Err  error
}

// KV is the part of Consul KV the agent's records need.
// *consulapi.Client implements it.
type KV interface {
	// KVGetIndex returns a key's value and modify index (0: no such key).
	KVGetIndex(ctx context.Context, key string) ([]byte, uint64, error)
	// KVCAS writes a key only if its modify index is still index.
	KVCAS(ctx context.Context, key string, value []byte, index uint64) (bool, error)
	KVPut(ctx context.Context, key string, value []byte) error
}

// KVDialer returns the KV of a stack's Consul, or ErrNoConsul.
type KVDialer func(ctx context.Context, st *spec.Stack) (KV, error)

// ErrNoConsul is a KVDialer's answer for a stack whose managed Consul does
// not run: the stack was never applied, or is gone, so nothing was applied
// to it either.
var ErrNoConsul = errors.New("the stack's Consul does not run")
