package boxes

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-multierror"
)

// startAll brings boxes 1..n up in parallel and waits for their engines.
func startAll(ctx context.Context, docker *client.Client, set Set, subnet *net.IPNet, n int) ([]Box, error) {
	image, err := docker.ImageInspect(ctx, set.Image)
	if err != nil {
		return nil, fmt.Errorf("box image %s: %w (run `make images`)", set.Image, err)
	}
	boxes := make([]Box, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			boxes[i] = newBox(set.boxName(i+1), boxIP(subnet, i+1))
			errs[i] = startBox(ctx, docker, set, image.ID, boxIP(subnet, 0).String(), boxes[i])
		}()
	}
	wg.Wait()
	var all *multierror.Error
	for _, err := range errs {
		if err != nil {
			all = multierror.Append(all, err)
		}
	}
	return boxes, all.ErrorOrNil()
}

// startBox keeps a running box of the current recipe, starts a stopped one,
// or makes it anew (a new image, another address or engine command), then
// waits until its engine answers.
func startBox(ctx context.Context, docker *client.Client, set Set, imageID, gateway string, box Box) error {
	existing, err := docker.ContainerInspect(ctx, box.Name)
	switch {
	case client.IsErrNotFound(err):
		err = createBox(ctx, docker, set, gateway, box)
	case err != nil:
		err = fmt.Errorf("inspect %s: %w", box.Name, err)
	case existing.Config.Labels[Label] != set.Name:
		err = fmt.Errorf("container %s exists but is not a box of %s (no label %s=%s): remove or rename it",
			box.Name, set.Name, Label, set.Name)
	case existing.Image != imageID || fixedAddress(existing, set.Name) != box.Address ||
		!slices.Equal(existing.Config.Cmd, engineCommand(gateway)):
		err = recreateBox(ctx, docker, set, gateway, box, existing.ID)
	case !existing.State.Running:
		// A stopped box comes back like a machine that was off: with what
		// its engine held (its images; containers that have a restart policy).
		if err = docker.ContainerStart(ctx, existing.ID, container.StartOptions{}); err != nil {
			err = fmt.Errorf("start box %s: %w", box.Name, err)
		}
	}
	if err != nil {
		return err
	}
	return waitEngine(ctx, docker, box)
}

// fixedAddress is the address the box was created with, kept while it is
// stopped (when it has no IPAddress).
func fixedAddress(c container.InspectResponse, networkName string) string {
	if c.NetworkSettings == nil {
		return ""
	}
	ep := c.NetworkSettings.Networks[networkName]
	if ep == nil || ep.IPAMConfig == nil {
		return ""
	}
	return ep.IPAMConfig.IPv4Address
}

func recreateBox(ctx context.Context, docker *client.Client, set Set, gateway string, box Box, id string) error {
	if err := removeBox(ctx, docker, id, box.Name); err != nil {
		return err
	}
	return createBox(ctx, docker, set, gateway, box)
}

func createBox(ctx context.Context, docker *client.Client, set Set, gateway string, box Box) error {
	endpoint := &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: box.Address}}
	created, err := docker.ContainerCreate(ctx,
		boxConfig(box.Name, set.Image, gateway, set.labels()),
		hostConfig(set.Name),
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{set.Name: endpoint}},
		nil, box.Name)
	if err != nil {
		return fmt.Errorf("create box %s: %w", box.Name, err)
	}
	if err := docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start box %s: %w", box.Name, err)
	}
	return nil
}

func removeBox(ctx context.Context, docker *client.Client, id, name string) error {
	err := docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove box %s: %w", name, err)
	}
	return nil
}

// removeAbove removes the set's boxes numbered above n (all of them for 0).
func removeAbove(ctx context.Context, docker *client.Client, set Set, n int) error {
	containers, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: setFilter(set)})
	if err != nil {
		return fmt.Errorf("list boxes of %s: %w", set.Name, err)
	}
	var errs *multierror.Error
	for _, c := range containers {
		name := strings.TrimPrefix(c.Names[0], "/")
		if i, ok := boxNumber(set, name); ok && i <= n {
			continue
		}
		if err := removeBox(ctx, docker, c.ID, name); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

func boxNumber(set Set, name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, set.Prefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	return i, err == nil
}
