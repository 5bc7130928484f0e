package lbsync

import "time"

// quiescence coalesces a burst of changes into one render, as
// consul-template's `wait` does: it fires once no change has come for min,
// and at the latest max after the burst's first change.
type quiescence struct {
	min, max time.Duration
	timer    *time.Timer
	deadline time.Time
	pending  bool
}

func newQuiescence(min, max time.Duration) *quiescence {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &quiescence{min: min, max: max, timer: t}
}

// touch records a change.
func (q *quiescence) touch(now time.Time) {
	if !q.pending {
		q.pending = true
		q.deadline = now.Add(q.max)
	}
	next := now.Add(q.min)
	if next.After(q.deadline) {
		next = q.deadline
	}
	q.timer.Reset(next.Sub(now))
}

// C fires when the burst is over; nil (never ready) when none is pending.
func (q *quiescence) C() <-chan time.Time {
	if !q.pending {
		return nil
	}
	return q.timer.C
}

// fired must be called after receiving from C.
func (q *quiescence) fired() { q.pending = false }

func (q *quiescence) stop() { q.timer.Stop() }
