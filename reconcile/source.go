package reconcile

import (
	"context"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// Source is the repository the agent follows: one ref of it.
// GitSource is the real one; the loop's tests use an in-memory fake.
type Source interface {
	// Fetch brings the ref up to date and returns the commit it points at.
	Fetch(ctx context.Context) (Commit, error)
	// Descends reports whether commit is ancestor or one of its
	// descendants.
	Descends(ctx context.Context, commit, ancestor string) (bool, error)
	// Checkout writes commit's tree into a folder of its own and returns
	// that folder; the stack file is at the same relative path in it as in
	// the repository. A commit checked out before is not written again.
	Checkout(ctx context.Context, commit string) (string, error)
	// Keep removes the checkouts of every commit but these.
	Keep(commits ...string) error
}

// Peeker is a Source that can tell cheaply, without fetching, which commit
// the ref points at now (a repository on this machine), so that the agent
// wakes at a new commit instead of at the next interval.
type Peeker interface {
	Peek(ctx context.Context) (string, error)
}

// Commit is a commit of the ref the agent follows.
type Commit struct {
	Hash    string
	Subject string    // the first line of its message
	Time    time.Time // its author's time
}

// shortLen is the length of a short hash, as git log --oneline prints it.
const shortLen = 7

// Short is the first 7 characters of the hash.
func (c Commit) Short() string {
	if len(c.Hash) <= shortLen {
		return c.Hash
	}
	return c.Hash[:shortLen]
}

// String is "abc1234 (subject)", how log lines name a commit.
func (c Commit) String() string { return c.Short() + " (" + c.Subject + ")" }

// record is the commit as the records name it.
func (c Commit) record() plan.GitCommit {
	return plan.GitCommit{Commit: c.Hash, Short: c.Short(), Subject: c.Subject, CommitTime: c.Time.UTC()}
}

// commitOf is the commit a record names.
func commitOf(g plan.GitCommit) Commit {
	return Commit{Hash: g.Commit, Subject: g.Subject, Time: g.CommitTime}
}
