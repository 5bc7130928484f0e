package reconcile

import "time"

// backoff spaces out the tries of a commit whose apply failed: after its
// n-th failure in a row the next try waits base·2^(n-1) (1 interval, 2, 4,
// ...), at most max. A failing apply is a failing deploy: retrying it at
// every interval would churn the stack (every try starts new containers
// and rolls them back) and fill the history, and fixing it takes a commit
// or a person, both of which reset the wait.
type backoff struct {
	base, max time.Duration
	tries     map[string]retry // by commit hash
}

type retry struct {
	failures int
	next     time.Time
}

func newBackoff(base, max time.Duration) *backoff {
	return &backoff{base: base, max: max, tries: map[string]retry{}}
}

// failed counts a failure of commit at now and returns how long until the
// next try.
func (b *backoff) failed(commit string, now time.Time) time.Duration {
	r := b.tries[commit]
	r.failures++
	wait := b.wait(r.failures)
	r.next = now.Add(wait)
	b.tries[commit] = r
	return wait
}

// wait is the wait after n failures in a row.
func (b *backoff) wait(n int) time.Duration {
	d := b.base
	for i := 1; i < n && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// seed sets what an earlier run of the agent recorded: n failures in a row,
// the last one ended at last.
func (b *backoff) seed(commit string, n int, last time.Time) {
	if n > 0 {
		b.tries[commit] = retry{failures: n, next: last.Add(b.wait(n))}
	}
}

// left is how long commit must still wait at now; 0 when it may be tried.
func (b *backoff) left(commit string, now time.Time) time.Duration {
	r, ok := b.tries[commit]
	if !ok {
		return 0
	}
	return max(r.next.Sub(now), 0)
}

// succeeded forgets commit's failures.
func (b *backoff) succeeded(commit string) { delete(b.tries, commit) }

// reset forgets every failure: a new commit is a new chance for all.
func (b *backoff) reset() { clear(b.tries) }

// soonest is the earliest time a commit may be tried again, if any waits.
func (b *backoff) soonest() (time.Time, bool) {
	var at time.Time
	for _, r := range b.tries {
		if at.IsZero() || r.next.Before(at) {
			at = r.next
		}
	}
	return at, !at.IsZero()
}
