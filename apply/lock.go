package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// LockKey is the stack's lock in Consul KV, under its prefix.
const LockKey = "lock"

// lockTTL is the lock session's TTL: a holder that dies releases the lock
// within one to two TTLs (Consul's grace), never sooner.
const lockTTL = 10 * time.Second

// DefaultLockWait is how long apply and destroy wait for a lock held by a
// live holder, or one of unknown liveness, unless told otherwise: long
// enough for Consul to release the lock of a holder that died on another
// machine (its session expires within 2×lockTTL, and the lock delay is
// 1ms), and for a short apply to finish.
const DefaultLockWait = time.Minute

// lockRecheck is how often a wait for a holder on this machine looks at
// its process again: one that dies meanwhile is taken over then. A
// variable for tests.
var lockRecheck = 2 * time.Second

// LockedError is returned when another apply holds the stack's lock.
type LockedError struct {
	Stack string
	Key   string
	// ID is the lock's ID (its Consul session), for `stackctl unlock ID`.
	ID     string
	Holder LockHolder
	Waited time.Duration
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("stack %s is locked by %s", e.Stack, e.Holder)
	msg += fmt.Sprintf("; lock ID %s at %s", e.ID, e.Key)
	if e.Waited > 0 {
		msg += fmt.Sprintf(", waited %s", e.Waited)
	}
	return msg + ". Wait for it to finish, or use -lock-timeout to wait longer. " +
		"If its holder died on another machine, Consul releases the lock within 20s; " +
		"if you know it is dead, `stackctl unlock " + e.ID + "` breaks the lock (the next apply rolls back what it left unfinished)"
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
	return e.takeLockWait(ctx, c, e.opts.LockTimeout)
}

// takeLockWait takes the lock, waiting up to wait for a live holder. A
// holder that died on this machine (holderGone) is not waited for: its
// session is destroyed, which releases the lock, and the lock is taken at
// once. The journal it left is then rolled back by recover, as after any
// crash.
func (e *Executor) takeLockWait(ctx context.Context, c Consul, wait time.Duration) error {
	e.mu.Lock()
	taken := e.lock != nil
	e.mu.Unlock()
	if taken {
		return nil
	}
	value, _ := json.Marshal(e.lockHolder())
	key := e.Stack.KVPrefix() + LockKey
	deadline := time.Now().Add(wait)
	var gone *LockHolder // the dead holder taken over
	takeovers, free, told := 0, 0, false
	var slice time.Duration // the first try does not wait: first see who holds it
	for {
		l, held, err := c.Lock(ctx, key, value, lockTTL, slice)
		if err != nil {
			return fmt.Errorf("lock %s: %w", key, err)
		}
		if l != nil {
			e.hold(l)
			if gone != nil {
				e.mu.Lock()
				e.tookOver = true
				e.mu.Unlock()
				e.opts.Progress.Note(fmt.Sprintf("stack %s: the lock's holder %s is gone; took the lock over", e.Stack.Name, gone))
			}
			return nil
		}
		if held.Session == "" {
			// Released a moment ago, and not yet free: Consul's lock delay.
			if free++; free > 50 {
				return fmt.Errorf("lock %s: released but never free to take", key)
			}
			slice = max(slice, 100*time.Millisecond)
			continue
		}
		h := decodeHolder(held.Value)
		if holderGone(h, e.self, e.alive) {
			if takeovers == maxTakeovers {
				return fmt.Errorf("lock %s: taken over %d times and still held by a dead holder (%s)", key, takeovers, h)
			}
			if err := c.DestroySession(ctx, held.Session); err != nil {
				return fmt.Errorf("release the lock %s of %s, whose process is gone: %w", key, h, err)
			}
			takeovers++
			gone, slice = &h, 0
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &LockedError{Stack: e.Stack.Name, Key: key, ID: held.Session, Holder: h, Waited: wait}
		}
		if !told {
			e.opts.Progress.Note(fmt.Sprintf("stack %s: waiting for the lock held by %s, up to %s", e.Stack.Name, h, wait))
			told = true
		}
		slice = left
		if e.self.sameSpace(h) {
			slice = min(left, lockRecheck)
		}
	}
}

// maxTakeovers bounds how often one takeLockWait destroys the session of a
// dead holder: a lock that keeps going to dead holders is a bug to report,
// not to loop on.
const maxTakeovers = 3

// lockHolder is the lock's value for this executor.
func (e *Executor) lockHolder() LockHolder {
	holder := e.opts.Holder
	if holder == "" {
		holder = DefaultHolder()
	}
	return LockHolder{
		Holder: holder, Since: time.Now().UTC(), Operation: e.opts.Operation, ApplyID: e.opts.ApplyID,
		Host: e.self.Host, BootID: e.self.BootID, PIDNamespace: e.self.PIDNamespace, PID: e.self.PID, PIDStart: e.self.Start,
	}
}

// decodeHolder reads a lock's value; one that is not JSON (written by
// hand) has an unknown holder.
func decodeHolder(value []byte) LockHolder {
	var h LockHolder
	_ = json.Unmarshal(value, &h)
	return h
}

func (e *Executor) hold(l Lock) {
	e.mu.Lock()
	e.lock = l
	e.mu.Unlock()
	go e.watchLock(l)
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
	c := e.consul.current()
	if c == nil {
		return errNoConsul
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
