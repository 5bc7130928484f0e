package dockerapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/spec"
)

// listsTheStack checks that the client reaches the fake engine.
func listsTheStack(t *testing.T, c *Client) {
	t.Helper()
	cs, err := c.ListContainers(context.Background(), "h1obs")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Name != "h1obs-web-1" {
		t.Fatalf("containers = %+v, want h1obs-web-1", cs)
	}
}

func TestOpenHostUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "h1") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: newFakeEngine()}}
	srv.Start()
	t.Cleanup(srv.Close)

	c, err := OpenHost(&spec.Host{Name: "local", Docker: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	listsTheStack(t, c)
}

func TestOpenHostPlainTCPOnlyWhenInsecure(t *testing.T) {
	srv := httptest.NewServer(newFakeEngine())
	defer srv.Close()
	endpoint := "tcp://" + srv.Listener.Addr().String()

	c, err := OpenHost(&spec.Host{Name: "box1", Docker: endpoint, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	listsTheStack(t, c)
	if at := c.Endpoint(); at.Address != endpoint || !strings.Contains(at.Via, "host box1") {
		t.Errorf("endpoint = %+v, want %s of host box1", at, endpoint)
	}

	_, err = OpenHost(&spec.Host{Name: "box1", Docker: endpoint})
	if !errors.Is(err, ErrPlainTCP) {
		t.Fatalf("err = %v, want ErrPlainTCP", err)
	}
	for _, want := range []string{"host box1", endpoint, "tls:", "insecure: true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message does not say %q: %s", want, err)
		}
	}
}

func TestOpenHostTLSVerifiesBothSides(t *testing.T) {
	pki := newTestPKI(t)
	srv := httptest.NewUnstartedServer(newFakeEngine())
	srv.TLS = pki.serverConfig()
	srv.StartTLS()
	defer srv.Close()
	endpoint := "tcp://" + srv.Listener.Addr().String()

	c, err := OpenHost(&spec.Host{Name: "box1", Docker: endpoint, TLS: pki.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	listsTheStack(t, c)

	// Another CA's folder: the engine's certificate is not trusted.
	other := newTestPKI(t)
	c2, err := OpenHost(&spec.Host{Name: "box1", Docker: endpoint, TLS: other.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.ListContainers(context.Background(), "h1obs"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
}

func TestOpenHostRefusesAnUnknownScheme(t *testing.T) {
	_, err := OpenHost(&spec.Host{Name: "box1", Docker: "npipe:////./pipe/docker_engine"})
	if err == nil || !strings.Contains(err.Error(), "host box1") || !strings.Contains(err.Error(), "ssh://") {
		t.Fatalf("err = %v, want the host named and the schemes taken", err)
	}
}
