package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/stress"
)

// routeCutter cuts a container off from an address with a blackhole route
// inside the container's own network namespace (nsenter, then ip route):
// the cut-consul fault puts one in the Consul server's namespace for a
// worker's address, so Consul's checks of the worker fail at once while
// the LB, in its own namespace, still reaches it. Nothing outside that
// one namespace changes, and the route goes with the namespace.
type routeCutter struct{ docker *dockerapi.Client }

// newCutter returns a Cutter when this process can enter a container's
// namespace: the engine is this machine's, stackctl runs as root, and
// nsenter and ip are installed. Otherwise nil: cut-consul is refused.
func newCutter(docker *dockerapi.Client) stress.Cutter {
	if !localEngine(docker) || os.Geteuid() != 0 {
		return nil
	}
	for _, tool := range []string{"nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil
		}
	}
	return &routeCutter{docker: docker}
}

func (r *routeCutter) route(ctx context.Context, op, from, ip string) error {
	pid, err := r.docker.ContainerPID(ctx, from)
	if err != nil {
		return err
	}
	if pid == 0 {
		return fmt.Errorf("container %.12s is not running", from)
	}
	out, err := exec.CommandContext(ctx, "nsenter", "-t", fmt.Sprint(pid), "-n", "ip", "route", op, "blackhole", ip+"/32").CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip route %s blackhole %s in container %.12s: %v: %s", op, ip, from, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (r *routeCutter) Cut(ctx context.Context, from, ip string) error {
	return r.route(ctx, "add", from, ip)
}

// Uncut removes the route; a route that is gone already (Consul was
// restarted into a new namespace) is not an error.
func (r *routeCutter) Uncut(ctx context.Context, from, ip string) error {
	err := r.route(ctx, "del", from, ip)
	if err != nil && (strings.Contains(err.Error(), "No such process") || strings.Contains(err.Error(), "not running")) {
		return nil
	}
	return err
}
