package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ContextHash hashes a build context folder: every file's path, executable
// bit and content (symlinks by their target), in lexical order, skipping
// .git. Apply labels the images it builds with it (LabelContext), so a plan
// knows whether an image is stale without building it.
func ContextHash(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		return hashEntry(h, path, filepath.ToSlash(rel), d)
	})
	if err != nil {
		return "", fmt.Errorf("hash build context %s: %w", dir, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:16]), nil
}

func hashEntry(h io.Writer, path, rel string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	switch {
	case d.IsDir():
		fmt.Fprintf(h, "dir %s\x00", rel)
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "link %s %s\x00", rel, target)
	case info.Mode().IsRegular():
		fmt.Fprintf(h, "file %s %t %d\x00", rel, info.Mode()&0o111 != 0, info.Size())
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
	}
	return nil
}
