package lbsync

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ExitError is Run's error when the supervised command ended with a
// non-zero status, or ended on its own at all.
type ExitError struct {
	Command    string
	Status     int  // the child's exit status; 128+N when signal N killed it
	Unexpected bool // it ended on its own, not because Run was stopping it
}

func (e *ExitError) Error() string {
	if e.Unexpected {
		return fmt.Sprintf("lb: %s exited unexpectedly with status %d", e.Command, e.Status)
	}
	return fmt.Sprintf("lb: %s exited with status %d", e.Command, e.Status)
}

// ExitCode is the status the process should exit with: the child's, but
// never 0 for a server that was not asked to stop.
func (e *ExitError) ExitCode() int {
	if e.Unexpected && e.Status == 0 {
		return 1
	}
	return e.Status
}

// child is the supervised server process.
type child struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed when it has exited
	code    int           // valid once done is closed
}

func startChild(argv []string, stdout, stderr io.Writer) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group: a terminal's Ctrl-C reaches only us, and we
	// turn it into the graceful stop signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lb: start %s: %w", strings.Join(argv, " "), err)
	}
	c := &child{name: argv[0], cmd: cmd, started: time.Now(), done: make(chan struct{})}
	go func() {
		c.code = exitCode(cmd.Wait())
		close(c.done)
	}()
	return c, nil
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if err != nil {
			return 1
		}
		return 0
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

func (c *child) signal(sig os.Signal) error {
	select {
	case <-c.done:
		return fmt.Errorf("lb: %s is not running", c.name)
	default:
	}
	if s, ok := sig.(syscall.Signal); ok {
		c.awaitHandler(s, time.Until(c.started.Add(handlerGrace)))
	}
	if err := c.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("lb: signal %s to %s: %w", sig, c.name, err)
	}
	return nil
}

// stop sends sig, waits up to timeout for the child to exit, then kills it.
// It returns nil when the child exited with status 0.
func (c *child) stop(sig os.Signal, timeout time.Duration) error {
	_ = c.signal(sig)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	if c.code == 0 {
		return nil
	}
	return &ExitError{Command: c.name, Status: c.code}
}

// exited is the error for a child that ended on its own; a clean exit of a
// server that should run forever still fails the loop.
func (c *child) exited() *ExitError {
	return &ExitError{Command: c.name, Status: c.code, Unexpected: true}
}

// handlerGrace is how long after its start a signal to the child waits for
// the child to be ready for it; a child that has not installed a handler by
// then never will.
const handlerGrace = 5 * time.Second

// awaitHandler waits up to timeout until the child has installed a handler
// for sig, so a reload right after the start does not kill a server still
// initialising (SIGHUP's default action is to terminate). It reads /proc;
// where that is unavailable it does not wait.
func (c *child) awaitHandler(sig syscall.Signal, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := handlesSignal(c.cmd.Process.Pid, sig)
		if ok || err != nil || time.Now().After(deadline) {
			return
		}
		select {
		case <-c.done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// handlesSignal reports whether process pid catches sig, from the SigCgt
// mask in /proc/PID/status.
func handlesSignal(pid int, sig syscall.Signal) (bool, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if hexMask, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(hexMask), 16, 64)
			if err != nil {
				return false, err
			}
			return mask&(1<<(uint(sig)-1)) != 0, nil
		}
	}
	return false, errors.New("no SigCgt in /proc status")
}
