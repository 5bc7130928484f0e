package consulapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/apply"
)

// lockRetry is how often a waiting Lock tries again (it also wakes up
// early through a blocking query on the key).
const lockRetry = time.Second

// lockDelay is set on every lock session. After a session is invalidated
// (expired, or destroyed by a takeover or `stackctl unlock`) Consul refuses
// to let anyone acquire its locks for the session's lock delay, 15s unless
// set. That guards against a holder that does not know yet that it lost
// the lock; stackctl's holder stops at once when it does (its blocking
// query on the key sees it), and a takeover only destroys sessions of
// processes that are gone. So the delay is the smallest Consul takes: the
// next apply gets the lock the moment it is free.
const lockDelay = time.Millisecond

// Lock takes the lock at key with a new session of the given TTL, renewed
// in the background until Unlock. A session whose holder died expires after
// its TTL (Consul allows up to twice that), releasing the lock. It waits up
// to wait; when the lock stays held it returns a nil Lock and the key.
//
// The session has no health checks: it lives by its renewals alone. By
// default Consul ties a session to the health of the node of the agent it
// was made through, which says nothing of the holder (stackctl is not that
// node) and would lose the lock whenever that agent restarts, as it does
// when an apply replaces the Consul agents of a stack with hosts one by
// one.
func (c *Client) Lock(ctx context.Context, key string, value []byte, ttl, wait time.Duration) (apply.Lock, *apply.LockPair, error) {
	wo := (&api.WriteOptions{}).WithContext(ctx)
	id, _, err := c.api.Session().CreateNoChecks(&api.SessionEntry{
		Name:      "stackctl lock " + key,
		TTL:       ttl.String(),
		Behavior:  api.SessionBehaviorRelease,
		LockDelay: lockDelay,
	}, wo)
	if err != nil {
		return nil, nil, fmt.Errorf("create session: %w", err)
	}
	// The session is renewed from now on, not only once the lock is held:
	// waiting for a dead holder's session to expire takes longer than the
	// TTL, and a session that expired while waiting would be a lock lost
	// the moment it is taken.
	l := c.renewSession(key, id, ttl)
	deadline := time.Now().Add(wait)
	for {
		ok, _, err := c.api.KV().Acquire(&api.KVPair{Key: key, Value: value, Session: id}, wo)
		if err != nil {
			l.abandon()
			return nil, nil, fmt.Errorf("acquire %s: %w", key, err)
		}
		if ok {
			l.hold()
			return l, nil, nil
		}
		pair, meta, err := c.api.KV().Get(key, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			l.abandon()
			return nil, nil, fmt.Errorf("read %s: %w", key, err)
		}
		held := &apply.LockPair{}
		var index uint64
		if pair != nil {
			held = &apply.LockPair{Session: pair.Session, Value: pair.Value}
		}
		if meta != nil {
			index = meta.LastIndex
		}
		left := time.Until(deadline)
		if left <= 0 {
			l.abandon()
			return nil, held, nil
		}
		// Wait for the key to change (released) or a retry period.
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: min(left, lockRetry)}).WithContext(ctx)
		if _, _, err := c.api.KV().Get(key, q); err != nil && ctx.Err() != nil {
			l.abandon()
			return nil, nil, ctx.Err()
		}
	}
}

// ReadLock returns the lock at key while a session holds it, else nil.
func (c *Client) ReadLock(ctx context.Context, key string) (*apply.LockPair, error) {
	pair, _, err := c.api.KV().Get(key, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if pair == nil || pair.Session == "" {
		return nil, nil
	}
	return &apply.LockPair{Session: pair.Session, Value: pair.Value}, nil
}

// DestroySession ends session id; the locks it holds are released. A
// session that no longer exists is not an error.
func (c *Client) DestroySession(ctx context.Context, id string) error {
	if _, err := c.api.Session().Destroy(id, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("destroy session %s: %w", id, err)
	}
	return nil
}

func (c *Client) destroySession(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = c.api.Session().Destroy(id, (&api.WriteOptions{}).WithContext(ctx))
}

// heldLock renews its session until Unlock, and closes lost when renewing
// fails for good or the key stops naming its session (the session was
// destroyed, or the key released or deleted by someone else).
type heldLock struct {
	c        *Client
	key, id  string
	stop     chan struct{}
	lost     chan struct{}
	lostOnce sync.Once
	once     sync.Once
	done     sync.WaitGroup
}

// renewSession starts renewing session id; hold starts watching the key
// once it is acquired, abandon gives up (and destroys the session).
func (c *Client) renewSession(key, id string, ttl time.Duration) *heldLock {
	l := &heldLock{c: c, key: key, id: id, stop: make(chan struct{}), lost: make(chan struct{})}
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		defer l.markLost()
		_ = c.api.Session().RenewPeriodic(ttl.String(), id, nil, l.stop)
	}()
	return l
}

func (l *heldLock) hold() {
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		l.watch()
	}()
}

func (l *heldLock) abandon() {
	l.once.Do(func() {
		close(l.stop)
		l.done.Wait()
		l.c.destroySession(l.id)
	})
}

func (l *heldLock) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// watch follows the key with blocking queries, so a lock broken from
// outside is noticed at once rather than at the next renewal.
func (l *heldLock) watch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.stop:
			cancel()
		case <-l.lost:
			cancel()
		}
	}()
	var index uint64
	for ctx.Err() == nil {
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second}).WithContext(ctx)
		pair, meta, err := l.c.api.KV().Get(l.key, q)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// Consul unreachable: the renewals decide, by the TTL.
			index = 0
			select {
			case <-ctx.Done():
			case <-time.After(lockRetry):
			}
			continue
		}
		if pair == nil || pair.Session != l.id {
			l.markLost()
			return
		}
		index = meta.LastIndex
	}
}

func (l *heldLock) Lost() <-chan struct{} { return l.lost }

// Unlock releases the key and destroys the session.
func (l *heldLock) Unlock(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		l.done.Wait()
		wo := (&api.WriteOptions{}).WithContext(ctx)
		if _, _, e := l.c.api.KV().Release(&api.KVPair{Key: l.key, Session: l.id}, wo); e != nil {
			err = fmt.Errorf("release %s: %w", l.key, e)
		}
		if _, e := l.c.api.Session().Destroy(l.id, wo); e != nil && err == nil {
			err = fmt.Errorf("destroy session: %w", e)
		}
	})
	return err
}
