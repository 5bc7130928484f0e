package apply

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// A step that needs a Consul this apply creates waits until the background
// connection set the client.
func TestConsulConnGetWaitsForTheBackgroundConnection(t *testing.T) {
	var c consulConn
	c.expect()
	release := make(chan struct{})
	client := fakeConsul{testWorld()}
	c.start(context.Background(), func(context.Context) error {
		<-release
		c.set(client)
		return nil
	})
	got := make(chan Consul, 1)
	go func() {
		cl, err := c.get(context.Background())
		if err != nil {
			t.Errorf("get: %v", err)
		}
		got <- cl
	}()
	select {
	case <-got:
		t.Fatal("get returned before the connection ended")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if cl := <-got; cl != client {
		t.Errorf("get returned %v, want the connected client", cl)
	}
}

// When the step that creates Consul fails, every step waiting for Consul
// gets that failure, and no connection starts after it.
func TestConsulConnFailEndsTheWaitForEveryone(t *testing.T) {
	var c consulConn
	c.expect()
	boom := errors.New("create failed")
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.get(context.Background())
			errs <- err
		}()
	}
	c.fail(boom)
	for range 2 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Errorf("get: %v, want %v", err, boom)
		}
	}
	var started atomic.Bool
	c.start(context.Background(), func(context.Context) error { started.Store(true); return nil })
	time.Sleep(10 * time.Millisecond)
	if started.Load() {
		t.Error("a connection started after fail")
	}
}

// A Consul connected before the steps is not connected again, and getting
// it waits for nothing; without any Consul, get says so at once.
func TestConsulConnConnectedOrAbsent(t *testing.T) {
	var c consulConn
	if c.awaited() {
		t.Error("nothing connected, nothing expected, yet awaited")
	}
	if _, err := c.get(context.Background()); !errors.Is(err, errNoConsul) {
		t.Errorf("get without Consul: %v, want errNoConsul", err)
	}
	client := fakeConsul{testWorld()}
	c.set(client)
	c.expect()
	c.start(context.Background(), func(context.Context) error {
		t.Error("connected again")
		return nil
	})
	if cl, err := c.get(context.Background()); cl != client || err != nil {
		t.Errorf("get: %v, %v", cl, err)
	}
}
