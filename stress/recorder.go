package stress

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Failure kinds beyond "http NNN": what the client saw instead of an answer.
const (
	FailRefused     = "refused"     // connection refused: nothing listens
	FailReset       = "reset"       // connection reset by the peer
	FailClosed      = "closed"      // the server closed the connection before answering (EOF)
	FailTimeout     = "timeout"     // no whole answer within --timeout
	FailUnreachable = "unreachable" // no route to the host
	FailOther       = "other"
)

// Classify names what went wrong with one request, or "" for a success (a
// 2xx or 3xx answer: redirects are not followed, and count as answers).
func Classify(r *vegeta.Result) string {
	if r.Code >= 200 && r.Code < 400 && r.Error == "" {
		return ""
	}
	if r.Code != 0 {
		return "http " + strconv.Itoa(int(r.Code))
	}
	e := strings.ToLower(r.Error)
	switch {
	case strings.Contains(e, "connection refused"):
		return FailRefused
	case strings.Contains(e, "reset by peer"), strings.Contains(e, "broken pipe"):
		return FailReset
	case strings.Contains(e, "timeout"), strings.Contains(e, "deadline exceeded"):
		return FailTimeout
	case strings.Contains(e, "eof"), strings.Contains(e, "server closed"):
		return FailClosed
	case strings.Contains(e, "no route to host"), strings.Contains(e, "network is unreachable"):
		return FailUnreachable
	}
	return FailOther
}

// Recorder takes every result of a run. It keeps vegeta's metrics for the
// whole run and for each second (by when the request was sent), and counts
// failures by kind, so memory does not grow with the number of requests.
type Recorder struct {
	mu       sync.Mutex
	start    time.Time
	total    vegeta.Metrics
	ok       uint64
	seconds  []*second
	failures map[string]uint64
	examples map[string]string // kind → the first error text seen
	first    time.Time         // first and last failure
	last     time.Time
}

type second struct {
	m        vegeta.Metrics
	ok       uint64
	failures map[string]uint64
}

// NewRecorder starts a recorder; seconds count from start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, failures: map[string]uint64{}, examples: map[string]string{}}
}

// Add records one result.
func (r *Recorder) Add(res *vegeta.Result) {
	kind := Classify(res)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total.Add(res)
	i := max(0, int(res.Timestamp.Sub(r.start)/time.Second))
	for len(r.seconds) <= i {
		r.seconds = append(r.seconds, &second{failures: map[string]uint64{}})
	}
	r.seconds[i].m.Add(res)
	if kind == "" {
		r.ok++
		r.seconds[i].ok++
		return
	}
	r.failures[kind]++
	r.seconds[i].failures[kind]++
	if _, ok := r.examples[kind]; !ok {
		r.examples[kind] = res.Error
	}
	if r.first.IsZero() || res.Timestamp.Before(r.first) {
		r.first = res.Timestamp
	}
	if end := res.End(); end.After(r.last) {
		r.last = end
	}
}

// Totals is what a run saw as a whole.
type Totals struct {
	Requests   uint64            `json:"requests"`
	Successes  uint64            `json:"successes"`
	Failures   map[string]uint64 `json:"failures"` // by kind: "http 502", "refused", "timeout", ...
	Examples   map[string]string `json:"failure_examples,omitempty"`
	Latency    Latency           `json:"latency_ms"`
	Rate       float64           `json:"rate"`       // requests sent per second
	Throughput float64           `json:"throughput"` // successes per second
	// FirstFailure and LastFailure are seconds after the start; nil
	// without failures.
	FirstFailure *float64 `json:"first_failure_s,omitempty"`
	LastFailure  *float64 `json:"last_failure_s,omitempty"`
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Second is one second of a run.
type Second struct {
	T         int               `json:"t"` // seconds after the start
	Requests  uint64            `json:"requests"`
	Successes uint64            `json:"successes"`
	Failures  map[string]uint64 `json:"failures,omitempty"`
	Latency   Latency           `json:"latency_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func latencyOf(m *vegeta.Metrics) Latency {
	return Latency{Mean: ms(m.Latencies.Mean), P50: ms(m.Latencies.P50), P90: ms(m.Latencies.P90), P99: ms(m.Latencies.P99), Max: ms(m.Latencies.Max)}
}

// Totals closes the metrics and returns them; call it once the load is
// over.
func (r *Recorder) Totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total.Close()
	t := Totals{
		Requests:   r.total.Requests,
		Successes:  r.ok,
		Failures:   maps.Clone(r.failures),
		Examples:   maps.Clone(r.examples),
		Latency:    latencyOf(&r.total),
		Rate:       r.total.Rate,
		Throughput: r.total.Throughput,
	}
	if !r.first.IsZero() {
		first, last := r.first.Sub(r.start).Seconds(), r.last.Sub(r.start).Seconds()
		t.FirstFailure, t.LastFailure = &first, &last
	}
	return t
}

// Seconds returns the run second by second.
func (r *Recorder) Seconds() []Second {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Second, len(r.seconds))
	for i, s := range r.seconds {
		s.m.Close()
		out[i] = Second{T: i, Requests: s.m.Requests, Successes: s.ok, Latency: latencyOf(&s.m)}
		if len(s.failures) > 0 {
			out[i].Failures = maps.Clone(s.failures)
		}
	}
	return out
}

// FailureKinds lists the kinds of failure seen, most frequent first.
func FailureKinds(f map[string]uint64) []string {
	kinds := slices.Collect(maps.Keys(f))
	slices.SortFunc(kinds, func(a, b string) int {
		if f[a] != f[b] {
			if f[a] > f[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return kinds
}
