package dockerapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/docker/docker/client"
)

// sshProgram is the ssh client OpenHost runs, from PATH, as the docker CLI
// does: the user's ssh config, keys and agent apply as they would to
// `docker -H ssh://...`.
const sshProgram = "ssh"

// sshDialer reaches an engine over ssh the way the docker CLI does: each
// connection is one ssh process running `docker system dial-stdio` on the
// host, whose stdin and stdout carry the API's HTTP. The docker CLI is not
// a dependency (its module pins another docker/docker); this is the part
// of it stackctl needs.
type sshDialer struct {
	program string
	args    []string
}

func newSSHDialer(endpoint, program string) (*sshDialer, error) {
	args, err := sshArgs(endpoint)
	if err != nil {
		return nil, err
	}
	return &sshDialer{program: program, args: args}, nil
}

// sshArgs is the ssh command line, after the program's name, for an
// ssh://[USER@]HOST[:PORT] endpoint. Like the docker CLI's: a 30 s connect
// timeout, no terminal (-T), the user and port as flags, and "--" before
// the host so that no host name is read as an option. Unlike it,
// BatchMode=yes: hosts are dialled in parallel under a deadline, with no
// one to answer a password or host-key prompt, so a key (or an agent) and
// a known host are needed, and ssh says so instead of waiting.
func sshArgs(endpoint string) ([]string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("docker %q: %w", endpoint, err)
	}
	_, hasPassword := u.User.Password()
	switch {
	case u.Scheme != "ssh":
		return nil, fmt.Errorf("docker %q is not ssh://", endpoint)
	case hasPassword:
		return nil, fmt.Errorf("docker %q has a password: ssh:// takes none, log in with a key", endpoint)
	case u.Hostname() == "":
		return nil, fmt.Errorf("docker %q has no host", endpoint)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("docker %q: expected ssh://[USER@]HOST[:PORT], with nothing after the host", endpoint)
	}
	args := []string{"-o", "ConnectTimeout=30", "-o", "BatchMode=yes", "-T"}
	if u.User != nil && u.User.Username() != "" {
		args = append(args, "-l", u.User.Username())
	}
	if port := u.Port(); port != "" {
		args = append(args, "-p", port)
	}
	return append(args, "--", u.Hostname(), "docker", "system", "dial-stdio"), nil
}

// dial starts one ssh process: one connection to the engine. The process
// outlives ctx on purpose (the transport may reuse the connection for
// later requests); closing the connection ends it.
func (d *sshDialer) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return startCommandConn(d.program, d.args...)
}

// options make a client whose every connection is dialled by d. Requests
// name a placeholder host, as for a unix socket; the transport is the
// client's own so that no HTTP proxy from the environment applies: the
// bytes go into ssh, not onto a network.
func (d *sshDialer) options() []client.Opt {
	transport := &http.Transport{}
	return []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: transport, CheckRedirect: client.CheckRedirect}),
		client.WithHost("http://" + client.DummyHost),
		client.WithDialContext(d.dial),
		func(*client.Client) error {
			transport.Proxy = nil // WithHost set it from the environment
			return nil
		},
	}
}
