package main

import (
	"context"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// trafficLog counts the requests a worker answers and logs one line a second
// while there are any, so that `stackctl logs` and `docker logs` show which
// workers take traffic without a line per request: at load-test rates a
// per-request log would cost more than the requests. Health checks are not
// counted, or every worker would log every second forever.
type trafficLog struct {
	ok, failed atomic.Int64
}

func (t *trafficLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status < 500 {
			t.ok.Add(1)
		} else {
			t.failed.Add(1)
		}
	})
}

// run logs the counts every period until ctx ends.
func (t *trafficLog) run(ctx context.Context, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if line := t.take(period); line != "" {
				log.Print(line)
			}
		}
	}
}

// take returns the summary of the requests since the last take, "" if none.
func (t *trafficLog) take(period time.Duration) string {
	ok, failed := t.ok.Swap(0), t.failed.Swap(0)
	if ok+failed == 0 {
		return ""
	}
	noun := " requests in "
	if ok+failed == 1 {
		noun = " request in "
	}
	return "served " + strconv.FormatInt(ok+failed, 10) + noun + period.String() + " (" + strconv.FormatInt(failed, 10) + " failed)"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
