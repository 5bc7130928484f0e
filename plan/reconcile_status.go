package plan

import "errors"

// ReconcileStatus is what `stackctl reconcile` recorded for a stack: the
// commit the stack runs, the agent's latest pass and the latest drift it
// saw, for "at commit abc1234 (subject), applied 2m ago".
type ReconcileStatus struct {
	// Applied is the commit last applied with success; nil before the
	// first.
	Applied *ReconcileApplied `json:"applied,omitempty"`
	// Last is the newest history entry, LastDrift the newest one that a
	// drift triggered.
	Last      *ReconcileEntry `json:"last,omitempty"`
	LastDrift *ReconcileEntry `json:"last_drift,omitempty"`
	// Error says why a record could not be read; what could be is shown.
	Error string `json:"error,omitempty"`
}

// reconcileStatus reads reconcile's records from the observed keys; nil
// when there are none.
func reconcileStatus(c ConsulState) *ReconcileStatus {
	if c.ReconcileApplied == nil && c.ReconcileHistory == nil {
		return nil
	}
	out := &ReconcileStatus{}
	var errs []error
	if c.ReconcileApplied != nil {
		a, err := ParseReconcileApplied([]byte(*c.ReconcileApplied))
		out.Applied = a
		errs = append(errs, err)
	}
	if c.ReconcileHistory != nil {
		h, err := ParseReconcileHistory([]byte(*c.ReconcileHistory))
		errs = append(errs, err)
		if h != nil {
			out.Last = h.Last(func(ReconcileEntry) bool { return true })
			out.LastDrift = h.Last(func(e ReconcileEntry) bool { return e.Trigger == TriggerDrift })
		}
	}
	if err := errors.Join(errs...); err != nil {
		out.Error = err.Error()
	}
	return out
}
