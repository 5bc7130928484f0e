package dockerapi

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/stackctl/stackctl/apply"
)

// copyFiles writes files into a created container through the engine's
// archive endpoint, as `docker cp` does: their content travels in the
// request body only, never in the container's configuration.
func (c *Client) copyFiles(ctx context.Context, id string, files []apply.File) error {
	if len(files) == 0 {
		return nil
	}
	archive, err := tarFiles(files)
	if err != nil {
		return err
	}
	// Owners come from the tar headers; CopyUIDGID would instead look the
	// image's user up in the engine host's passwd file, where "65534:65534"
	// of a scratch image is not found.
	return c.api.CopyToContainer(ctx, id, "/", bytes.NewReader(archive), container.CopyToContainerOptions{})
}

// tarFiles makes a tar stream of files, named relative to "/".
func tarFiles(files []apply.File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("file path %q: want an absolute, clean path", f.Path)
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     strings.TrimPrefix(f.Path, "/"),
			Mode:     int64(f.Mode.Perm()),
			Uid:      f.UID,
			Gid:      f.GID,
			Size:     int64(len(f.Content)),
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Content); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	return buf.Bytes(), nil
}
