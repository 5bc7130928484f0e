// Package atomicfile replaces a file's content so that a reader sees the
// old content or the new, never a half-written file.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data, with permissions perm: a temporary file in
// the same folder (named ".<base>.*.tmp", so that no include pattern such as
// nginx's "*.conf" matches it), synced, then renamed over path. The folder
// must exist. On failure the temporary file is removed and path is as it
// was; the error is the file system's own, naming the file.
func Write(path string, data []byte, perm fs.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
