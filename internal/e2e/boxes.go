package e2e

import (
	"context"
	"time"

	"github.com/docker/docker/client"

	"github.com/stackctl/stackctl/internal/boxes"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/internal/images"
	"github.com/stackctl/stackctl/spec"
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

// BoxHost is the box as a stack file's host entry: its engine on plain
// tcp://, which a box's private network makes acceptable (insecure: true).
func BoxHost(b Box) *spec.Host {
	return &spec.Host{Name: b.Name, Docker: b.DockerHost, Address: b.Address, Insecure: true}
}

// BoxEngine is stackctl's own client for the box's engine, opened as a
// stack's host is (dockerapi.OpenHost), closed when the test ends.
func (e *Env) BoxEngine(b Box) *dockerapi.Client {
	e.t.Helper()
	c, err := dockerapi.OpenHost(BoxHost(b))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// CopyImage streams image from the local engine into the box's, as a
// multi-host apply does (dockerapi.CopyImage: save into load, no registry,
// no file).
func (e *Env) CopyImage(b Box, image string) {
	e.t.Helper()
	local, err := dockerapi.New()
	if err != nil {
		e.t.Fatal(err)
	}
	defer local.Close()
	if err := dockerapi.CopyImage(e.t.Context(), local, e.BoxEngine(b), image, nil); err != nil {
		e.t.Fatalf("copy %s to %s: %v", image, b.Name, err)
	}
}
