package reconcile

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func newSSHKey(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}

// TestSSHUsesTheDeployKeyAndChecksKnownHosts: a deploy key from --ssh-key,
// user git unless the URL says, and the server's key checked against the
// known_hosts file: a known key passes, any other is refused.
func TestSSHUsesTheDeployKeyAndChecksKnownHosts(t *testing.T) {
	dir := t.TempDir()
	_, deployKey := newSSHKey(t)
	keyFile := filepath.Join(dir, "deploy_key")
	if err := os.WriteFile(keyFile, deployKey, 0o600); err != nil {
		t.Fatal(err)
	}
	host, _ := newSSHKey(t)
	stranger, _ := newSSHKey(t)
	hostsFile := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{"git.example.com"}, host.PublicKey())
	if err := os.WriteFile(hostsFile, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, repo := range []string{"git@git.example.com:org/stacks.git", "ssh://git.example.com/org/stacks.git"} {
		ep, err := transport.NewEndpoint(repo)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := authFor(ep, GitOptions{Repo: repo, SSHKey: keyFile, KnownHosts: hostsFile})
		if err != nil {
			t.Fatalf("%s: %v", repo, err)
		}
		keys, ok := auth.(*gitssh.PublicKeys)
		if !ok || keys.User != "git" {
			t.Fatalf("%s: auth %T %v; want the deploy key as user git", repo, auth, auth)
		}
		addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}
		if err := keys.HostKeyCallback("git.example.com:22", addr, host.PublicKey()); err != nil {
			t.Errorf("%s: the known host key was refused: %v", repo, err)
		}
		if err := keys.HostKeyCallback("git.example.com:22", addr, stranger.PublicKey()); err == nil {
			t.Errorf("%s: another host key was accepted", repo)
		}
	}

	ep, _ := transport.NewEndpoint("git@git.example.com:org/stacks.git")
	if _, err := authFor(ep, GitOptions{SSHKey: keyFile, KnownHosts: filepath.Join(dir, "none")}); err == nil || !strings.Contains(err.Error(), "--known-hosts") {
		t.Errorf("missing known_hosts: %v; want a refusal that names --known-hosts", err)
	}
}

func TestHTTPSSendsTheToken(t *testing.T) {
	cases := []struct {
		repo, token, user, err string
	}{
		{repo: "https://git.example.com/org/stacks.git", token: "s3cret", user: tokenUser},
		{repo: "https://deploy@git.example.com/org/stacks.git", token: "s3cret", user: "deploy"},
		{repo: "http://127.0.0.1:3000/org/stacks.git", token: "s3cret", user: tokenUser},
		{repo: "http://git.example.com/org/stacks.git", token: "s3cret", err: "over https only"},
		{repo: "file:///srv/git/stacks.git", token: "s3cret", err: "a token for https ones"},
	}
	for _, c := range cases {
		ep, err := transport.NewEndpoint(c.repo)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := authFor(ep, GitOptions{Repo: c.repo, Token: c.token})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v; want an error with %q", c.repo, err, c.err)
			}
			continue
		}
		basic, ok := auth.(*githttp.BasicAuth)
		if err != nil || !ok || basic.Username != c.user || basic.Password != c.token {
			t.Errorf("%s: %v, %#v; want user %s with the token", c.repo, err, auth, c.user)
		}
	}
}

// TestNoCredentialIsWrittenToTheCache: a password in the URL is sent, but
// neither kept in the cache's config nor shown.
func TestNoCredentialIsWrittenToTheCache(t *testing.T) {
	cache := t.TempDir()
	g, err := OpenGit(GitOptions{Repo: "https://deploy:s3cret@git.example.com/org/stacks.git", Ref: "main", Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(g.Repo(), "s3cret") {
		t.Errorf("Repo() = %s shows the password", g.Repo())
	}
	if basic, ok := g.auth.(*githttp.BasicAuth); !ok || basic.Password != "s3cret" {
		t.Errorf("auth %#v; want the URL's password", g.auth)
	}
	config, err := os.ReadFile(filepath.Join(g.root, "repo.git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(config), "s3cret") || !strings.Contains(string(config), "https://deploy@git.example.com/org/stacks.git") {
		t.Errorf("cache config:\n%s", config)
	}
}
