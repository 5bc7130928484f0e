// Package e2e is the harness for end-to-end tests against the real Docker
// engine, Consul and nginx. Only _test.go files may import it: it calls
// t.Fatal and leaves nothing behind only because t.Cleanup removes what it made.
//
// Every test gets its own stack name and bridge network, and every object it
// creates carries the label io.stackctl.stack=<name>, so tests can run in
// parallel and a failed test is cleaned up like a passing one.
//
//	func TestSomething(t *testing.T) {
//		e := e2e.New(t)
//		consul := e.StartConsul()
//		web := e.StartApp("web-1", images.PrimesV1, "PRIME_DIGITS=8")
//		// register web.IP with consul.Client, then:
//		res := e.WaitHTTP(web, e2e.AppPort, "/", http.StatusOK)
//	}
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-multierror"
)

// StackLabel marks every Docker object a test creates with the test's stack
// name, the same ownership label stackctl itself uses.
const StackLabel = "io.stackctl.stack"

// cleanupTimeout bounds the removal of a test's containers; it runs after the
// test's own context is cancelled.
const cleanupTimeout = 2 * time.Minute

// Env is one test's slice of the Docker engine.
type Env struct {
	t      testing.TB
	Docker *client.Client
	// Stack is the test's unique stack name, t-<8 hex digits>: a valid stackctl
	// stack name that also prefixes each of its containers.
	Stack string
	// Network is the name of the test's own bridge network.
	Network string
}

// New checks the engine and images (see Require), then creates a bridge
// network for the test. Everything labelled with the test's stack name is
// removed when the test ends, whether it passed or not.
func New(t testing.TB) *Env {
	t.Helper()
	e := NewForApply(t)
	_, err := e.Docker.NetworkCreate(t.Context(), e.Network, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{StackLabel: e.Stack},
	})
	if err != nil {
		t.Fatalf("create network %s: %v", e.Network, err)
	}
	return e
}

// NewForApply is New without the network: for tests that run stackctl
// apply on the stack, which creates the stack's network itself (with a
// configured subnet, for fixed worker addresses). It is removed at the end
// all the same.
func NewForApply(t testing.TB) *Env {
	t.Helper()
	Require(t)
	docker, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{t: t, Docker: docker, Stack: newStackName()}
	e.Network = e.Stack
	// Registered before anything is created, so a half-built Env is removed too.
	t.Cleanup(e.cleanup)
	return e
}

func newStackName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails; see crypto/rand.Read
	return "t-" + hex.EncodeToString(b)
}

func (e *Env) stackFilter() filters.Args {
	return filters.NewArgs(filters.Arg("label", StackLabel+"="+e.Stack))
}

func (e *Env) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	defer e.Docker.Close()

	containers, err := e.Docker.ContainerList(ctx, container.ListOptions{All: true, Filters: e.stackFilter()})
	if err != nil {
		e.t.Errorf("cleanup: list containers of %s: %v", e.Stack, err)
		return
	}
	var errs *multierror.Error
	for _, c := range containers {
		if e.t.Failed() {
			e.logTail(ctx, c.ID, c.Names)
		}
		err := e.Docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !client.IsErrNotFound(err) {
			errs = multierror.Append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
		}
	}
	networks, err := e.Docker.NetworkList(ctx, network.ListOptions{Filters: e.stackFilter()})
	if err != nil {
		errs = multierror.Append(errs, fmt.Errorf("list networks: %w", err))
	}
	for _, n := range networks {
		if err := e.removeNetwork(ctx, n.ID, n.Name); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	// The managed Consul's data volume, left when a test ended before its
	// destroy.
	volumes, err := e.Docker.VolumeList(ctx, volume.ListOptions{Filters: e.stackFilter()})
	if err != nil {
		errs = multierror.Append(errs, fmt.Errorf("list volumes: %w", err))
	} else {
		for _, v := range volumes.Volumes {
			if err := e.Docker.VolumeRemove(ctx, v.Name, true); err != nil && !client.IsErrNotFound(err) {
				errs = multierror.Append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			}
		}
	}
	if err := errs.ErrorOrNil(); err != nil {
		e.t.Errorf("cleanup of stack %s: %v", e.Stack, err)
	}
}

// removeNetwork removes a network once its containers are gone. Docker 20.10
// sometimes keeps a stale endpoint of a force-removed container: the network
// then lists no container but refuses removal with "has active endpoints"
// until the daemon restarts. That is the engine's bookkeeping, not an object
// anybody can still use, so it is reported in the log rather than failing
// the test; a network that still has a real container attached is an error.
func (e *Env) removeNetwork(ctx context.Context, id, name string) error {
	var err error
	for range 10 {
		err = e.Docker.NetworkRemove(ctx, id)
		if err == nil || client.IsErrNotFound(err) {
			return nil
		}
		if !strings.Contains(err.Error(), "active endpoints") {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
	inspect, ierr := e.Docker.NetworkInspect(ctx, id, network.InspectOptions{})
	if ierr != nil || len(inspect.Containers) > 0 {
		return err
	}
	e.t.Logf("cleanup: network %s keeps a stale endpoint with no container (a Docker 20.10 bug); left for the daemon: %v", name, err)
	return nil
}

// logTail shows a failed test's container output, which is usually where the
// reason for the failure is.
func (e *Env) logTail(ctx context.Context, id string, names []string) {
	logs, err := e.logs(ctx, id, "40")
	if err != nil {
		e.t.Logf("logs of %v: %v", names, err)
		return
	}
	e.t.Logf("last lines of %v:\n%s", names, logs)
}
