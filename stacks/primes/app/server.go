package main

import (
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

func newHandler(cfg config) http.Handler {
	hostname, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", primeHandler(cfg))
	mux.HandleFunc("GET /healthz", healthzHandler(cfg))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// On every response, 404s included, so that a client behind the load
		// balancer can always tell which version and which replica answered.
		w.Header().Set("X-Version", cfg.version)
		w.Header().Set("X-Hostname", hostname)
		mux.ServeHTTP(w, r)
	})
}

func primeHandler(cfg config) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		p, err := randomPrime(cfg.digits)
		if err != nil {
			log.Printf("prime: %v", err)
			http.Error(w, "no prime found", http.StatusInternalServerError)
			return
		}
		// PRIME_WORK stretches a request to the slow one the stack was first
		// written for. Waiting, not computing, keeps twenty such replicas from
		// starving a small machine while still holding the request in flight.
		if rest := cfg.work - time.Since(start); rest > 0 {
			// Logged so that an operator (or a test) can see a request is held
			// in flight; at seconds per request this is never a flood.
			log.Printf("holding %s %s for PRIME_WORK=%s", r.Method, r.URL.Path, cfg.work)
			timer := time.NewTimer(rest)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-r.Context().Done():
				return // the client left; nobody is there to answer
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(strconv.FormatUint(p, 10) + "\n"))
	}
}

func healthzHandler(cfg config) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if cfg.healthzFail {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("unhealthy\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}
}
