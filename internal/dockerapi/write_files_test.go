package dockerapi

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/spec"
)

func TestTarFilesKeepsPathModeOwnerAndContent(t *testing.T) {
	files := []apply.File{
		{Path: "/consul/config/stackctl.json", Mode: 0o600, UID: 65534, GID: 65534, Content: []byte(`{"encrypt":"k"}`)},
		{Path: "/run/token", Mode: 0o400, Content: []byte("t")},
	}
	archive, err := tarFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(archive))
	for _, want := range files {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if hdr.Name != strings.TrimPrefix(want.Path, "/") || hdr.Mode != int64(want.Mode) ||
			hdr.Uid != want.UID || hdr.Gid != want.GID || !bytes.Equal(body, want.Content) {
			t.Errorf("entry %s mode %o owner %d:%d %q, want %v", hdr.Name, hdr.Mode, hdr.Uid, hdr.Gid, body, want)
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("more entries than files: %v", err)
	}
}

func TestTarFilesRefusesPathsThatLeaveTheRoot(t *testing.T) {
	for _, p := range []string{"relative/file", "/a/../../etc/passwd", "/a//b", ""} {
		if _, err := tarFiles([]apply.File{{Path: p, Content: []byte("secret")}}); err == nil {
			t.Errorf("%q accepted", p)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error shows the content: %v", p, err)
		}
	}
}

func TestHostNetworkTakesNoNetworkSettings(t *testing.T) {
	ok := apply.ContainerSpec{Name: "c", HostNetwork: true}
	if err := checkHostNetwork(ok); err != nil {
		t.Errorf("a plain host-network container is refused: %v", err)
	}
	if networking(ok) != nil {
		t.Error("a host-network container gets an endpoint")
	}
	for name, cs := range map[string]apply.ContainerSpec{
		"network": {HostNetwork: true, Network: "fleet"},
		"address": {HostNetwork: true, IP: "10.0.0.2"},
		"alias":   {HostNetwork: true, Aliases: []string{"a"}},
		"port":    {HostNetwork: true, Ports: []spec.PortMapping{{ContainerPort: 8500}}},
	} {
		if err := checkHostNetwork(cs); err == nil {
			t.Errorf("a host-network container with a %s is accepted", name)
		}
	}
	bridge := apply.ContainerSpec{Network: "fleet", IP: "10.0.0.2", Aliases: []string{"a"}}
	if err := checkHostNetwork(bridge); err != nil || networking(bridge).EndpointsConfig["fleet"].IPAMConfig.IPv4Address != "10.0.0.2" {
		t.Errorf("a container on the stack network is not as before: %v", err)
	}
}
