package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RunWithBinary builds the Go main package at pkg (a path as `go build`
// takes it, relative to the test's folder) into a temporary file, stores
// its path in *bin, runs the tests and exits: end-to-end tests run the real
// stackctl binary, built once per package. For a TestMain.
func RunWithBinary(m *testing.M, pkg string, bin *string) {
	dir, err := os.MkdirTemp("", "stackctl-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = filepath.Join(dir, "stackctl")
	build := exec.Command("go", "build", "-o", *bin, pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build", pkg+":", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
