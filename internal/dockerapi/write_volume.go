package dockerapi

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/spec"
)

// ensureVolumes creates the named volumes that do not exist yet, with their
// labels. Docker would make a missing one itself at create, but unlabelled,
// and destroy finds a stack's volumes by label only.
func (c *Client) ensureVolumes(ctx context.Context, vols []apply.VolumeMount) error {
	for _, v := range vols {
		_, err := c.api.VolumeInspect(ctx, v.Name)
		if err == nil {
			continue
		}
		if !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("inspect volume %s: %w", v.Name, err)
		}
		// Two creates of one name are fine: the engine returns the
		// existing volume.
		if _, err := c.api.VolumeCreate(ctx, volume.CreateOptions{Name: v.Name, Labels: v.Labels}); err != nil {
			return fmt.Errorf("create volume %s: %w", v.Name, err)
		}
	}
	return nil
}

func volumeMounts(vols []apply.VolumeMount) []mount.Mount {
	out := make([]mount.Mount, 0, len(vols))
	for _, v := range vols {
		out = append(out, mount.Mount{Type: mount.TypeVolume, Source: v.Name, Target: v.Target})
	}
	return out
}

// StackVolumes returns the names of the volumes labelled for stack.
func (c *Client) StackVolumes(ctx context.Context, stack string) ([]string, error) {
	res, err := c.api.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", spec.LabelStack+"="+stack))})
	if err != nil {
		return nil, fmt.Errorf("list volumes of %s: %w", stack, err)
	}
	names := make([]string, 0, len(res.Volumes))
	for _, v := range res.Volumes {
		names = append(names, v.Name)
	}
	return names, nil
}

// RemoveVolume removes a named volume; one that does not exist is not an
// error. A volume still used by a container is (the engine's conflict).
func (c *Client) RemoveVolume(ctx context.Context, name string) error {
	err := c.api.VolumeRemove(ctx, name, false)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// RemoveStackVolume removes the named volume if it is labelled as stack's;
// one that does not exist is not an error, one that is not the stack's is
// (and stays).
func (c *Client) RemoveStackVolume(ctx context.Context, name, stack string) error {
	v, err := c.api.VolumeInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect volume %s: %w", name, err)
	}
	if v.Labels[spec.LabelStack] != stack {
		return fmt.Errorf("volume %s exists and is not stack %s's (label %s=%q): remove or rename it", name, stack, spec.LabelStack, v.Labels[spec.LabelStack])
	}
	return c.RemoveVolume(ctx, name)
}
