package dockerapi

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/docker/docker/client"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// ErrPlainTCP: a tcp:// engine without TLS, which the host entry did not
// accept in so many words. The stack file's validation refuses it first;
// this is the adapter's own guard, for callers that build hosts in code.
var ErrPlainTCP = errors.New("plain TCP without TLS: anyone who can reach that port controls the engine")

// OpenHost makes a client for a host's engine, as the docker CLI would with
// that endpoint in DOCKER_HOST: unix://PATH; tcp://HOST:PORT with TLS from
// the host's folder (ca.pem, cert.pem, key.pem, as DOCKER_CERT_PATH has
// them, the server's certificate verified against ca.pem), or without TLS
// only when the host says insecure: true; ssh://[USER@]HOST[:PORT] through
// `docker system dial-stdio` on the host. The API version is negotiated.
// No request is made yet.
func OpenHost(h *spec.Host) (*Client, error) { return openHost(h, sshProgram) }

// openHost is OpenHost with ssh run as program (the tests' stand-in).
func openHost(h *spec.Host, program string) (*Client, error) {
	opts, err := hostOptions(h, program)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	api, err := client.NewClientWithOpts(append(opts, client.WithAPIVersionNegotiation())...)
	if err != nil {
		return nil, fmt.Errorf("host %s: Docker client for %s: %w", h.Name, h.Docker, err)
	}
	return &Client{api: api, endpoint: plan.Endpoint{Address: h.Docker, Via: "host " + h.Name + " in the stack file"}}, nil
}

// hostOptions are the client options that reach h's engine.
func hostOptions(h *spec.Host, program string) ([]client.Opt, error) {
	scheme, _, _ := strings.Cut(h.Docker, "://")
	switch scheme {
	case "unix":
		return []client.Opt{client.WithHost(h.Docker)}, nil
	case "tcp":
		if h.TLS != "" {
			return []client.Opt{client.WithHost(h.Docker), client.WithTLSClientConfig(
				filepath.Join(h.TLS, "ca.pem"), filepath.Join(h.TLS, "cert.pem"), filepath.Join(h.TLS, "key.pem"))}, nil
		}
		if !h.Insecure {
			return nil, fmt.Errorf("docker %s is %w (add tls: FOLDER with ca.pem, cert.pem and key.pem to the host, "+
				"or insecure: true to accept that on a network you trust)", h.Docker, ErrPlainTCP)
		}
		return []client.Opt{client.WithHost(h.Docker)}, nil
	case "ssh":
		d, err := newSSHDialer(h.Docker, program)
		if err != nil {
			return nil, err
		}
		return d.options(), nil
	}
	return nil, fmt.Errorf("docker %q: expected unix://PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]", h.Docker)
}
