//go:build !linux

package dockerapi

import "os/exec"

// detach leaves the command as it is: sessions and the parent-death signal
// are Linux's; elsewhere ssh's BatchMode alone keeps it from prompting.
func detach(*exec.Cmd) {}
