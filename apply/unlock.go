package apply

import (
	"context"
	"fmt"

	"github.com/stackctl/stackctl/plan"
)

// LockInfo is who holds a stack's lock, for `stackctl unlock`.
type LockInfo struct {
	Key string
	// ID is the holder's Consul session: the lock's ID.
	ID     string
	Holder LockHolder
	// Here is set when the holder's process can be looked up on this
	// machine; Gone when it was, and has ended.
	Here, Gone bool
	// Journal is the journal of an unfinished apply, if one is left: the
	// holder's own, usually. The next apply rolls it back.
	Journal *Journal
}

// LockChangedError is returned by BreakLock when the lock's ID is not the
// one asked for: it was released, or changed hands, since it was shown.
type LockChangedError struct {
	Stack     string
	Want, Now string // Now is "" when nobody holds the lock
}

func (e *LockChangedError) Error() string {
	if e.Now == "" {
		return fmt.Sprintf("stack %s: the lock %s is not held any more; nothing was changed", e.Stack, e.Want)
	}
	return fmt.Sprintf("stack %s: the lock's ID is %s, not %s: it changed hands; nothing was changed (run `stackctl unlock` to see who holds it now)", e.Stack, e.Now, e.Want)
}

// ReadLock returns who holds the stack's lock, or nil when nobody does;
// a managed Consul that does not run holds no lock. It takes no lock.
func (e *Executor) ReadLock(ctx context.Context, observed *plan.State) (*LockInfo, error) {
	if err := e.connectIfUp(ctx, observed); err != nil {
		return nil, err
	}
	c := e.consul.current()
	if c == nil {
		return nil, nil
	}
	key := e.lock.key
	held, err := c.ReadLock(ctx, key)
	if err != nil || held == nil {
		return nil, err
	}
	h := decodeHolder(held.Value)
	info := &LockInfo{Key: key, ID: held.Session, Holder: h, Here: e.lock.here(h), Gone: e.lock.gone(h)}
	if info.Journal, err = readJournal(ctx, c, e.Stack); err != nil {
		return nil, err
	}
	return info, nil
}

// BreakLock releases the stack's lock by destroying the session that holds
// it, which must be id (as ReadLock showed it). An apply still running
// under it notices, stops, and rolls back once it holds the lock again;
// the journal of one that is gone stays, for the next apply to roll back.
// ReadLock must have connected.
func (e *Executor) BreakLock(ctx context.Context, id string) error {
	c := e.consul.current()
	if c == nil {
		return &LockChangedError{Stack: e.Stack.Name, Want: id}
	}
	held, err := c.ReadLock(ctx, e.lock.key)
	if err != nil {
		return err
	}
	if held == nil || held.Session != id {
		now := ""
		if held != nil {
			now = held.Session
		}
		return &LockChangedError{Stack: e.Stack.Name, Want: id, Now: now}
	}
	return c.DestroySession(ctx, id)
}
