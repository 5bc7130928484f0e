package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// GitOptions say which repository and ref a GitSource follows, and how to
// reach it.
type GitOptions struct {
	// Repo is a URL (file://, ssh://, git://, http://, https://), an
	// scp-like address (git@host:org/stacks.git) or a path on this machine.
	Repo string
	// Ref is a branch or a tag (a branch first when both exist), or a full
	// ref name (refs/heads/main).
	Ref string
	// Dir is the folder checked out, the stack file's, relative to the
	// repository's root: a stack file may refer to nothing outside its
	// folder, so the rest of a big repository is never written. "" or "."
	// is the whole tree.
	Dir string
	// Cache holds the caches of every followed repository; "":
	// DefaultCache().
	Cache string
	// Env is the environment the stack is loaded for: the checkouts of
	// agents of two environments of one stack file stay apart, as each
	// removes all but its own last good one.
	Env string

	// SSHKey is the private key file of an ssh URL (a deploy key), with its
	// passphrase if it has one; without it, the SSH agent's keys.
	SSHKey, SSHKeyPassphrase string
	// KnownHosts is the known_hosts file the ssh server's key must be in;
	// "": $SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts and
	// /etc/ssh/ssh_known_hosts.
	KnownHosts string
	// Token is sent as the password of an https URL (GitHub, GitLab and
	// Gitea take a token so), with the URL's user or "x-access-token".
	Token string
}

// GitSource follows one ref of a git repository with go-git: no git binary
// is run. The repository is fetched into a bare cache, one per URL, at
// <Cache>/<hash of the URL>/repo.git: the one ref only, with its whole
// history (the ancestry rule needs it), and again only what is new at each
// fetch. Commits are checked out under trees/.
type GitSource struct {
	opts     GitOptions
	endpoint *transport.Endpoint
	repo     *git.Repository
	auth     transport.AuthMethod
	root     string // <Cache>/<hash of the URL>
	trees    string // the checkouts of this ref, folder and environment
	lock     *cacheLock
	ref      plumbing.ReferenceName // the remote ref, once a fetch found it
}

var _ Peeker = (*GitSource)(nil)

// remoteName is the cache's one remote.
const remoteName = "origin"

// DefaultCache is $XDG_CACHE_HOME/stackctl/reconcile (~/.cache/... when
// unset).
func DefaultCache() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "stackctl", "reconcile"), nil
}

// OpenGit opens (or makes) the cache of opts.Repo. It reaches nothing yet.
func OpenGit(opts GitOptions) (*GitSource, error) {
	if opts.Ref == "" {
		return nil, errors.New("no ref to follow")
	}
	ep, err := transport.NewEndpoint(opts.Repo)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", opts.Repo, err)
	}
	auth, err := authFor(ep, opts)
	if err != nil {
		return nil, err
	}
	if ep.Protocol == "file" {
		serveFilesInProcess()
	}
	if opts.Cache == "" {
		if opts.Cache, err = DefaultCache(); err != nil {
			return nil, fmt.Errorf("cache folder: %w", err)
		}
	}
	g := &GitSource{opts: opts, endpoint: ep, auth: auth}
	g.root = filepath.Join(opts.Cache, hashOf(remoteURL(ep)))
	g.trees = filepath.Join(g.root, "trees", hashOf(opts.Ref+"\x00"+cleanDir(opts.Dir)+"\x00"+opts.Env))
	if err := os.MkdirAll(g.trees, 0o700); err != nil {
		return nil, fmt.Errorf("cache folder: %w", err)
	}
	g.lock = newCacheLock(filepath.Join(g.root, "lock"))
	if g.repo, err = openCache(filepath.Join(g.root, "repo.git"), remoteURL(ep)); err != nil {
		return nil, fmt.Errorf("cache of %s at %s: %w", g.Repo(), g.root, err)
	}
	return g, nil
}

// openCache opens the bare cache repository, making it on first use, with
// its remote at url.
func openCache(dir, url string) (*git.Repository, error) {
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInit(dir, true)
	}
	if err != nil {
		return nil, err
	}
	if _, err := repo.Remote(remoteName); errors.Is(err, git.ErrRemoteNotFound) {
		_, err = repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{url}})
		return repo, err
	}
	return repo, nil
}

// Repo is the repository as given, without a password or token.
func (g *GitSource) Repo() string {
	ep := *g.endpoint
	ep.Password = ""
	if ep.Protocol == "file" && !strings.Contains(g.opts.Repo, "://") {
		return ep.Path
	}
	return ep.String()
}

// Local reports whether the repository is on this machine, where Peek is
// cheap.
func (g *GitSource) Local() bool { return g.endpoint.Protocol == "file" }

// Fetch brings the followed ref up to date in the cache and returns the
// commit it points at.
func (g *GitSource) Fetch(ctx context.Context) (Commit, error) {
	if err := g.lock.acquire(ctx); err != nil {
		return Commit{}, err
	}
	defer g.lock.release()
	names := refCandidates(g.opts.Ref)
	if g.ref != "" {
		names = []plumbing.ReferenceName{g.ref}
	}
	for _, name := range names {
		err := g.repo.FetchContext(ctx, &git.FetchOptions{
			RemoteName: remoteName,
			RefSpecs:   []config.RefSpec{config.RefSpec("+" + name.String() + ":" + localRef(name).String())},
			Auth:       g.auth,
			Tags:       git.NoTags,
			Force:      true,
		})
		switch {
		case err == nil || errors.Is(err, git.NoErrAlreadyUpToDate):
			g.ref = name
			return g.resolve(localRef(name))
		case errors.Is(err, git.NoMatchingRefSpecError{}):
			continue
		default:
			return Commit{}, g.explain(err)
		}
	}
	g.ref = "" // gone: look for a branch or tag of that name again next time
	return Commit{}, fmt.Errorf("%s has no branch or tag %s", g.Repo(), g.opts.Ref)
}

// refCandidates are the remote refs a --ref may name, in the order tried.
func refCandidates(ref string) []plumbing.ReferenceName {
	if strings.HasPrefix(ref, "refs/") {
		return []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	}
	return []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
}

// localRef is where the cache keeps a remote ref: refs/stackctl/heads/main
// for refs/heads/main, apart from any other agent's ref in the same cache.
func localRef(remote plumbing.ReferenceName) plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/stackctl/" + strings.TrimPrefix(remote.String(), "refs/"))
}

// resolve returns the commit a local ref points at, through an annotated
// tag.
func (g *GitSource) resolve(name plumbing.ReferenceName) (Commit, error) {
	ref, err := g.repo.Reference(name, true)
	if err != nil {
		return Commit{}, fmt.Errorf("resolve %s: %w", name, err)
	}
	c, err := peel(g.repo, ref.Hash())
	if err != nil {
		return Commit{}, err
	}
	return commitInfo(c), nil
}

// peel is the commit hash names, directly or through annotated tags.
func peel(repo *git.Repository, hash plumbing.Hash) (*object.Commit, error) {
	if tag, err := repo.TagObject(hash); err == nil {
		return tag.Commit()
	}
	return repo.CommitObject(hash)
}

func commitInfo(c *object.Commit) Commit {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return Commit{Hash: c.Hash.String(), Subject: subject, Time: c.Author.When}
}

// Descends reports whether commit is ancestor or one of its descendants,
// from the history fetched.
func (g *GitSource) Descends(_ context.Context, commit, ancestor string) (bool, error) {
	if commit == ancestor {
		return true, nil
	}
	c, err := g.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return false, fmt.Errorf("commit %s: %w", commit, err)
	}
	a, err := g.repo.CommitObject(plumbing.NewHash(ancestor))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, fmt.Errorf("commit %s is not in the history fetched from %s", ancestor, g.Repo())
	}
	if err != nil {
		return false, fmt.Errorf("commit %s: %w", ancestor, err)
	}
	return a.IsAncestor(c)
}

// Peek reads where the ref is in the repository itself, without fetching:
// only for a repository on this machine (Local).
func (g *GitSource) Peek(context.Context) (string, error) {
	if !g.Local() {
		return "", errors.New("peek: not a repository on this machine")
	}
	repo, err := git.PlainOpenWithOptions(g.endpoint.Path, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return "", err
	}
	for _, name := range refCandidates(g.opts.Ref) {
		ref, err := repo.Reference(name, true)
		if err != nil {
			continue
		}
		c, err := peel(repo, ref.Hash())
		if err != nil {
			return "", err
		}
		return c.Hash.String(), nil
	}
	return "", fmt.Errorf("no branch or tag %s", g.opts.Ref)
}

// explain adds what to do to the errors people meet first.
func (g *GitSource) explain(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "knownhosts: key is unknown"):
		return fmt.Errorf("fetch %s: the server's host key is not in %s: check its fingerprint, then add it (ssh-keyscan -H %s >> FILE) and give --known-hosts FILE: %w",
			g.Repo(), knownHostsName(g.opts.KnownHosts), g.endpoint.Host, err)
	case strings.Contains(msg, "knownhosts: key mismatch"):
		return fmt.Errorf("fetch %s: the server's host key is NOT the one %s has for %s: someone may be in between; fix known_hosts only once you know why it changed: %w",
			g.Repo(), knownHostsName(g.opts.KnownHosts), g.endpoint.Host, err)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("fetch %s: %w (an https repository takes a token: --token-env NAME; an ssh one a deploy key: --ssh-key FILE)", g.Repo(), err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("fetch %s: %w (for a path: a git repository, bare or not)", g.Repo(), err)
	}
	return fmt.Errorf("fetch %s: %w", g.Repo(), err)
}

func knownHostsName(file string) string {
	if file != "" {
		return file
	}
	return "the known_hosts files ($SSH_KNOWN_HOSTS, ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts)"
}

// remoteURL is the endpoint as the cache's remote holds it: never with a
// password (credentials go through Auth), so that none is written to disk.
func remoteURL(ep *transport.Endpoint) string {
	c := *ep
	c.Password = ""
	return c.String()
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func cleanDir(dir string) string {
	dir = filepath.ToSlash(filepath.Clean(dir))
	if dir == "." || dir == "/" {
		return ""
	}
	return strings.TrimPrefix(dir, "/")
}
