package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// Journal is the document apply keeps at <KVPrefix>journal while it runs. It
// extends plan.Journal (which plan reads to warn about an unfinished apply)
// with what is needed to undo each step after a crash.
type Journal struct {
	FormatVersion int           `json:"format_version"`
	StartedAt     time.Time     `json:"started_at"`
	Steps         []JournalStep `json:"steps"`

	ApplyID   string `json:"apply_id"`
	Stack     string `json:"stack"`
	Operation string `json:"operation"`
	Holder    string `json:"holder,omitempty"`
	// Paused is set when a failure left the partial state in place
	// (update.on_failure: pause): the next apply starts from it.
	Paused bool `json:"paused,omitempty"`
	// Completed is set once every step of an apply succeeded, before it
	// removes the containers it kept stopped for a rollback: from then on
	// the apply stands, and a run that finds this journal (the apply was
	// killed while cleaning up) finishes the cleanup instead of rolling
	// back to containers that may already be gone.
	Completed bool `json:"completed,omitempty"`
	// Resumes is the unfinished apply this one carries on from (see
	// resumable). A rollback undoes this apply's steps, then those, so
	// that a failure still ends as the stack was before either began.
	Resumes *Journal `json:"resumes,omitempty"`
}

// resumable reports whether the next apply may carry on from what an
// unfinished apply left instead of rolling it back first: it was an apply
// (not paused, not a destroy) and each step it began only added something
// that was not there (a network, a container in an empty slot, a first
// registration, a new key, a new image tag). Nothing the stack had before
// was changed, so the state it left is the old one plus additions, and
// the journal (kept as Resumes) still says how to take those away. Rolling
// back a killed first apply would remove the whole new stack, Consul and
// network included, only for the next apply to create it again.
func (j *Journal) resumable() bool {
	if j.Operation != "apply" || j.Paused {
		return false
	}
	for _, st := range j.Steps {
		if st.Status != plan.JournalPending && !addsOnly(st.Undo) {
			return false
		}
	}
	return j.Resumes == nil || j.Resumes.resumable()
}

// addsOnly reports whether an undo only takes away what its step added.
func addsOnly(u *Undo) bool {
	if u == nil {
		return false // started, and how to undo it was never written
	}
	switch u.Op {
	case UndoNone, UndoNetwork:
		return true
	case UndoContainer:
		r := u.Restore
		return r != nil && r.OldID == "" && r.TmpName == ""
	case UndoRegistration:
		return u.Registration == nil
	case UndoKV:
		return u.Value == nil
	case UndoImage:
		return u.ImageID == ""
	}
	return false
}

// JournalStep is one plan step: its status (the part plan reads, embedded
// so the two cannot drift apart) and how to undo it.
type JournalStep struct {
	plan.JournalStep
	Group string `json:"group"`
	Undo  *Undo  `json:"undo,omitempty"`
	Error string `json:"error,omitempty"`
}

// journal is the live copy of a Journal, flushed to Consul on change.
type journal struct {
	mu      sync.Mutex
	doc     Journal
	key     string
	version int // bumped on every change
	flushed int // last version written
	wmu     sync.Mutex
}

func newJournal(s *spec.Stack, applyID, op, holder string, p *plan.Plan, resumes *Journal) *journal {
	j := &journal{key: s.KVPrefix() + plan.KVJournal, doc: Journal{
		FormatVersion: 1, StartedAt: time.Now().UTC(), ApplyID: applyID,
		Stack: s.Name, Operation: op, Holder: holder, Resumes: resumes,
	}}
	for _, st := range p.Steps {
		j.doc.Steps = append(j.doc.Steps, JournalStep{JournalStep: plan.JournalStep{ID: st.ID, Status: plan.JournalPending}, Group: st.Group})
	}
	j.version = 1
	return j
}

// set changes a step's status, and its undo when undo is not nil. It
// returns the journal's version with the change, for flush.
func (j *journal) set(id, status string, undo *Undo, errText string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.doc.Steps {
		if j.doc.Steps[i].ID == id {
			j.doc.Steps[i].Status = status
			if undo != nil {
				j.doc.Steps[i].Undo = undo
			}
			j.doc.Steps[i].Error = errText
		}
	}
	j.version++
	return j.version
}

// complete records that every step succeeded (Journal.Completed).
func (j *journal) complete() {
	j.mu.Lock()
	j.doc.Completed = true
	j.version++
	j.mu.Unlock()
}

func (j *journal) pause() {
	j.mu.Lock()
	j.doc.Paused = true
	j.version++
	j.mu.Unlock()
}

// flush writes the journal unless a write since version was made already
// (by a concurrent step: writes of parallel steps are grouped). Without a
// Consul yet (the first apply, before its server runs) it is kept in memory.
func (j *journal) flush(ctx context.Context, c Consul) error {
	j.mu.Lock()
	v := j.version
	j.mu.Unlock()
	return j.flushVersion(ctx, c, v)
}

func (j *journal) flushVersion(ctx context.Context, c Consul, version int) error {
	if c == nil {
		return nil
	}
	j.wmu.Lock()
	defer j.wmu.Unlock()
	j.mu.Lock()
	if j.flushed >= version {
		j.mu.Unlock()
		return nil
	}
	v := j.version
	b, err := json.Marshal(j.doc)
	j.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.KVPut(ctx, j.key, b); err != nil {
		return fmt.Errorf("write journal %s: %w", j.key, err)
	}
	j.mu.Lock()
	if v > j.flushed {
		j.flushed = v
	}
	j.mu.Unlock()
	return nil
}

func (j *journal) remove(ctx context.Context, c Consul) error {
	return c.KVDelete(ctx, j.key)
}

// snapshot returns a copy of the steps.
func (j *journal) snapshot() []JournalStep {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]JournalStep(nil), j.doc.Steps...)
}

func (j *journal) doneIDs() []string {
	var out []string
	for _, st := range j.snapshot() {
		if st.Status == plan.JournalDone {
			out = append(out, st.ID)
		}
	}
	return out
}

// deleteJournal deletes the journal a previous apply left, which this run
// has dealt with without writing its own.
func deleteJournal(ctx context.Context, c Consul, s *spec.Stack) error {
	return c.KVDelete(ctx, s.KVPrefix()+plan.KVJournal)
}

// readJournal reads the journal a previous apply left, or nil.
func readJournal(ctx context.Context, c Consul, s *spec.Stack) (*Journal, error) {
	key := s.KVPrefix() + plan.KVJournal
	b, ok, err := c.KVGet(ctx, key)
	if err != nil || !ok {
		return nil, err
	}
	var doc Journal
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("journal %s is not readable: %w", key, err)
	}
	return &doc, nil
}
