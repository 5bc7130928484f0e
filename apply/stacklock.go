package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/stackctl/stackctl/internal/procid"
	"github.com/stackctl/stackctl/spec"
)

// stackLock is the stack's lock in Consul as one apply holds it: taken
// (over from a holder that died on this machine), watched while held, taken
// again after it was lost, released.
type stackLock struct {
	ttl      time.Duration // the session's: lockTTL, or hostsLockTTL
	stack    string        // the stack's name, for notes and errors
	key      string
	wait     time.Duration // for a live holder (Options.LockTimeout)
	holder   LockHolder    // the lock's value, but for Since and this process
	progress Progress
	// self is this process as the lock records it; alive looks up a lock
	// holder's process on this machine (procid.Alive; fakes in tests).
	self  process
	alive func(pid int, start uint64) bool

	mu       sync.Mutex
	held     Lock
	abort    context.CancelCauseFunc // stops Run (lock lost)
	tookOver bool                    // the lock was taken over from a dead holder
}

func newStackLock(s *spec.Stack, opts Options) *stackLock {
	ttl := lockTTL
	if s.MultiHost() {
		ttl = hostsLockTTL
	}
	return &stackLock{
		ttl:   ttl,
		stack: s.Name, key: s.KVPrefix() + LockKey, wait: opts.LockTimeout, progress: opts.Progress,
		holder: LockHolder{Holder: opts.Holder, Operation: opts.Operation, ApplyID: opts.ApplyID},
		self:   thisProcess(), alive: procid.Alive,
	}
}

// take takes the lock, waiting up to Options.LockTimeout for a live holder.
func (l *stackLock) take(ctx context.Context, c Consul) error {
	return l.takeWaiting(ctx, c, l.wait)
}

// takeWhenReady takes the lock, retrying for up to limit while a new server
// cannot make sessions yet (its own node is registered a moment after it
// leads).
func (l *stackLock) takeWhenReady(ctx context.Context, c Consul, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := l.take(ctx, c)
		if err == nil || IsLocked(err) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// takeWaiting takes the lock, waiting up to wait for a live holder. A
// holder that died on this machine (holderGone) is not waited for: its
// session is destroyed, which releases the lock, and the lock is taken at
// once. The journal it left is then rolled back by recover, as after any
// crash.
func (l *stackLock) takeWaiting(ctx context.Context, c Consul, wait time.Duration) error {
	l.mu.Lock()
	taken := l.held != nil
	l.mu.Unlock()
	if taken {
		return nil
	}
	value, _ := json.Marshal(l.value())
	deadline := time.Now().Add(wait)
	var gone *LockHolder // the dead holder taken over
	takeovers, free, told := 0, 0, false
	var slice time.Duration // the first try does not wait: first see who holds it
	for {
		lk, held, err := c.Lock(ctx, l.key, value, l.ttl, slice)
		if err != nil {
			return fmt.Errorf("lock %s: %w", l.key, err)
		}
		if lk != nil {
			l.hold(lk)
			if gone != nil {
				l.mu.Lock()
				l.tookOver = true
				l.mu.Unlock()
				l.progress.Note(fmt.Sprintf("stack %s: the lock's holder %s is gone; took the lock over", l.stack, gone))
			}
			return nil
		}
		if held.Session == "" {
			// Released a moment ago, and not yet free: Consul's lock delay.
			if free++; free > 50 {
				return fmt.Errorf("lock %s: released but never free to take", l.key)
			}
			slice = max(slice, 100*time.Millisecond)
			continue
		}
		h := decodeHolder(held.Value)
		if l.gone(h) {
			if takeovers == maxTakeovers {
				return fmt.Errorf("lock %s: taken over %d times and still held by a dead holder (%s)", l.key, takeovers, h)
			}
			if err := c.DestroySession(ctx, held.Session); err != nil {
				return fmt.Errorf("release the lock %s of %s, whose process is gone: %w", l.key, h, err)
			}
			takeovers++
			gone, slice = &h, 0
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &LockedError{Stack: l.stack, Key: l.key, ID: held.Session, Holder: h, Waited: wait}
		}
		if !told {
			l.progress.Note(fmt.Sprintf("stack %s: waiting for the lock held by %s, up to %s", l.stack, h, wait))
			told = true
		}
		slice = left
		if l.self.SameSpace(h.BootID, h.PIDNamespace) {
			slice = min(left, lockRecheck)
		}
	}
}

// maxTakeovers bounds how often one takeWaiting destroys the session of a
// dead holder: a lock that keeps going to dead holders is a bug to report,
// not to loop on.
const maxTakeovers = 3

// value is the lock's value for this apply, as of now.
func (l *stackLock) value() LockHolder {
	h := l.holder
	if h.Holder == "" {
		h.Holder = DefaultHolder()
	}
	h.Since = time.Now().UTC()
	h.Host, h.BootID, h.PIDNamespace, h.PID, h.PIDStart = l.self.Host, l.self.BootID, l.self.PIDNamespace, l.self.PID, l.self.Start
	return h
}

// decodeHolder reads a lock's value; one that is not JSON (written by
// hand) has an unknown holder.
func decodeHolder(value []byte) LockHolder {
	var h LockHolder
	_ = json.Unmarshal(value, &h)
	return h
}

// here reports whether h's process can be looked up on this machine.
func (l *stackLock) here(h LockHolder) bool {
	return l.self.SameSpace(h.BootID, h.PIDNamespace) && h.PID > 0 && h.PIDStart > 0
}

// gone reports whether h is known to be dead (holderGone).
func (l *stackLock) gone(h LockHolder) bool {
	return holderGone(h, l.self, l.alive)
}

func (l *stackLock) hold(lk Lock) {
	l.mu.Lock()
	l.held = lk
	l.mu.Unlock()
	go l.watch(lk)
}

// stopOnLoss makes the loss of the held lock stop Run: abort cancels its
// context with ErrLockLost.
func (l *stackLock) stopOnLoss(abort context.CancelCauseFunc) {
	l.mu.Lock()
	l.abort = abort
	l.mu.Unlock()
}

// watch stops the apply when lk is lost while still held: Run's context
// is cancelled with ErrLockLost, and the steps stop as on Ctrl-C.
func (l *stackLock) watch(lk Lock) {
	<-lk.Lost()
	l.mu.Lock()
	held := l.held == lk // release lets go of l.held before releasing
	abort := l.abort
	l.mu.Unlock()
	if held && abort != nil {
		abort(ErrLockLost)
	}
}

// check returns ErrLockLost, and stops Run, once the held lock is lost:
// no step starts without the lock, even before watch has noticed.
func (l *stackLock) check() error {
	l.mu.Lock()
	lk, abort := l.held, l.abort
	l.mu.Unlock()
	if lk == nil {
		return nil
	}
	select {
	case <-lk.Lost():
	default:
		return nil
	}
	if abort != nil {
		abort(ErrLockLost)
	}
	return ErrLockLost
}

// retake takes the lock again after it was lost, for the rollback: if
// another apply took it meanwhile, that one owns the stack now (and rolls
// this apply back from its journal), so this one must not touch anything.
func (l *stackLock) retake(ctx context.Context, c Consul) error {
	if c == nil {
		return errNoConsul
	}
	l.mu.Lock()
	l.held = nil
	l.mu.Unlock()
	return l.takeWaiting(ctx, c, relockWait)
}

// takenOver reports whether the lock was taken over from a dead holder,
// whose last Docker requests may still be landing (settleAfterCrash).
func (l *stackLock) takenOver() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tookOver
}

// release releases the lock if it is held.
func (l *stackLock) release() {
	l.mu.Lock()
	lk := l.held
	l.held = nil
	l.mu.Unlock()
	if lk == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = lk.Unlock(ctx)
}
