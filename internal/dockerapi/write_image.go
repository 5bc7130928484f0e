package dockerapi

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"

	"github.com/stackctl/stackctl/apply"
)

// BuildImage builds an image from a folder, tags it and returns its ID. The
// build output is read in full; the engine's error message, if any, is the
// error.
func (c *Client) BuildImage(ctx context.Context, b apply.BuildSpec) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(pw, b.Context)) }()
	res, err := c.api.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{b.Tag},
		Dockerfile:  b.Dockerfile,
		Labels:      b.Labels,
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		pr.CloseWithError(err)
		return "", err
	}
	defer res.Body.Close()
	if err := buildOutcome(res.Body); err != nil {
		return "", err
	}
	img, err := c.api.ImageInspect(ctx, b.Tag)
	if err != nil {
		return "", fmt.Errorf("inspect built image %s: %w", b.Tag, err)
	}
	return img.ID, nil
}

// buildOutcome reads the JSON message stream of a build and returns the
// first error it reports, with the last lines of output for context.
func buildOutcome(r io.Reader) error {
	type message struct {
		Stream string `json:"stream"`
		Error  string `json:"error"`
	}
	var tail []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var m message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Error != "" {
			return fmt.Errorf("%s (last output: %q)", m.Error, tail)
		}
		if m.Stream != "" {
			tail = append(tail, m.Stream)
			if len(tail) > 5 {
				tail = tail[1:]
			}
		}
	}
	return sc.Err()
}

// tarDir writes a folder as a tar stream, the build context.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// TagImage points ref at the image id.
func (c *Client) TagImage(ctx context.Context, id, ref string) error {
	return c.api.ImageTag(ctx, id, ref)
}

// UntagImage removes the reference ref; the image stays if other
// references or containers use it. A missing ref is not an error.
func (c *Client) UntagImage(ctx context.Context, ref string) error {
	_, err := c.api.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: false})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if cerrdefs.IsConflict(err) {
		return errors.Join(err, errors.New("image is in use"))
	}
	return err
}
