package boxes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// ErrNoFreeSubnet is returned when every candidate subnet is taken.
var ErrNoFreeSubnet = errors.New("no free subnet in 10.213.0.0/16 for the boxes' network")

// Boxes get fixed addresses, which Docker allows only on a network whose
// subnet was given, so that a stopped and restarted box (a lost host that
// comes back) keeps the address a stack file names. The subnets are tried
// from 10.213.0.0/24 up: outside Docker's own default pools (172.17-31.x,
// 192.168.x), so a set never takes a range the engine would hand to someone
// else's network.
const candidateSubnets = 64

func candidateSubnet(k int) *net.IPNet {
	return &net.IPNet{IP: net.IPv4(10, 213, byte(k), 0).To4(), Mask: net.CIDRMask(24, 32)}
}

// boxIP is box i's address: .1 is the gateway (the host), box 1 is .2.
func boxIP(subnet *net.IPNet, i int) net.IP {
	ip := make(net.IP, 4)
	copy(ip, subnet.IP.To4())
	ip[3] += byte(1 + i)
	return ip
}

// ensureNetwork finds the set's network or creates it, and returns its subnet.
func ensureNetwork(ctx context.Context, docker *client.Client, set Set) (*net.IPNet, error) {
	existing, err := docker.NetworkInspect(ctx, set.Name, network.InspectOptions{})
	switch {
	case err == nil:
		return ownedSubnet(existing, set)
	case !client.IsErrNotFound(err):
		return nil, fmt.Errorf("inspect network %s: %w", set.Name, err)
	}
	for k := range candidateSubnets {
		subnet := candidateSubnet(k)
		_, err := docker.NetworkCreate(ctx, set.Name, network.CreateOptions{
			Driver: "bridge",
			Labels: set.labels(),
			IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet.String()}}},
		})
		if err == nil {
			return subnet, nil
		}
		if !strings.Contains(err.Error(), "overlaps") {
			return nil, fmt.Errorf("create network %s on %s: %w", set.Name, subnet, err)
		}
	}
	return nil, ErrNoFreeSubnet
}

func ownedSubnet(n network.Inspect, set Set) (*net.IPNet, error) {
	if n.Labels[Label] != set.Name {
		return nil, fmt.Errorf("network %s exists but is not the boxes' (no label %s=%s): remove or rename it", set.Name, Label, set.Name)
	}
	if len(n.IPAM.Config) == 0 {
		return nil, fmt.Errorf("network %s has no subnet of its own: run `make boxes-down` and start again", set.Name)
	}
	_, subnet, err := net.ParseCIDR(n.IPAM.Config[0].Subnet)
	if err != nil {
		return nil, fmt.Errorf("network %s: subnet %q: %w", set.Name, n.IPAM.Config[0].Subnet, err)
	}
	return subnet, nil
}

func setFilter(set Set) filters.Args {
	return filters.NewArgs(filters.Arg("label", Label+"="+set.Name))
}

func removeNetworks(ctx context.Context, docker *client.Client, set Set) error {
	networks, err := docker.NetworkList(ctx, network.ListOptions{Filters: setFilter(set)})
	if err != nil {
		return fmt.Errorf("list networks of %s: %w", set.Name, err)
	}
	for _, n := range networks {
		if err := removeNetwork(ctx, docker, n.ID); err != nil {
			return fmt.Errorf("remove network %s: %w", n.Name, err)
		}
	}
	return nil
}

// removeNetwork retries for a few seconds while the engine still counts the
// endpoints of the boxes just removed ("has active endpoints").
func removeNetwork(ctx context.Context, docker *client.Client, id string) error {
	var err error
	for range 10 {
		err = docker.NetworkRemove(ctx, id)
		if err == nil || client.IsErrNotFound(err) {
			return nil
		}
		if !strings.Contains(err.Error(), "active endpoints") {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}
