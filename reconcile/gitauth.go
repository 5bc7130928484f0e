package reconcile

import (
	"fmt"
	"net"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// tokenUser is the user sent with a token when the URL names none: GitHub
// and Gitea read only the token; GitLab takes any user with a personal or
// project access token.
const tokenUser = "x-access-token"

// authFor is how to authenticate to ep: a deploy key (or the SSH agent)
// checked against known_hosts for ssh, a token or the URL's password for
// http(s), nothing for file and git.
func authFor(ep *transport.Endpoint, o GitOptions) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "ssh":
		return sshAuth(ep, o)
	case "http", "https":
		return httpAuth(ep, o)
	}
	if o.SSHKey != "" || o.Token != "" {
		return nil, fmt.Errorf("%s is a %s repository: --ssh-key is for ssh URLs and a token for https ones", o.Repo, ep.Protocol)
	}
	return nil, nil
}

func sshAuth(ep *transport.Endpoint, o GitOptions) (transport.AuthMethod, error) {
	user := ep.User
	if user == "" {
		user = "git"
	}
	hosts, err := knownHosts(o.KnownHosts)
	if err != nil {
		return nil, err
	}
	if o.SSHKey == "" {
		agent, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("%s is an ssh repository: give its deploy key with --ssh-key FILE (no SSH agent either: %w)", o.Repo, err)
		}
		agent.HostKeyCallback = hosts
		return agent, nil
	}
	keys, err := gitssh.NewPublicKeysFromFile(user, o.SSHKey, o.SSHKeyPassphrase)
	if err != nil {
		return nil, fmt.Errorf("read the SSH key %s: %w", o.SSHKey, err)
	}
	keys.HostKeyCallback = hosts
	return keys, nil
}

// knownHosts checks the server's key against file, or the usual files.
// There is no way to accept an unknown key: an agent that deploys what the
// server says must know it talks to the right server.
func knownHosts(file string) (ssh.HostKeyCallback, error) {
	var files []string
	if file != "" {
		files = []string{file}
	}
	cb, err := gitssh.NewKnownHostsCallback(files...)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w (give the file with the server's key with --known-hosts FILE; ssh-keyscan -H HOST makes its line, check its fingerprint)", err)
	}
	return cb, nil
}

func httpAuth(ep *transport.Endpoint, o GitOptions) (transport.AuthMethod, error) {
	if o.SSHKey != "" {
		return nil, fmt.Errorf("%s is an %s repository: --ssh-key is for ssh URLs", o.Repo, ep.Protocol)
	}
	user := ep.User
	switch {
	case o.Token != "" && ep.Protocol == "http" && !isLoopback(ep.Host):
		return nil, fmt.Errorf("%s: a token is sent over https only (it would cross the network in clear)", o.Repo)
	case o.Token != "":
		if user == "" {
			user = tokenUser
		}
		return &githttp.BasicAuth{Username: user, Password: o.Token}, nil
	case ep.Password != "":
		return &githttp.BasicAuth{Username: user, Password: ep.Password}, nil
	}
	return nil, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
