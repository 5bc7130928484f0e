package dockerapi

import (
	"context"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// ListContainers lists every container labelled for the stack, in any state,
// in one request: the list carries labels, state, image and addresses, so no
// container is inspected one by one.
func (c *Client) ListContainers(ctx context.Context, stack string) ([]plan.Container, error) {
	list, err := c.api.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", spec.LabelStack+"="+stack)),
	})
	if err != nil {
		return nil, err
	}
	out := make([]plan.Container, 0, len(list))
	for _, s := range list {
		out = append(out, fromSummary(s))
	}
	return out, nil
}

func fromSummary(s container.Summary) plan.Container {
	c := plan.Container{
		ID:       s.ID,
		Name:     containerName(s.Names),
		Labels:   s.Labels,
		State:    string(s.State),
		ImageRef: s.Image,
		ImageID:  s.ImageID,
	}
	if s.NetworkSettings != nil && len(s.NetworkSettings.Networks) > 0 {
		c.Networks = make(map[string]string, len(s.NetworkSettings.Networks))
		for name, ep := range s.NetworkSettings.Networks {
			if ep != nil {
				c.Networks[name] = ep.IPAddress
			}
		}
	}
	for _, p := range s.Ports {
		if p.PublicPort == 0 {
			continue
		}
		c.Ports = append(c.Ports, plan.PublishedPort{
			HostIP: p.IP, HostPort: int(p.PublicPort), ContainerPort: int(p.PrivatePort), Protocol: p.Type,
		})
	}
	return c
}

// containerName picks the container's own name from Docker's list, which
// also holds link aliases like "/other/alias".
func containerName(names []string) string {
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if !strings.Contains(n, "/") {
			return n
		}
	}
	return ""
}

// InspectNetwork returns the network with exactly this name, or nil.
func (c *Client) InspectNetwork(ctx context.Context, name string) (*plan.Network, error) {
	n, err := c.api.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if n.Name != name { // Docker also matches ID prefixes
		return nil, nil
	}
	return &plan.Network{ID: n.ID, Name: n.Name, Driver: n.Driver, Labels: n.Labels}, nil
}

// InspectImage returns the local image a reference names, or nil.
func (c *Client) InspectImage(ctx context.Context, ref string) (*plan.Image, error) {
	img, err := c.api.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &plan.Image{Ref: ref, ID: img.ID}
	if img.Config != nil {
		out.Labels = img.Config.Labels
	}
	return out, nil
}

// ListEnvironments maps every stack on the engine that was applied with an
// environment (containers labelled spec.LabelEnv) to that environment.
func (c *Client) ListEnvironments(ctx context.Context) (map[string]string, error) {
	list, err := c.api.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", spec.LabelEnv)),
	})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range list {
		if stack := s.Labels[spec.LabelStack]; stack != "" {
			out[stack] = s.Labels[spec.LabelEnv]
		}
	}
	return out, nil
}
