package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestServeFinishesRequestsInFlightOnShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 1)
	app := newHandler(config{digits: 3, work: 300 * time.Millisecond})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		app.ServeHTTP(w, r)
	})
	ctx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, h, ln) }()

	inFlight := make(chan error, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				err = errors.New(res.Status)
			}
		}
		inFlight <- err
	}()
	select {
	case <-entered:
	case err := <-inFlight:
		t.Fatalf("request finished before shutdown began: %v", err)
	}
	shutdown()

	if err := <-inFlight; err != nil {
		t.Errorf("request in flight during shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve returned %v, want nil after a clean shutdown", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}
