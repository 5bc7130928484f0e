package lbsync

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is the delay before retry number attempt (0-based): exponential
// from min, capped at max, with jitter in [d/2, d] so many watchers that
// failed together do not retry in lockstep.
func backoff(attempt int, min, max time.Duration) time.Duration {
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	d = minDuration(d, max)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func minDuration(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

// sleep waits for d or ctx, reporting whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
