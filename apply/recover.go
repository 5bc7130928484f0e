package apply

import (
	"context"
	"fmt"
	"time"
)

// Recovery is what Prepare did about an apply that did not finish
// (Report.Recovered). Its values are the `outcome` of apply's JSON
// `recovered` event.
type Recovery string

const (
	// RecoveredRolledBack: its steps were undone before this run planned.
	RecoveredRolledBack Recovery = "rolled back"
	// RecoveredResumed: it only added to the stack (Journal.resumable);
	// this run plans from what it left and keeps its journal as Resumes.
	RecoveredResumed Recovery = "resumed"
	// RecoveredSuperseded: a destroy found it; the destroy removes what
	// it left instead of rolling it back first.
	RecoveredSuperseded Recovery = "superseded"
	// RecoveredForgotten: it was paused after a failure; this run plans
	// from the partial state it left.
	RecoveredForgotten Recovery = "forgotten"
	// RecoveredFinished: it had made every change (Journal.Completed)
	// and was stopped while removing what it replaced; that was finished.
	RecoveredFinished Recovery = "finished"
	// RecoveredSettled: there was no journal, but Prepare waited for a
	// killed apply's last Docker requests to land: the live state moved,
	// so the caller observes again.
	RecoveredSettled Recovery = "settled"
)

// recover deals with the journal of an apply that did not finish. The lock
// is held (or was not asked for), so its apply is not running any more.
func (e *Executor) recover(ctx context.Context, c Consul) (*Report, error) {
	doc, err := readJournal(ctx, c, e.Stack)
	if err != nil || doc == nil {
		return nil, err
	}
	r := &Report{Stack: e.Stack.Name, ApplyID: doc.ApplyID, Operation: "recover " + doc.Operation}
	if doc.Paused {
		e.opts.Progress.Note(fmt.Sprintf("The %s %s started at %s was paused after a failure; planning from the state it left.",
			doc.Operation, doc.ApplyID, doc.StartedAt.UTC().Format(time.RFC3339)))
		r.Recovered = RecoveredForgotten
		return r, deleteJournal(ctx, c, e.Stack)
	}
	if doc.Completed {
		e.opts.Progress.Note(fmt.Sprintf("The %s %s started at %s made every change but was stopped while removing the containers it replaced; removing them now.",
			doc.Operation, doc.ApplyID, doc.StartedAt.UTC().Format(time.RFC3339)))
		r.Recovered = RecoveredFinished
		rb := context.WithoutCancel(ctx)
		if err := e.removeKeptOf(rb, doc.Steps, false); err != nil {
			// The journal stays: the next run tries the removal again.
			r.Err = fmt.Errorf("finish the cleanup of %s %s: %w", doc.Operation, doc.ApplyID, err)
			return r, nil
		}
		if err := deleteJournal(rb, c, e.Stack); err != nil {
			return r, err
		}
		return r, e.removeKeptOf(rb, doc.Steps, true)
	}
	if e.opts.Operation == "apply" && doc.resumable() {
		e.opts.Progress.Note(fmt.Sprintf("The %s %s started at %s did not finish; it only added to the stack, so this apply carries on from what it left (a failure still rolls both back).",
			doc.Operation, doc.ApplyID, doc.StartedAt.UTC().Format(time.RFC3339)))
		e.resumes, e.supersedes = doc, true
		r.Recovered = RecoveredResumed
		return r, nil
	}
	if e.opts.Operation == "destroy" {
		// Rolling it back would put old containers back only to remove
		// them: the destroy removes whatever of the stack it left.
		e.opts.Progress.Note(fmt.Sprintf("The %s %s started at %s did not finish; the destroy removes what it left, without rolling it back first.",
			doc.Operation, doc.ApplyID, doc.StartedAt.UTC().Format(time.RFC3339)))
		e.supersedes = true
		r.Recovered = RecoveredSuperseded
		return r, nil
	}
	e.opts.Progress.Note(fmt.Sprintf("The %s %s started at %s did not finish; rolling it back first.",
		doc.Operation, doc.ApplyID, doc.StartedAt.UTC().Format(time.RFC3339)))
	rb := context.WithoutCancel(ctx)
	r.RolledBack, r.RollbackErr = e.rollbackJournal(rb, doc)
	r.Recovered = RecoveredRolledBack
	if r.RollbackErr != nil {
		r.Err = fmt.Errorf("the unfinished %s %s could not be rolled back completely", doc.Operation, doc.ApplyID)
		return r, nil
	}
	// Rolling back a first apply removes the Consul that held the journal
	// (and the lock): there is nothing left to delete or release then.
	if _, err := c.Leader(rb); err != nil {
		e.Unlock()
		e.consul.set(nil)
		return r, nil
	}
	return r, deleteJournal(rb, c, e.Stack)
}
