package dockerapi

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// exitGrace is how long a command whose output has ended may take to exit
// before it is killed: ssh exits at once when the engine's side closes.
const exitGrace = 10 * time.Second

// stderrTail is how much of a command's stderr is kept for its error.
const stderrTail = 2048

// commandConn is a net.Conn over a process's stdin and stdout: ssh running
// `docker system dial-stdio` on a host, so one connection to its engine.
// When the process fails, reads and writes say how, with the end of its
// stderr (ssh's own message: refused, unknown host, permission denied).
// Deadlines are not supported: the HTTP client bounds requests with their
// context and closes the connection, which ends the process.
type commandConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr *tailBuffer

	closed   atomic.Bool
	waitOnce sync.Once
	waitErr  error
}

func startCommandConn(program string, args ...string) (*commandConn, error) {
	cmd := exec.Command(program, args...)
	detach(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &commandConn{cmd: cmd, stdin: stdin, stdout: stdout, stderr: &tailBuffer{max: stderrTail}}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", program, err)
	}
	return c, nil
}

func (c *commandConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	return n, c.explain(err)
}

func (c *commandConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	return n, c.explain(err)
}

// explain turns the end of the stream into the command's failure, if it
// failed: a broken pipe or an EOF says nothing of why.
func (c *commandConn) explain(err error) error {
	if err == nil {
		return nil
	}
	if c.closed.Load() {
		return net.ErrClosed
	}
	exitErr := c.wait()
	if exitErr == nil {
		return err
	}
	msg := strings.TrimSpace(c.stderr.String())
	if msg == "" {
		msg = "no output"
	}
	return fmt.Errorf("%s: %v: %s", strings.Join(c.cmd.Args, " "), exitErr, msg)
}

// wait reaps the process, killing it if it lingers past exitGrace.
func (c *commandConn) wait() error {
	c.waitOnce.Do(func() {
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		select {
		case c.waitErr = <-done:
		case <-time.After(exitGrace):
			_ = c.cmd.Process.Kill()
			c.waitErr = <-done
		}
	})
	return c.waitErr
}

// CloseWrite ends the command's input, as a TCP half-close would.
func (c *commandConn) CloseWrite() error { return c.stdin.Close() }

// Close ends the connection and the process with it.
func (c *commandConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	_ = c.stdin.Close()
	_ = c.cmd.Process.Kill() // the process may be gone already: nothing to do then
	_ = c.wait()
	return nil
}

func (c *commandConn) LocalAddr() net.Addr              { return commandAddr("stackctl") }
func (c *commandConn) RemoteAddr() net.Addr             { return commandAddr(c.cmd.Path) }
func (c *commandConn) SetDeadline(time.Time) error      { return nil }
func (c *commandConn) SetReadDeadline(time.Time) error  { return nil }
func (c *commandConn) SetWriteDeadline(time.Time) error { return nil }

// commandAddr names an end of a commandConn.
type commandAddr string

func (a commandAddr) Network() string { return "command" }
func (a commandAddr) String() string  { return string(a) }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
