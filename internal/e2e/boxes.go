package e2e

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/client"

	"github.com/stackctl/stackctl/internal/boxes"
	"github.com/stackctl/stackctl/internal/images"
)

// Box is a test machine: a container on the test's own network that runs a
// Docker engine, reached at DockerHost (tcp://Address:2375). Containers in it
// that publish a port are reached at Address and that port.
type Box = boxes.Box

// boxStartTimeout bounds StartBoxes: the engines start in parallel, about
// 5 s each on an idle machine.
const boxStartTimeout = 3 * time.Minute

// StartBoxes starts n boxes, <stack>-box1..n, on a network of their own,
// <stack>-boxes, with the recipe of `make boxes` (internal/boxes), and waits
// until every engine answers. They carry the test's stack label, so the
// test's cleanup removes them, their engines' state and their network, and
// shows a failed test the engines' last log lines.
func (e *Env) StartBoxes(n int) []Box {
	e.t.Helper()
	set := boxes.Set{
		Name:   e.Stack + "-boxes",
		Prefix: e.Stack + "-box",
		Image:  images.Box,
		Labels: map[string]string{StackLabel: e.Stack},
	}
	ctx, cancel := context.WithTimeout(e.t.Context(), boxStartTimeout)
	defer cancel()
	started, err := boxes.Up(ctx, e.Docker, set, n)
	if err != nil {
		e.t.Fatalf("start %d boxes: %v", n, err)
	}
	return started
}

// BoxClient is a Docker client for the box's engine, closed when the test ends.
func (e *Env) BoxClient(b Box) *client.Client {
	e.t.Helper()
	c, err := b.Client()
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// CopyImage streams image from the local engine into the box's, as
// `docker save | docker -H BOX load` does: no registry is involved.
func (e *Env) CopyImage(b Box, image string) {
	e.t.Helper()
	if err := copyImage(e.t.Context(), e.Docker, e.BoxClient(b), image); err != nil {
		e.t.Fatalf("copy %s to %s: %v", image, b.Name, err)
	}
}

func copyImage(ctx context.Context, from, to *client.Client, image string) error {
	saved, err := from.ImageSave(ctx, []string{image})
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer saved.Close()
	loaded, err := to.ImageLoad(ctx, saved, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer loaded.Body.Close()
	// The engine reports a failed load in the body, after a 200.
	body, err := io.ReadAll(loaded.Body)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if _, err := to.ImageInspect(ctx, image); err != nil {
		return fmt.Errorf("not there after load (%s): %w", body, err)
	}
	return nil
}
