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

func (e *Executor) takeLock(ctx context.Context, c Consul) error {
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
	l, held, err := c.Lock(ctx, key, value, lockTTL, e.LockTimeout)
	if err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	if l == nil {
		le := &LockedError{Stack: e.Stack.Name, Key: key, Waited: e.LockTimeout}
		_ = json.Unmarshal(held, &le.Holder)
		return le
	}
	e.mu.Lock()
	e.lock = l
	e.mu.Unlock()
	return nil
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
