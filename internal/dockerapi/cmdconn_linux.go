package dockerapi

import (
	"os/exec"
	"syscall"
)

// detach runs the command in a session of its own, with no terminal: ssh
// can then neither prompt nor be stopped by a Ctrl-C meant for stackctl
// (which closes its connections itself), and dies if stackctl dies.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}
