//go:build e2e

package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
)

// checkDeadline is how long Consul gets to run a 1 s interval check and
// report its result.
const checkDeadline = 30 * time.Second

// The life of a worker in the reference stack: Consul finds it healthy (and a
// bad build unhealthy), and SIGTERM during a slow request lets it finish.
func TestConsulChecksAppAndSIGTERMFinishesRequestInFlight(t *testing.T) {
	e := e2e.New(t)
	consul := e.StartConsul()
	web := e.StartApp("web-1", images.PrimesV1, "PRIME_WORK=3s")
	bad := e.StartApp("web-bad", images.PrimesBad)
	register(t, consul.Client, e.Stack+"-web-1", web)
	register(t, consul.Client, e.Stack+"-web-bad", bad)

	waitCheckStatus(t, consul.Client, e.Stack+"-web-1", api.HealthPassing)
	waitCheckStatus(t, consul.Client, e.Stack+"-web-bad", api.HealthCritical)
	if passing := passingIDs(t, consul.Client); !slices.Equal(passing, []string{e.Stack + "-web-1"}) {
		t.Errorf("passing instances %v, want only %s-web-1", passing, e.Stack)
	}

	type result struct {
		res *e2e.Response
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		res, err := e2e.Get(ctx, web, e2e.AppPort, "/")
		done <- result{res, err}
	}()
	e.WaitLog(web, "holding GET / for PRIME_WORK=3s")
	e.Signal(web, "TERM")

	r := <-done
	if r.err != nil {
		t.Fatalf("request in flight during SIGTERM: %v", r.err)
	}
	if r.res.StatusCode != http.StatusOK {
		t.Fatalf("request in flight during SIGTERM: status %d, body %q", r.res.StatusCode, r.res.Body)
	}
	if p, err := strconv.ParseUint(strings.TrimSpace(r.res.Body), 10, 64); err != nil || !isPrime(p) {
		t.Errorf("body %q is not a prime", r.res.Body)
	}
	if v := r.res.Header.Get("X-Version"); v != "v1" {
		t.Errorf("X-Version %q, want v1 from %s", v, images.PrimesV1)
	}
	if code := e.Wait(web); code != 0 {
		t.Errorf("app exited %d after SIGTERM, want 0; output:\n%s", code, e.Logs(web))
	}
}

func register(t *testing.T, consul *api.Client, id string, c *e2e.Container) {
	t.Helper()
	port, _ := strconv.Atoi(e2e.AppPort)
	err := consul.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID:      id,
		Name:    "web",
		Address: c.IP,
		Port:    port,
		Check: &api.AgentServiceCheck{
			// Consul runs the check from its own container, across the test network.
			HTTP:     fmt.Sprintf("http://%s:%s/healthz", c.IP, e2e.AppPort),
			Interval: "1s",
			Timeout:  "1s",
		},
	})
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

func waitCheckStatus(t *testing.T, consul *api.Client, id, want string) {
	t.Helper()
	deadline := time.Now().Add(checkDeadline)
	var last string
	for {
		entries, _, err := consul.Health().Service("web", "", false, nil)
		if err != nil {
			t.Fatalf("health of web: %v", err)
		}
		for _, entry := range entries {
			if entry.Service.ID == id {
				last = entry.Checks.AggregatedStatus()
			}
		}
		if last == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: check status %q, want %q", id, last, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func passingIDs(t *testing.T, consul *api.Client) []string {
	t.Helper()
	entries, _, err := consul.Health().Service("web", "", true, nil)
	if err != nil {
		t.Fatalf("passing instances of web: %v", err)
	}
	var ids []string
	for _, entry := range entries {
		ids = append(ids, entry.Service.ID)
	}
	return ids
}
