package dockerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/stackctl/stackctl/stress"
)

// The calls stackctl stress makes to inject faults and undo them.
var _ stress.Engine = (*Client)(nil)

// KillContainer sends SIGKILL. Docker then leaves the container stopped
// whatever its restart policy, until something starts it: a crash that
// stays until healed.
func (c *Client) KillContainer(ctx context.Context, id string) error {
	return c.api.ContainerKill(ctx, id, "KILL")
}

// RestartContainer stops the container (waiting up to timeout before
// SIGKILL) and starts it again.
func (c *Client) RestartContainer(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(timeout / time.Second)
	return c.api.ContainerRestart(ctx, id, container.StopOptions{Timeout: &secs})
}

// PauseContainer freezes every process of the container: a hung process.
func (c *Client) PauseContainer(ctx context.Context, id string) error {
	return c.api.ContainerPause(ctx, id)
}

// UnpauseContainer thaws a paused container.
func (c *Client) UnpauseContainer(ctx context.Context, id string) error {
	return c.api.ContainerUnpause(ctx, id)
}

// DisconnectNetwork takes the container off the network; its processes
// go on, unreachable.
func (c *Client) DisconnectNetwork(ctx context.Context, networkName, id string) error {
	return c.api.NetworkDisconnect(ctx, networkName, id, true)
}

// ConnectNetwork puts the container back on the network with the address
// it had, so that its registration and the LB's config stay right; if the
// address was taken meanwhile, with any.
func (c *Client) ConnectNetwork(ctx context.Context, networkName, id, ip string) error {
	ep := &network.EndpointSettings{}
	if ip != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
	}
	err := c.api.NetworkConnect(ctx, networkName, id, ep)
	if err != nil && ip != "" && !cerrdefs.IsNotFound(err) {
		if err2 := c.api.NetworkConnect(ctx, networkName, id, &network.EndpointSettings{}); err2 == nil {
			return nil
		}
	}
	return err
}

// Sample reads a container's CPU time and memory once (Docker's one-shot
// stats, which do not wait for a second reading).
func (c *Client) Sample(ctx context.Context, id string) (stress.Sample, error) {
	resp, err := c.api.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return stress.Sample{}, err
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return stress.Sample{}, fmt.Errorf("stats of %s: %w", id, err)
	}
	// Like docker stats, memory in use leaves out the page cache.
	mem := s.MemoryStats.Usage
	if v, ok := s.MemoryStats.Stats["inactive_file"]; ok && v < mem {
		mem -= v
	} else if v, ok := s.MemoryStats.Stats["total_inactive_file"]; ok && v < mem {
		mem -= v
	}
	at := s.Read
	if at.IsZero() {
		at = time.Now()
	}
	return stress.Sample{CPU: time.Duration(s.CPUStats.CPUUsage.TotalUsage), Mem: mem, At: at}, nil
}

// ContainerPID is the host pid of the container's main process (0 when it
// is not running or does not exist): the way into its network namespace.
func (c *Client) ContainerPID(ctx context.Context, id string) (int, error) {
	info, err := c.api.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if info.State == nil {
		return 0, nil
	}
	return info.State.Pid, nil
}
