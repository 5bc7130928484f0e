package dockerapi

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
)

// The test binary doubles as ssh for the ssh dialer's tests: run with
// fakeSSHEnv set, it is `ssh ... -- HOST docker system dial-stdio` against
// the engine at that address (or fails as ssh does when it is "refuse"),
// after writing its arguments to the file fakeSSHArgsEnv names.
const (
	fakeSSHEnv     = "STACKCTL_TEST_FAKE_SSH"
	fakeSSHArgsEnv = "STACKCTL_TEST_FAKE_SSH_ARGS"
)

func TestMain(m *testing.M) {
	if target := os.Getenv(fakeSSHEnv); target != "" {
		os.Exit(fakeSSH(target, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeSSH(target string, args []string) int {
	if path := os.Getenv(fakeSSHArgsEnv); path != "" {
		_ = os.WriteFile(path, []byte(strings.Join(args, "\n")), 0o600)
	}
	if !strings.HasSuffix(strings.Join(args, " "), " docker system dial-stdio") {
		fmt.Fprintf(os.Stderr, "fake ssh: unexpected remote command in %q\n", args)
		return 2
	}
	if target == "refuse" {
		fmt.Fprintln(os.Stderr, "ssh: connect to host box9 port 22: Connection refused")
		return 255
	}
	conn, err := net.Dial("tcp", target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake ssh:", err)
		return 1
	}
	go func() {
		_, _ = io.Copy(conn, os.Stdin)
		_ = conn.(*net.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(os.Stdout, conn)
	return 0
}
