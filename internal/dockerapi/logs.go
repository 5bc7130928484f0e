package dockerapi

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	timetypes "github.com/docker/docker/api/types/time"
	"github.com/docker/docker/pkg/stdcopy"
)

// LogOptions choose which part of a container's output Logs copies.
type LogOptions struct {
	// Follow keeps copying new output until the container stops or ctx ends.
	Follow bool
	// Since is what docker logs --since takes: a duration back from now
	// ("5m") or a time ("2026-12-01T14:00:00Z"); "" means from the start.
	Since string
	// Tail is the number of lines to show from the end, or "all".
	Tail string
	// Timestamps puts the engine's RFC 3339 time before every line.
	Timestamps bool
}

// CheckSince tells whether Logs can take since, before any container's
// output is asked for, with the error docker logs would give.
func CheckSince(since string) error {
	if since == "" {
		return nil
	}
	if _, err := timetypes.GetTimestamp(since, time.Now()); err != nil {
		return fmt.Errorf("--since %q: give a duration back from now, such as 5m, or a time, such as 2026-12-01T14:00:00Z (%v)", since, err)
	}
	return nil
}

// Logs copies a container's output to stdout and stderr, as the engine
// stored it, until the output ends: at once without Follow, when the
// container stops with it. ctx ending is not an error, nor is a container
// that is gone (apply removes old ones): it has no more output to show.
func (c *Client) Logs(ctx context.Context, id string, o LogOptions, stdout, stderr io.Writer) error {
	// A container made with a terminal has one raw stream; any other gets
	// both streams multiplexed into frames that stdcopy takes apart. Only the
	// inspect tells them apart.
	info, err := c.api.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return ignoreDone(ctx, fmt.Errorf("inspect container %.12s: %w", id, err))
	}
	tail := o.Tail
	if tail == "" {
		tail = "all"
	}
	rc, err := c.api.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     o.Follow,
		Since:      o.Since,
		Tail:       tail,
		Timestamps: o.Timestamps,
	})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return ignoreDone(ctx, fmt.Errorf("logs of %s: %w", strings.TrimPrefix(info.Name, "/"), err))
	}
	defer rc.Close()
	if info.Config != nil && info.Config.Tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	return ignoreDone(ctx, err)
}

// ignoreDone drops the error a request ends with once ctx has ended: the
// caller asked for the end, and the transport reports it in several ways (a
// cancelled context, a closed body).
func ignoreDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
