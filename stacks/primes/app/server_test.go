package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPrimeHandler(t *testing.T) {
	srv := httptest.NewServer(newHandler(config{digits: 9, version: "v7"}))
	defer srv.Close()

	res, body := get(t, srv.URL+"/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if v := res.Header.Get("X-Version"); v != "v7" {
		t.Errorf("X-Version = %q, want v7", v)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	p, err := strconv.ParseUint(strings.TrimSpace(body), 10, 64)
	if err != nil {
		t.Fatalf("body %q is not a number: %v", body, err)
	}
	if !isPrime(p) || len(strconv.FormatUint(p, 10)) != 9 {
		t.Errorf("body %d is not a 9-digit prime", p)
	}
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name string
		fail bool
		want int
	}{
		{"healthy", false, http.StatusOK},
		{"failing", true, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler(config{digits: 3, version: "v1", healthzFail: tt.fail}))
			defer srv.Close()
			res, body := get(t, srv.URL+"/healthz")
			if res.StatusCode != tt.want {
				t.Errorf("status %d (%q), want %d", res.StatusCode, body, tt.want)
			}
			if v := res.Header.Get("X-Version"); v != "v1" {
				t.Errorf("X-Version = %q, want v1", v)
			}
		})
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	srv := httptest.NewServer(newHandler(config{digits: 3}))
	defer srv.Close()

	if res, _ := get(t, srv.URL+"/nope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: status %d, want 404", res.StatusCode)
	}
	res, err := http.Post(srv.URL+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", res.StatusCode)
	}
}

func TestPrimeWorkHoldsTheRequestUntilTheClientLeaves(t *testing.T) {
	entered, returned := make(chan struct{}), make(chan struct{})
	app := newHandler(config{digits: 3, work: time.Hour})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		app.ServeHTTP(w, r)
		close(returned)
	}))
	defer srv.Close()

	ctx, leave := context.WithCancel(t.Context())
	answered := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		answered <- err
	}()
	<-entered
	leave()
	// An hour of work cannot have ended: the only way out is the client leaving.
	if err := <-answered; !errors.Is(err, context.Canceled) {
		t.Errorf("client got %v, want its own cancellation while the work was held", err)
	}
	<-returned // the handler gives up the request instead of holding it for the hour
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestTrafficLogCountsRequestsButNotHealthChecks(t *testing.T) {
	var traffic trafficLog
	h := traffic.wrap(newHandler(config{digits: 3, version: "v1"}))
	for _, path := range []string{"/", "/", "/healthz", "/nope"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	if got, want := traffic.take(time.Second), "served 3 requests in 1s (0 failed)"; got != want {
		t.Fatalf("take = %q, want %q", got, want)
	}
	if got := traffic.take(time.Second); got != "" {
		t.Fatalf("second take = %q, want nothing: the counts were taken", got)
	}
}
