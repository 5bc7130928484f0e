package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Checkout writes the tree of commit (its Dir folder only) into
// trees/<ref, folder and environment>/<commit> and returns that folder, in which the
// stack file is at its path in the repository. It is written under a
// temporary name and renamed, so a folder that exists is complete, and a
// commit checked out before is not written again.
func (g *GitSource) Checkout(ctx context.Context, commit string) (string, error) {
	dir := filepath.Join(g.trees, commit)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := g.lock.acquire(ctx); err != nil {
		return "", err
	}
	defer g.lock.release()
	c, err := g.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", commit, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return "", fmt.Errorf("tree of %s: %w", commit, err)
	}
	sub := cleanDir(g.opts.Dir)
	if sub != "" {
		if tree, err = tree.Tree(sub); errors.Is(err, object.ErrDirectoryNotFound) {
			tree = nil // nothing to write: loading says the stack file is missing
		} else if err != nil {
			return "", fmt.Errorf("folder %s of %s: %w", sub, commit, err)
		}
	}
	tmp, err := os.MkdirTemp(g.trees, ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // gone once renamed
	base := filepath.Join(tmp, filepath.FromSlash(sub))
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	if tree != nil {
		if err := writeTree(ctx, tree, base); err != nil {
			return "", fmt.Errorf("check out %s: %w", commit, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// writeTree writes every file of tree under base: regular files,
// executables and symlinks that stay inside base. A symlink that is
// absolute or leads out of base is left out (what needs it then reports a
// missing file): a stack file and what it refers to must not leave their
// folder, and a repository must not make the agent read the host's files.
// Submodules are not fetched and not written.
func writeTree(ctx context.Context, tree *object.Tree, base string) error {
	return tree.Files().ForEach(func(f *object.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := filepath.FromSlash(f.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("refusing the path %q: it leaves the tree", f.Name)
		}
		path := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if f.Mode == filemode.Symlink {
			return writeSymlink(f, name, path)
		}
		perm := os.FileMode(0o644)
		if f.Mode == filemode.Executable {
			perm = 0o755
		}
		return writeFile(f, path, perm)
	})
}

func writeSymlink(f *object.File, name, path string) error {
	target, err := f.Contents()
	if err != nil {
		return err
	}
	if filepath.IsAbs(target) || !filepath.IsLocal(filepath.Join(filepath.Dir(name), target)) {
		return nil
	}
	return os.Symlink(target, path)
}

func writeFile(f *object.File, path string, perm os.FileMode) error {
	r, err := f.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Keep removes the checkouts of every commit but commits (and what a
// checkout cut short left).
func (g *GitSource) Keep(commits ...string) error {
	keep := map[string]bool{}
	for _, c := range commits {
		keep[c] = true
	}
	entries, err := os.ReadDir(g.trees)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !keep[e.Name()] {
			errs = append(errs, os.RemoveAll(filepath.Join(g.trees, e.Name())))
		}
	}
	return errors.Join(errs...)
}
