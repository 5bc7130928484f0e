package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"
)

// LockKey is the stack's lock in Consul KV, under its prefix.
const LockKey = "lock"

// lockTTL is the lock session's TTL: a holder that dies releases the lock
// within one to two TTLs (Consul's grace), never sooner.
const lockTTL = 10 * time.Second

// LockHolder is the lock key's value: who holds it, since when, doing what.
type LockHolder struct {
	Holder    string    `json:"holder"`
	Since     time.Time `json:"since"`
	Operation string    `json:"operation"`
	ApplyID   string    `json:"apply_id,omitempty"`
}

// LockedError is returned when another apply holds the stack's lock.
type LockedError struct {
	Stack  string
	Key    string
	Holder LockHolder
	Waited time.Duration
}

func (e *LockedError) Error() string {
	h := e.Holder
	who := h.Holder
	if who == "" {
		who = "an unknown holder"
	}
	msg := fmt.Sprintf("stack %s is locked by %s", e.Stack, who)
	if h.Operation != "" {
		msg += " (" + h.Operation + ")"
	}
	if !h.Since.IsZero() {
		msg += fmt.Sprintf(" since %s", h.Since.UTC().Format(time.RFC3339))
	}
	msg += fmt.Sprintf("; lock %s", e.Key)
	if e.Waited > 0 {
		msg += fmt.Sprintf(", waited %s", e.Waited)
	}
	return msg + ". Wait for it to finish, use -lock-timeout to wait longer, or, if its holder died, wait up to 20s for Consul to release the lock"
}

// DefaultHolder describes this process: "user@host pid N".
func DefaultHolder() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s pid %d", name, host, os.Getpid())
}

// ErrLockLost is why an apply stopped when its lock's session ended under
// it (expired while Consul was unreachable, or destroyed by someone): from
// then on another apply may hold the lock, so this one must not go on.
var ErrLockLost = errors.New("the stack's lock was lost (its Consul session ended)")

// relockWait bounds the wait to take the lock again, to roll back, after it
// was lost: long enough for a session of a dead holder to expire. A
// variable for tests.
var relockWait = 2*lockTTL + 5*time.Second

func (e *Executor) takeLock(ctx context.Context, c Consul) error {
	return e.takeLockWait(ctx, c, e.LockTimeout)
}

func (e *Executor) takeLockWait(ctx context.Context, c Consul, wait time.Duration) error {
	e.mu.Lock()
	taken := e.lock != nil
	e.mu.Unlock()
	if taken {
		return nil
	}
	holder := e.Holder
	if holder == "" {
		holder = DefaultHolder()
	}
	value, _ := json.Marshal(LockHolder{Holder: holder, Since: time.Now().UTC(), Operation: e.Operation, ApplyID: e.ApplyID})
	key := e.Stack.KVPrefix() + LockKey
	l, held, err := c.Lock(ctx, key, value, lockTTL, wait)
	if err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	if l == nil {
		le := &LockedError{Stack: e.Stack.Name, Key: key, Waited: wait}
		_ = json.Unmarshal(held, &le.Holder)
		return le
	}
	e.mu.Lock()
	e.lock = l
	e.mu.Unlock()
	go e.watchLock(l)
	return nil
}

// watchLock stops the apply when l is lost while still held: Run's context
// is cancelled with ErrLockLost, and the steps stop as on Ctrl-C.
func (e *Executor) watchLock(l Lock) {
	<-l.Lost()
	e.mu.Lock()
	held := e.lock == l // Unlock lets go of e.lock before releasing
	abort := e.abort
	e.mu.Unlock()
	if held && abort != nil {
		abort(ErrLockLost)
	}
}

// checkLock returns ErrLockLost, and stops Run, once the held lock is lost:
// no step starts without the lock, even before watchLock has noticed.
func (e *Executor) checkLock() error {
	e.mu.Lock()
	l, abort := e.lock, e.abort
	e.mu.Unlock()
	if l == nil {
		return nil
	}
	select {
	case <-l.Lost():
	default:
		return nil
	}
	if abort != nil {
		abort(ErrLockLost)
	}
	return ErrLockLost
}

// relock takes the lock again after it was lost, for the rollback: if
// another apply took it meanwhile, that one owns the stack now (and rolls
// this apply back from its journal), so this one must not touch anything.
func (e *Executor) relock(ctx context.Context) error {
	c := e.consulClient()
	if c == nil {
		return errors.New("Consul is not reachable")
	}
	e.mu.Lock()
	e.lock = nil
	e.mu.Unlock()
	return e.takeLockWait(ctx, c, relockWait)
}

// Unlock releases the lock if this executor holds it.
func (e *Executor) Unlock() {
	e.mu.Lock()
	l := e.lock
	e.lock = nil
	e.mu.Unlock()
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = l.Unlock(ctx)
}

// IsLocked reports whether err is a LockedError.
func IsLocked(err error) bool {
	var le *LockedError
	return errors.As(err, &le)
}
