package spec

import (
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Reconcile is the reconcile section: the stack runs its own `stackctl
// reconcile` agent as its container <stack>-reconcile, which follows Ref of
// Repo and applies the stack file at Path (docs/reconcile.md, "As a
// container of the stack").
type Reconcile struct {
	// Repo is the repository as written: an absolute path or file:// URL
	// on the Docker host (bind-mounted read-only at the same path), or an
	// ssh://, scp-like (git@host:org/repo.git) or https:// URL.
	Repo string
	Ref  string // default DefaultReconcileRef
	// Path is the stack file's path in the repository, slash-separated.
	Path     string
	Interval time.Duration // default DefaultReconcileInterval
	// Env is the environment the agent loads: the one the stack is loaded
	// for, and no other ("" for none).
	Env   string
	Image string // default DefaultReconcileImage
	// SSHKey and KnownHosts are absolute paths of files on the Docker host,
	// mounted read-only at the same paths; "" for none.
	SSHKey     string
	KnownHosts string
	Pos        Position
}

// LocalRepo is the folder on the Docker host that Repo names (a path or a
// file:// URL), which the agent's container mounts; "" for a remote one.
func (r *Reconcile) LocalRepo() string {
	if p, ok := strings.CutPrefix(r.Repo, "file://"); ok {
		return filepath.Clean(p)
	}
	if filepath.IsAbs(r.Repo) {
		return filepath.Clean(r.Repo)
	}
	return ""
}

// Defaults of the reconcile section.
const (
	DefaultReconcileRef      = "main"
	DefaultReconcileInterval = 30 * time.Second
	// DefaultReconcileImage is the static stackctl binary alone, built by
	// `make images` (scripts/images.sh).
	DefaultReconcileImage = "stackctl.local/stackctl:dev"
	// MinReconcileInterval is the least interval, as `stackctl reconcile
	// --interval` takes it.
	MinReconcileInterval = time.Second
)

var reconcileFields = []string{"repo", "ref", "path", "interval", "env", "image", "ssh_key", "known_hosts"}

const (
	repoRule     = "an absolute path or file:// URL on the Docker host, or an ssh:// or https:// URL, or git@host:org/repo.git"
	repoPathRule = "the stack file's path in the repository, like primes/stack.yaml"
	hostFileRule = "the absolute path of a file on the Docker host"
)

// reconcile decodes the reconcile section.
func (d *decoder) reconcile(f field) *Reconcile {
	r := &Reconcile{Ref: DefaultReconcileRef, Interval: DefaultReconcileInterval, Image: DefaultReconcileImage,
		Env: d.environment, Pos: d.at(f.key)}
	fields, ok := d.mapping(f.val, "reconcile", "in reconcile", reconcileFields)
	if !ok {
		return r
	}
	if f, ok := d.require(fields, "repo", f.key, "in reconcile", repoRule); ok {
		r.Repo = d.repo(f.val)
	}
	if f, ok := fields["ref"]; ok {
		r.Ref = d.gitRef(f.val)
	}
	if f, ok := d.require(fields, "path", f.key, "in reconcile", repoPathRule); ok {
		r.Path = d.repoPath(f.val)
	}
	if f, ok := fields["interval"]; ok {
		if v, ok := d.duration(f.val, "reconcile.interval", MinReconcileInterval); ok {
			r.Interval = v
		}
	}
	if f, ok := fields["env"]; ok {
		d.reconcileEnv(f.val)
	}
	if f, ok := fields["image"]; ok {
		r.Image = d.image(f.val, "reconcile.image")
	}
	if f, ok := fields["ssh_key"]; ok {
		r.SSHKey = d.hostFile(f.val, "reconcile.ssh_key")
	}
	if f, ok := fields["known_hosts"]; ok {
		r.KnownHosts = d.hostFile(f.val, "reconcile.known_hosts")
	}
	return r
}

// repo reads reconcile.repo. A relative path is refused: the agent loads
// the stack file from its own checkout, where a path relative to the file
// would name another folder.
func (d *decoder) repo(n *yaml.Node) string {
	s, ok := d.str(n, "reconcile.repo", repoRule)
	if !ok {
		return ""
	}
	if reason := checkRepo(s); reason != "" {
		d.addf(n, "reconcile.repo %s %s (expected %s)", quote(s), reason, repoRule)
		return ""
	}
	return s
}

func checkRepo(s string) string {
	if strings.TrimSpace(s) != s || s == "" {
		return "has spaces around it"
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		switch scheme {
		case "file":
			if !filepath.IsAbs(rest) {
				return "is not a file:// URL of an absolute path"
			}
			return ""
		case "ssh", "https", "http":
			if u, err := url.Parse(s); err != nil || u.Host == "" {
				return "is not a URL with a host"
			}
			return ""
		}
		return "has the scheme " + quote(scheme) + ", which the agent cannot fetch"
	}
	if filepath.IsAbs(s) {
		return ""
	}
	if at := strings.Index(s, "@"); at > 0 && strings.Contains(s[at:], ":") {
		return "" // scp-like ssh: git@host:org/repo.git
	}
	return "is a relative path, which the agent would resolve in its own checkout of the stack file"
}

// gitRef reads reconcile.ref: a branch, a tag or a full refs/... name.
func (d *decoder) gitRef(n *yaml.Node) string {
	const rule = "a branch or tag name, like main, or a full name like refs/heads/main"
	s, ok := d.str(n, "reconcile.ref", rule)
	if !ok {
		return DefaultReconcileRef
	}
	if s == "" || strings.ContainsAny(s, " \t~^:?*[\\") || strings.Contains(s, "..") ||
		strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.HasPrefix(s, "-") {
		d.addf(n, "reconcile.ref %s is not a git ref name (expected %s)", quote(s), rule)
		return DefaultReconcileRef
	}
	return s
}

// repoPath reads reconcile.path: a relative, slash-separated path inside
// the repository.
func (d *decoder) repoPath(n *yaml.Node) string {
	s, ok := d.str(n, "reconcile.path", repoPathRule)
	if !ok {
		return ""
	}
	if s == "" || path.IsAbs(s) || !filepath.IsLocal(filepath.FromSlash(s)) || strings.Contains(s, "\\") {
		d.addf(n, "reconcile.path %s is not a path inside the repository (expected %s)", quote(s), repoPathRule)
		return ""
	}
	return path.Clean(s)
}

// reconcileEnv checks reconcile.env: the agent follows the environment the
// stack is loaded for, so the field may only say which that is (in the
// environment's overlay, say).
func (d *decoder) reconcileEnv(n *yaml.Node) {
	s, ok := d.str(n, "reconcile.env", "the environment the stack is loaded for")
	if !ok || s == d.environment {
		return
	}
	if d.environment == "" {
		d.addf(n, "reconcile.env is %s but the stack is loaded without an environment (expected no reconcile.env, or the stack loaded with -e %s: the agent applies the stack it belongs to)", quote(s), s)
		return
	}
	d.addf(n, "reconcile.env is %s but the stack is loaded for environment %s (expected %s, or no reconcile.env: the agent applies the stack it belongs to)", quote(s), quote(d.environment), quote(d.environment))
}

// hostFile reads the absolute path of a file on the Docker host.
func (d *decoder) hostFile(n *yaml.Node, path string) string {
	s, ok := d.str(n, path, hostFileRule)
	if !ok {
		return ""
	}
	if !filepath.IsAbs(s) {
		d.addf(n, "%s %s is not an absolute path (expected %s, mounted read-only into the agent's container at the same path)", path, quote(s), hostFileRule)
		return ""
	}
	return filepath.Clean(s)
}
