package reconcile

import (
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
)

var fileTransport sync.Once

// serveFilesInProcess makes go-git serve file:// repositories (and plain
// paths) itself, in this process, instead of running git-upload-pack as
// its file transport does: stackctl runs no git binary, and its image has
// none. go-git's registry of transports is global; this replaces its file
// entry once, for the whole process.
func serveFilesInProcess() {
	fileTransport.Do(func() {
		client.InstallProtocol("file", server.NewClient(localRepos{}))
	})
}

// localRepos loads the repository at an endpoint's path, bare or not (a
// work tree's .git, a linked worktree's common folder): go-git's own
// filesystem loader reads a bare repository only.
type localRepos struct{}

func (localRepos) Load(ep *transport.Endpoint) (storer.Storer, error) {
	repo, err := git.PlainOpenWithOptions(ep.Path, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, transport.ErrRepositoryNotFound
	}
	return repo.Storer, nil
}
