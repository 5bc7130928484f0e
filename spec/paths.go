package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// insidePath resolves rel, a path relative to dir, and checks that it stays
// inside dir both as written and after following symlinks, so a stack file
// can only use files from its own folder. It returns the absolute path
// (as written, symlinks kept), the file's info, or why it is refused.
func insidePath(dir, rel, folder string) (string, fs.FileInfo, string) {
	if rel == "" {
		return "", nil, "is empty (expected a path relative to " + folder + ")"
	}
	if filepath.IsAbs(rel) {
		return "", nil, "is an absolute path (expected a path relative to " + folder + ")"
	}
	abs := filepath.Join(dir, rel)
	if !within(dir, abs) {
		return "", nil, "leaves " + folder + " (expected a path inside it)"
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", nil, "cannot be checked: " + err.Error()
	}
	real, err := filepath.EvalSymlinks(abs)
	// A path through a regular file (ENOTDIR) does not exist either.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", nil, "does not exist (expected a path inside " + folder + ")"
	}
	if err != nil {
		return "", nil, "cannot be read: " + err.Error()
	}
	if !within(realDir, real) {
		return "", nil, "is a symlink that leads out of " + folder + " (expected a path inside it)"
	}
	info, err := os.Stat(real)
	if err != nil {
		return "", nil, "cannot be read: " + err.Error()
	}
	return abs, info, ""
}

// within reports whether path is dir or lies under it; both are clean.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
