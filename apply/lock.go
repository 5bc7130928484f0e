package apply

import (
	"errors"
	"fmt"
	"time"
)

// LockKey is the stack's lock in Consul KV, under its prefix.
const LockKey = "lock"

// lockTTL is the lock session's TTL: a holder that dies releases the lock
// within one to two TTLs (Consul's grace), never sooner.
const lockTTL = 10 * time.Second

// hostsLockTTL is the lock session's TTL for a stack with hosts. A holder
// gives its lock up when it could not renew it for a TTL, and replacing
// the Consul server that leads leaves the cluster without a leader until
// the others elect one: more than 10 s was seen on the test boxes (CI).
// A dead holder on another machine then keeps the lock up to a minute.
const hostsLockTTL = 30 * time.Second

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

// Unlock releases the lock if this executor holds it.
func (e *Executor) Unlock() { e.lock.release() }

// IsLocked reports whether err is a LockedError.
func IsLocked(err error) bool {
	var le *LockedError
	return errors.As(err, &le)
}
