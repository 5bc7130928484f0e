package dockerapi

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/spec"
)

func TestSSHArgsAreTheDockerCLIs(t *testing.T) {
	base := []string{"-o", "ConnectTimeout=30", "-o", "BatchMode=yes", "-T"}
	remote := []string{"docker", "system", "dial-stdio"}
	tests := []struct {
		endpoint string
		want     []string // between the base flags and the remote command
	}{
		{"ssh://box1", []string{"--", "box1"}},
		{"ssh://ops@box1", []string{"-l", "ops", "--", "box1"}},
		{"ssh://ops@10.0.0.3:2222", []string{"-l", "ops", "-p", "2222", "--", "10.0.0.3"}},
		{"ssh://[fd00::3]:22", []string{"-p", "22", "--", "fd00::3"}},
		{"ssh://box1/", []string{"--", "box1"}},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			got, err := sshArgs(tt.endpoint)
			if err != nil {
				t.Fatal(err)
			}
			want := append(append(append([]string{}, base...), tt.want...), remote...)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ssh %s\nwant ssh %s", strings.Join(got, " "), strings.Join(want, " "))
			}
		})
	}
}

func TestSSHArgsRefuseWhatSSHCannotTake(t *testing.T) {
	for endpoint, want := range map[string]string{
		"ssh://ops:secret@box1":          "password",
		"ssh://box1/var/run/docker.sock": "nothing after the host",
		"ssh://box1?x=1":                 "nothing after the host",
		"ssh://":                         "no host",
		"tcp://box1:2375":                "not ssh://",
	} {
		if _, err := sshArgs(endpoint); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", endpoint, err, want)
		}
	}
}

// fakeSSHHost opens an ssh:// host whose ssh is this test binary, bound
// for target (an engine's address, or "refuse").
func fakeSSHHost(t *testing.T, target string) (*Client, string) {
	t.Helper()
	argsFile := filepath.Join(t.TempDir(), "args")
	t.Setenv(fakeSSHEnv, target)
	t.Setenv(fakeSSHArgsEnv, argsFile)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err := openHost(&spec.Host{Name: "box9", Docker: "ssh://ops@box9:2222"}, self)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, argsFile
}

func TestOpenHostOverSSHCarriesTheAPIThroughDialStdio(t *testing.T) {
	engine := httptest.NewServer(newFakeEngine())
	defer engine.Close()
	c, argsFile := fakeSSHHost(t, engine.Listener.Addr().String())

	listsTheStack(t, c)
	raw, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.ReplaceAll(string(raw), "\n", " "),
		"-o ConnectTimeout=30 -o BatchMode=yes -T -l ops -p 2222 -- box9 docker system dial-stdio"; got != want {
		t.Errorf("ssh ran with %q, want %q", got, want)
	}
	if at := c.Endpoint().Address; at != "ssh://ops@box9:2222" {
		t.Errorf("endpoint %s, want the host's ssh://", at)
	}
}

func TestOpenHostOverSSHSaysWhySSHFailed(t *testing.T) {
	c, _ := fakeSSHHost(t, "refuse")
	_, err := c.ListContainers(context.Background(), "h1obs")
	if err == nil || !strings.Contains(err.Error(), "Connection refused") || !strings.Contains(err.Error(), "exit status 255") {
		t.Fatalf("err = %v, want ssh's own message and status", err)
	}
}
