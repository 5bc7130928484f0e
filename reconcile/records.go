package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// records keeps the agent's records in the stack's Consul KV: the commit
// last applied (a plain put: the newest is the truth) and the history (a
// read-modify-write, done with check-and-set so that two writers lose no
// entry). What cannot be written yet — the stack's Consul is not up, or a
// failed first apply took it away — stays in memory and goes with the next
// write that can be made.
type records struct {
	dial    KVDialer
	log     func(format string, a ...any)
	applied *plan.ReconcileApplied // not written yet
	entries []plan.ReconcileEntry  // not written yet, oldest first
}

// recordTimeout bounds one write of the records. The agent writes them
// also once it was told to stop (the apply it cut short is recorded), so
// the write has its own deadline rather than the agent's context.
const recordTimeout = 10 * time.Second

// casTries is how often the history is read and written again when
// another writer got in between.
const casTries = 5

// read returns what the stack's KV holds; both nil when the stack has no
// Consul running (so nothing was applied to it).
func (r *records) read(ctx context.Context, st *spec.Stack) (*plan.ReconcileApplied, *plan.ReconcileHistory, error) {
	kv, err := r.dial(ctx, st)
	if errors.Is(err, ErrNoConsul) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var applied *plan.ReconcileApplied
	data, index, err := kv.KVGetIndex(ctx, st.KVPrefix()+plan.KVReconcileApplied)
	if err != nil {
		return nil, nil, err
	}
	if index != 0 {
		if applied, err = plan.ParseReconcileApplied(data); err != nil {
			return nil, nil, err
		}
	}
	history := &plan.ReconcileHistory{}
	data, index, err = kv.KVGetIndex(ctx, st.KVPrefix()+plan.KVReconcileHistory)
	if err != nil {
		return nil, nil, err
	}
	if index != 0 {
		if history, err = plan.ParseReconcileHistory(data); err != nil {
			r.log("the history of stack %s cannot be read (%v): it is not taken into account", st.Name, err)
			history = &plan.ReconcileHistory{}
		}
	}
	return applied, history, nil
}

// setApplied records the commit the stack now runs, in st's KV.
func (r *records) setApplied(ctx context.Context, st *spec.Stack, a plan.ReconcileApplied) {
	a.FormatVersion = plan.ReconcileFormatVersion
	r.applied = &a
	r.flush(ctx, st)
}

// add records an entry in st's KV; a nil st (no stack known yet) keeps it
// for later.
func (r *records) add(ctx context.Context, st *spec.Stack, e plan.ReconcileEntry) {
	r.entries = append(r.entries, e)
	if over := len(r.entries) - plan.ReconcileHistoryLimit; over > 0 {
		r.entries = r.entries[over:]
	}
	r.flush(ctx, st)
}

// flush writes what is not written yet.
func (r *records) flush(ctx context.Context, st *spec.Stack) {
	if st == nil || (r.applied == nil && len(r.entries) == 0) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	kv, err := r.dial(ctx, st)
	if err != nil {
		r.log("records of stack %s kept in memory until its Consul answers: %v", st.Name, err)
		return
	}
	if r.applied != nil {
		data, err := json.Marshal(r.applied)
		if err == nil {
			err = kv.KVPut(ctx, st.KVPrefix()+plan.KVReconcileApplied, data)
		}
		if err != nil {
			r.log("record the applied commit of stack %s: %v (kept in memory)", st.Name, err)
			return
		}
		r.applied = nil
	}
	if len(r.entries) > 0 {
		if err := appendHistory(ctx, kv, st.KVPrefix()+plan.KVReconcileHistory, r.entries); err != nil {
			r.log("record the history of stack %s: %v (kept in memory)", st.Name, err)
			return
		}
		r.entries = nil
	}
}

// appendHistory adds entries to the history at key with check-and-set.
func appendHistory(ctx context.Context, kv KV, key string, entries []plan.ReconcileEntry) error {
	for range casTries {
		data, index, err := kv.KVGetIndex(ctx, key)
		if err != nil {
			return err
		}
		h, err := historyToExtend(data, index)
		if err != nil {
			return err
		}
		for _, e := range entries {
			h.Append(e)
		}
		out, err := json.Marshal(h)
		if err != nil {
			return err
		}
		ok, err := kv.KVCAS(ctx, key, out, index)
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("%s changed under each of %d writes: is another reconcile agent following this stack?", key, casTries)
}

// historyToExtend is the history read at a modify index: a new one when
// there is none or it is unreadable, an error when a newer stackctl wrote
// it (its entries would be lost).
func historyToExtend(data []byte, index uint64) (*plan.ReconcileHistory, error) {
	if index == 0 {
		return &plan.ReconcileHistory{}, nil
	}
	var version struct {
		FormatVersion int `json:"format_version"`
	}
	if json.Unmarshal(data, &version) == nil && version.FormatVersion > plan.ReconcileFormatVersion {
		return nil, fmt.Errorf("not overwritten: it has format_version %d, written by a newer stackctl", version.FormatVersion)
	}
	h, err := plan.ParseReconcileHistory(data)
	if err != nil {
		return &plan.ReconcileHistory{}, nil // unreadable: start it again rather than never record
	}
	return h, nil
}
