package dockerapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/plan"
)

var _ apply.Docker = (*Client)(nil)

// CreateNetwork creates a bridge network with labels and returns its ID.
func (c *Client) CreateNetwork(ctx context.Context, name string, labels map[string]string) (string, error) {
	id, err := c.createPinnable(ctx, name, labels)
	if cerrdefs.IsConflict(err) {
		return "", fmt.Errorf("%w: %v", apply.ErrNameConflict, err)
	}
	return id, err
}

// RemoveNetwork removes a network; one that does not exist is not an error.
func (c *Client) RemoveNetwork(ctx context.Context, name string) error {
	err := c.api.NetworkRemove(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// CreateContainer creates (without starting) a container attached to its
// network only, or to the host's network with HostNetwork; its named
// volumes are made first and its files copied in last. A taken name is
// apply.ErrNameConflict.
func (c *Client) CreateContainer(ctx context.Context, s apply.ContainerSpec) (string, error) {
	if err := checkHostNetwork(s); err != nil {
		return "", err
	}
	if err := c.ensureVolumes(ctx, s.Volumes); err != nil {
		return "", err
	}
	exposed, bindings := portBindings(s)
	cfg := &container.Config{
		Image:        s.Image,
		Cmd:          s.Cmd,
		Env:          s.Env,
		Labels:       s.Labels,
		ExposedPorts: exposed,
	}
	if s.StopTimeout > 0 {
		secs := int(s.StopTimeout / time.Second)
		cfg.StopTimeout = &secs
	}
	host := &container.HostConfig{
		NetworkMode:  container.NetworkMode(s.Network),
		PortBindings: bindings,
		Resources:    container.Resources{Memory: s.MemoryBytes, NanoCPUs: s.NanoCPUs},
		Init:         nil,
	}
	for _, m := range s.Mounts {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	host.Mounts = append(host.Mounts, volumeMounts(s.Volumes)...)
	if s.Restart != "" {
		host.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(s.Restart)}
	}
	netCfg := networking(s)
	if s.HostNetwork {
		host.NetworkMode = network.NetworkHost
	}
	res, err := c.api.ContainerCreate(ctx, cfg, host, netCfg, nil, s.Name)
	if isPinRefused(err) {
		return "", fmt.Errorf("%w: %v", apply.ErrPinRefused, err)
	}
	if cerrdefs.IsConflict(err) {
		return "", fmt.Errorf("%w: %v", apply.ErrNameConflict, err)
	}
	if err != nil {
		return "", err
	}
	if err := c.copyFiles(ctx, res.ID, s.Files); err != nil {
		// A container without its files must not be started by anyone, and
		// would hold the name against the next try.
		_ = c.RemoveContainer(context.WithoutCancel(ctx), res.ID)
		return "", fmt.Errorf("copy files into %s: %w", s.Name, err)
	}
	return res.ID, nil
}

// networking is the container's endpoint on its network: none for the
// host's network, which has no endpoints to configure.
func networking(s apply.ContainerSpec) *network.NetworkingConfig {
	if s.HostNetwork {
		return nil
	}
	ep := &network.EndpointSettings{Aliases: s.Aliases}
	if s.IP != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: s.IP}
	}
	return &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.Network: ep}}
}

// checkHostNetwork refuses what Docker would drop silently on the host's
// network (published ports) or refuse less clearly (addresses, aliases).
func checkHostNetwork(s apply.ContainerSpec) error {
	if s.HostNetwork && (s.Network != "" || s.IP != "" || len(s.Aliases) > 0 || len(s.Ports) > 0) {
		return fmt.Errorf("create %s: a container on the host's network takes no network, address, alias or published port", s.Name)
	}
	return nil
}

func portBindings(s apply.ContainerSpec) (nat.PortSet, nat.PortMap) {
	if len(s.Ports) == 0 {
		return nil, nil
	}
	exposed, bindings := nat.PortSet{}, nat.PortMap{}
	for _, p := range s.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		port := nat.Port(strconv.Itoa(p.ContainerPort) + "/" + proto)
		exposed[port] = struct{}{}
		host := ""
		if p.HostPort > 0 {
			host = strconv.Itoa(p.HostPort)
		}
		ip := p.HostIP
		if ip == "" {
			ip = "127.0.0.1"
		}
		bindings[port] = append(bindings[port], nat.PortBinding{HostIP: ip, HostPort: host})
	}
	return exposed, bindings
}

// StartContainer starts a container; one already running is not an error.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	return c.api.ContainerStart(ctx, id, container.StartOptions{})
}

// StopContainer stops a container, waiting up to timeout before SIGKILL;
// one that is not running or does not exist is not an error.
func (c *Client) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(timeout / time.Second)
	err := c.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// RemoveContainer removes a container, running or not; one that does not
// exist is not an error.
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	err := c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if cerrdefs.IsNotFound(err) || (err != nil && strings.Contains(err.Error(), "is already in progress")) {
		return nil
	}
	return err
}

// RenameContainer renames a container; renaming to its own name is a no-op.
func (c *Client) RenameContainer(ctx context.Context, id, name string) error {
	return c.api.ContainerRename(ctx, id, name)
}

// InspectContainer finds a container by ID or exact name, or returns nil.
func (c *Client) InspectContainer(ctx context.Context, idOrName string) (*plan.Container, error) {
	info, err := c.api.ContainerInspect(ctx, idOrName)
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &plan.Container{
		ID:      info.ID,
		Name:    strings.TrimPrefix(info.Name, "/"),
		ImageID: info.Image,
	}
	if info.Config != nil {
		out.Labels = info.Config.Labels
		out.ImageRef = info.Config.Image
	}
	if info.State != nil {
		out.State = info.State.Status
		if t, err := time.Parse(time.RFC3339Nano, info.State.StartedAt); err == nil && t.Year() > 1 {
			out.StartedAt = t
		}
	}
	if info.NetworkSettings != nil {
		out.Networks = map[string]string{}
		for name, ep := range info.NetworkSettings.Networks {
			if ep != nil {
				out.Networks[name] = ep.IPAddress
			}
		}
		for port, binds := range info.NetworkSettings.Ports {
			for _, b := range binds {
				hp, _ := strconv.Atoi(b.HostPort)
				if hp == 0 {
					continue
				}
				out.Ports = append(out.Ports, plan.PublishedPort{
					HostIP: b.HostIP, HostPort: hp, ContainerPort: port.Int(), Protocol: port.Proto(),
				})
			}
		}
	}
	return out, nil
}
