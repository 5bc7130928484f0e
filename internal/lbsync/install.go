package lbsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/internal/atomicfile"
)

// ErrRejected wraps the check command's verdict on a candidate config.
var ErrRejected = errors.New("config rejected")

// writeAtomic replaces path with data (atomicfile.Write), making its folder
// first: a reader sees the old file or the new one, never a half-written one.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// installer owns OutPath: it puts a candidate in place, has it checked, and
// puts the previous config back when the check rejects it.
type installer struct {
	path     string
	check    []string
	previous []byte // what to restore: the last good config, else the file found at start
	existed  bool   // whether there is anything to restore
	run      func(ctx context.Context, argv []string) error
}

func newInstaller(path string, check []string, run func(context.Context, []string) error) (*installer, error) {
	in := &installer{path: path, check: check, run: run}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		in.previous, in.existed = data, true
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return in, nil
}

// install makes candidate the config at path if the check accepts it.
// When it does not, the previous file is back in place before install
// returns, and the error wraps ErrRejected.
func (in *installer) install(ctx context.Context, candidate []byte) error {
	if err := writeAtomic(in.path, candidate); err != nil {
		return err
	}
	if len(in.check) > 0 {
		if err := in.run(ctx, in.check); err != nil {
			rejected := fmt.Errorf("%w by %s: %w", ErrRejected, strings.Join(in.check, " "), err)
			if rerr := in.restore(); rerr != nil {
				return multierror.Append(rejected, rerr)
			}
			return rejected
		}
	}
	in.previous, in.existed = bytes.Clone(candidate), true
	return nil
}

func (in *installer) restore() error {
	if in.existed {
		return writeAtomic(in.path, in.previous)
	}
	if err := os.Remove(in.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove rejected %s: %w", in.path, err)
	}
	return nil
}

// runCommand runs argv, returning its trimmed output in the error when it
// fails (nginx -t explains itself on stderr).
func runCommand(ctx context.Context, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	if msg := strings.TrimSpace(string(out)); msg != "" {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return err
}
