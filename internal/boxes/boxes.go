// Package boxes runs test machines: "boxes", each a container on a private
// Docker network that runs a Docker engine of its own, reached from the host
// at tcp://<its address>:2375. `make boxes` (scripts/boxes.sh) and the
// end-to-end harness (internal/e2e) both start them through Up, so the two
// never drift apart. docs/boxes.md says how they work and why.
package boxes

import (
	"context"
	"fmt"
	"maps"
	"net"
	"strconv"

	"github.com/docker/docker/client"
)

// Label marks every container and network of a set of boxes; its value is
// the set's name, so removing one set never touches another.
const Label = "io.stackctl.box"

// MaxBoxes bounds a set: each box is a whole engine, and the machine is a
// shared two-core one.
const MaxBoxes = 20

// Box is one running box.
type Box struct {
	// Name is the box's container name, which is also its hostname.
	Name string
	// Address is its IP on the boxes' network: other boxes and the host reach
	// it there, and ports published by its containers are there.
	Address string
	// DockerHost is its engine's endpoint, tcp://Address:2375.
	DockerHost string
}

// Set names a group of boxes: the network <Name> and the boxes <Prefix>1..N.
type Set struct {
	Name   string
	Prefix string
	// Image is the box image, images.Box.
	Image string
	// Labels are added to every object of the set, beside Label.
	Labels map[string]string
}

// Default is the set `make boxes` runs: stackctl-box1..N on stackctl-boxes.
func Default(image string) Set {
	return Set{Name: "stackctl-boxes", Prefix: "stackctl-box", Image: image}
}

func (s Set) boxName(i int) string { return s.Prefix + strconv.Itoa(i) }

func (s Set) labels() map[string]string {
	labels := map[string]string{Label: s.Name}
	maps.Copy(labels, s.Labels)
	return labels
}

func newBox(name string, ip net.IP) Box {
	addr := ip.String()
	return Box{Name: name, Address: addr, DockerHost: "tcp://" + net.JoinHostPort(addr, DockerPort)}
}

// Client is a Docker client for the box's engine.
func (b Box) Client() (*client.Client, error) {
	c, err := client.NewClientWithOpts(client.WithHost(b.DockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", b.Name, err)
	}
	return c, nil
}

// Up makes the set exactly n running boxes, each with an engine that answers,
// and returns them in order. Boxes already running from the current image are
// kept (with whatever their engines hold); stopped or outdated ones are made
// anew, and boxes numbered above n are removed.
func Up(ctx context.Context, docker *client.Client, set Set, n int) ([]Box, error) {
	if n < 1 || n > MaxBoxes {
		return nil, fmt.Errorf("%d boxes: want 1 to %d", n, MaxBoxes)
	}
	subnet, err := ensureNetwork(ctx, docker, set)
	if err != nil {
		return nil, err
	}
	if err := removeAbove(ctx, docker, set, n); err != nil {
		return nil, err
	}
	return startAll(ctx, docker, set, subnet, n)
}

// Down removes the set's boxes, with their engines' state, and its network.
// Only objects labelled with the set's name are removed.
func Down(ctx context.Context, docker *client.Client, set Set) error {
	if err := removeAbove(ctx, docker, set, 0); err != nil {
		return err
	}
	return removeNetworks(ctx, docker, set)
}
