package stress

import (
	"context"
	"testing"
	"time"
)

// fakeCapacity sustains every rate up to capacity; the first try of each rate
// in noisy fails as if another process had taken the CPU for a moment.
type fakeCapacity struct {
	capacity int
	noisy    map[int]bool
	tries    map[int]int
}

func (f *fakeCapacity) measure(_ context.Context, rate int, _ time.Duration) (Step, []Usage, *Machine) {
	f.tries[rate]++
	st := Step{Rate: rate, Sent: float64(rate), Requests: uint64(rate) * 5, P99: 20}
	switch {
	case rate > f.capacity:
		st.P99, st.Why = 1500, "p99 1.5s (bound 500ms)"
	case f.noisy[rate] && f.tries[rate] == 1:
		st.P99, st.Why = 900, "p99 900ms (bound 500ms)"
	default:
		st.Sustained = true
	}
	return st, nil, nil
}

func search(f *fakeCapacity) *FindMax {
	s := &Search{Start: 50, Factor: 2, Budget: time.Minute, ErrorBound: 0.001, P99Bound: 500 * time.Millisecond, measure: f.measure}
	return s.Run(context.Background())
}

func TestFindMaxFindsTheCapacityWithin5Percent(t *testing.T) {
	for _, capacity := range []int{120, 2769, 5377, 6400, 9000} {
		f := &fakeCapacity{capacity: capacity, tries: map[int]int{}}
		fm := search(f)
		if fm.Rate > capacity || float64(fm.Rate) < float64(capacity)/1.05 {
			t.Errorf("capacity %d: found %d, want within 5%% below it; steps %+v", capacity, fm.Rate, fm.Steps)
		}
	}
}

func TestFindMaxTriesAFailedStepOnceMore(t *testing.T) {
	// Without the second try, the noisy 3,200/s step would end the ramp
	// and the search would report about 1,600/s.
	f := &fakeCapacity{capacity: 5377, noisy: map[int]bool{3200: true}, tries: map[int]int{}}
	fm := search(f)
	if float64(fm.Rate) < 5377/1.05 {
		t.Fatalf("found %d with one noisy step, want within 5%% of 5377; steps %+v", fm.Rate, fm.Steps)
	}
	if f.tries[3200] != 2 {
		t.Errorf("3200/s tried %d times, want 2", f.tries[3200])
	}
	retried := 0
	for _, st := range fm.Steps {
		if st.Retried {
			retried++
			if st.Sustained {
				t.Errorf("step %+v is marked retried but sustained", st)
			}
		}
	}
	// 3200 once, and every rate above the capacity once.
	if retried < 2 {
		t.Errorf("%d steps marked retried, want the noisy one and the failures above capacity: %+v", retried, fm.Steps)
	}
}

func TestFindMaxNeverReportsARateThatFailedTwice(t *testing.T) {
	f := &fakeCapacity{capacity: 40, tries: map[int]int{}}
	if fm := search(f); fm.Rate != 0 || f.tries[50] != 2 {
		t.Errorf("start rate above capacity: found %d after %d tries of 50/s, want 0 after 2", fm.Rate, f.tries[50])
	}
}
