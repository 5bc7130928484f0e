package dockerapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// createPinnable creates a bridge network whose subnet is configured, so
// that containers can be given fixed addresses: a stopped worker that is
// started again by a rollback then gets its own address back, and its
// registration and the LB config are exactly as before. The subnet is one
// Docker picks itself, learnt from a probe network removed at once.
func (c *Client) createPinnable(ctx context.Context, name string, labels map[string]string) (string, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	probe := name + "-probe-" + hex.EncodeToString(b)
	if _, err := c.api.NetworkCreate(ctx, probe, network.CreateOptions{Driver: "bridge"}); err != nil {
		return "", err
	}
	info, err := c.api.NetworkInspect(ctx, probe, network.InspectOptions{})
	_ = c.api.NetworkRemove(context.WithoutCancel(ctx), probe)
	if err != nil {
		return "", err
	}
	opts := network.CreateOptions{Driver: "bridge", Labels: labels}
	if len(info.IPAM.Config) > 0 && info.IPAM.Config[0].Subnet != "" {
		cfg := info.IPAM.Config[0]
		opts.IPAM = &network.IPAM{Driver: "default", Config: []network.IPAMConfig{{Subnet: cfg.Subnet, Gateway: cfg.Gateway}}}
	}
	res, err := c.api.NetworkCreate(ctx, name, opts)
	if err != nil {
		return "", err
	}
	return res.ID, nil
}

// NetworkAddresses returns a network's subnet and every address in use on
// it: by running containers, and pinned by stopped ones.
func (c *Client) NetworkAddresses(ctx context.Context, name string) (string, []string, error) {
	info, err := c.api.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		return "", nil, err
	}
	if len(info.IPAM.Config) == 0 || info.IPAM.Config[0].Subnet == "" {
		return "", nil, nil
	}
	subnet := info.IPAM.Config[0].Subnet
	used := []string{}
	if gw := info.IPAM.Config[0].Gateway; gw != "" {
		used = append(used, gw)
	}
	for _, ep := range info.Containers {
		if ip, _, err := net.ParseCIDR(ep.IPv4Address); err == nil {
			used = append(used, ip.String())
		}
	}
	list, err := c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("network", name))})
	if err != nil {
		return "", nil, err
	}
	for _, s := range list {
		if s.NetworkSettings == nil {
			continue
		}
		if ep := s.NetworkSettings.Networks[name]; ep != nil {
			if ep.IPAMConfig != nil && ep.IPAMConfig.IPv4Address != "" {
				used = append(used, ep.IPAMConfig.IPv4Address)
			}
			if ep.IPAddress != "" {
				used = append(used, ep.IPAddress)
			}
		}
	}
	return subnet, used, nil
}

// isPinRefused tells whether Docker refused a fixed address because the
// network's subnet was not configured by the user.
func isPinRefused(err error) bool {
	return err != nil && strings.Contains(err.Error(), "user specified IP address is supported only")
}
