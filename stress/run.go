package stress

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Stack is what a run asks of the stack under load. cmd/stackctl
// implements it on the live engine and Consul; tests fake it.
type Stack interface {
	// Whole reports whether the stack serves its full passing set: every
	// desired worker passing in Consul and in the LB's last render. The
	// string says what is missing.
	Whole(ctx context.Context) (bool, string, error)
	// Drifted reports whether the live stack differs from its stack file
	// (the plan has changes), with a one-line summary.
	Drifted(ctx context.Context) (bool, string, error)
	// Apply runs `stackctl apply` of file (the stack's own file for "")
	// under the stack's lock, and reports how it went.
	Apply(ctx context.Context, file string) *ApplyRecord
}

// ApplyRecord is an apply stress ran: --apply FILE, or the heal.
type ApplyRecord struct {
	File     string  `json:"file"`
	At       float64 `json:"at_s"`   // seconds after the start
	Took     float64 `json:"took_s"` // seconds
	ExitCode int     `json:"exit_code"`
	// Output is the apply's last lines, kept when it failed.
	Output string `json:"output,omitempty"`
}

// Recovery is how the stack came back after the faults.
type Recovery struct {
	// FaultsEnded is when the last fault ended (seconds after the start):
	// the last lasting one undone, or the last instant one injected.
	FaultsEnded float64 `json:"faults_ended_s"`
	// Drift is what the plan found once the faults ended ("" if nothing).
	Drift string       `json:"drift,omitempty"`
	Heal  *ApplyRecord `json:"heal,omitempty"`
	// WholeAt is when the LB served the full passing set again, Took the
	// time from FaultsEnded to then; both nil when it did not within the
	// limit (Missing then says what was missing).
	WholeAt *float64 `json:"whole_at_s,omitempty"`
	Took    *float64 `json:"took_s,omitempty"`
	Missing string   `json:"missing,omitempty"`
}

// Run is one stress run.
type Run struct {
	Load     Load
	Duration time.Duration
	Faults   []Fault
	Injector *Injector
	Stack    Stack
	// ApplyFile is applied at ApplyAt ("": no apply).
	ApplyFile string
	ApplyAt   time.Duration
	// Heal applies the stack file once the faults end, when it drifted.
	Heal bool
	// RecoveryLimit bounds the wait for the stack to be whole after the
	// load, so a stack that never heals does not hang the run.
	RecoveryLimit time.Duration
	// Log prints a progress line (to stderr); nil prints nothing.
	Log func(format string, args ...any)
}

func (r *Run) log(format string, args ...any) {
	if r.Log != nil {
		r.Log(format, args...)
	}
}

// Result is what Do returns, for the report.
type Result struct {
	Start       time.Time
	Interrupted bool
	Totals      Totals
	Seconds     []Second
	Hits        []Hit
	Apply       *ApplyRecord
	Recovery    *Recovery
	// UndoErrors lists faults that could not be undone (they stay
	// recorded, and the next stackctl command tries again).
	UndoErrors []string
	// WholeAtStart says whether the stack was whole before the load, and
	// if not, what was missing.
	WholeAtStart bool
	NotWhole     string
}

// faultsEnd is when the schedule's last fault ends.
func faultsEnd(fs []Fault) time.Duration {
	var end time.Duration
	for _, f := range fs {
		end = max(end, f.At+f.For)
	}
	return end
}

// Do runs the load, the faults on their schedule, the apply and the heal,
// then undoes every fault still on and waits for the stack to be whole.
// When ctx ends (Ctrl-C), the load stops and every fault is undone before
// Do returns.
func (r *Run) Do(ctx context.Context) *Result {
	res := &Result{}
	var err error
	res.WholeAtStart, res.NotWhole, err = r.Stack.Whole(ctx)
	if err != nil {
		res.NotWhole = err.Error()
	}
	start := time.Now()
	res.Start = start
	rec := NewRecorder(start)
	if r.Injector != nil {
		r.Injector.Start = start
	}

	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		r.Load.Run(ctx, r.Duration, rec)
	}()

	var wg sync.WaitGroup
	at := func(d time.Duration, f func()) {
		wg.Go(func() {
			t := time.NewTimer(time.Until(start.Add(d)))
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
				f()
			}
		})
	}
	for i, f := range r.Faults {
		at(f.At, func() {
			h := r.Injector.Inject(ctx, i, f)
			r.log("%5.1fs  %s on %v%s", h.At, h.Spec, h.Targets, errSuffix(h.Error))
			if f.For == 0 {
				return
			}
			t := time.NewTimer(time.Until(start.Add(f.At + f.For)))
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
				if err := r.Injector.Undo(ctx, i, "schedule"); err != nil {
					r.log("%5.1fs  undoing %s: %v", time.Since(start).Seconds(), h.Spec, err)
				} else {
					r.log("%5.1fs  %s undone", time.Since(start).Seconds(), h.Spec)
				}
			}
		})
	}
	if r.ApplyFile != "" {
		at(r.ApplyAt, func() {
			r.log("%5.1fs  apply %s", time.Since(start).Seconds(), r.ApplyFile)
			a := r.Stack.Apply(ctx, r.ApplyFile)
			a.At = r.ApplyAt.Seconds()
			res.Apply = a
			r.log("%5.1fs  apply %s ended (exit %d, %.1fs)", time.Since(start).Seconds(), r.ApplyFile, a.ExitCode, a.Took)
		})
	}

	// Recovery is watched from the end of the faults: first the heal, if
	// asked and needed, then the wait for the stack to be whole.
	recovered := make(chan struct{})
	watched := false // the recovery was watched: the faults' end came
	if len(r.Faults) > 0 {
		end := faultsEnd(r.Faults)
		res.Recovery = &Recovery{FaultsEnded: end.Seconds()}
		go func() {
			defer close(recovered)
			t := time.NewTimer(time.Until(start.Add(end)))
			defer t.Stop()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			wg.Wait() // the schedule's undo steps have run
			// The faults ended when the last one was undone, which takes
			// Docker a moment after its time.
			for _, h := range r.Injector.Hits() {
				if h.Until != nil {
					end = max(end, time.Duration(*h.Until*float64(time.Second)))
				}
			}
			res.Recovery.FaultsEnded = end.Seconds()
			watched = true
			r.recover(ctx, start, end, res.Recovery, loadDone)
		}()
	} else {
		close(recovered)
	}

	<-loadDone
	wg.Wait()
	res.Interrupted = ctx.Err() != nil
	why := "end of run"
	if res.Interrupted {
		why = "interrupt"
	}
	if r.Injector != nil {
		// Undo on a context of its own: Ctrl-C ends ctx, not the undo.
		undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		if err := r.Injector.UndoEvery(undoCtx, why); err != nil {
			res.UndoErrors = append(res.UndoErrors, err.Error())
		}
		cancel()
		res.Hits = r.Injector.Hits()
	}
	<-recovered
	if !watched {
		res.Recovery = nil // interrupted before the faults ended: nothing to say
	}
	res.Totals = rec.Totals()
	res.Seconds = rec.Seconds()
	return res
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}

// recover runs the heal if asked and the stack drifted, then polls until
// the stack is whole: during the load, and for up to RecoveryLimit after
// it (a killed worker without --heal is started again only at the end of
// the run, by the undo).
func (r *Run) recover(ctx context.Context, start time.Time, end time.Duration, rv *Recovery, loadDone <-chan struct{}) {
	since := func() float64 { return time.Since(start).Seconds() }
	if r.Heal {
		drifted, summary, err := r.Stack.Drifted(ctx)
		switch {
		case err != nil:
			rv.Drift = "cannot tell: " + err.Error()
		case drifted:
			rv.Drift = summary
			r.log("%5.1fs  drift: %s; healing with an apply", since(), summary)
			h := r.Stack.Apply(ctx, "")
			h.At = since() - h.Took
			rv.Heal = h
			if h.ExitCode == 0 && r.Injector != nil {
				r.Injector.Healed(since())
			}
			r.log("%5.1fs  heal ended (exit %d, %.1fs)", since(), h.ExitCode, h.Took)
		}
	}
	var deadline <-chan time.Time
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		whole, missing, err := r.Stack.Whole(ctx)
		if err != nil {
			missing = err.Error()
		}
		if whole {
			at := since()
			took := at - end.Seconds()
			rv.WholeAt, rv.Took, rv.Missing = &at, &took, ""
			r.log("%5.1fs  whole again, %.1fs after the faults ended", at, took)
			return
		}
		rv.Missing = missing
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-loadDone:
			loadDone = nil
			deadline = time.After(r.RecoveryLimit)
		case <-tick.C:
		}
	}
}

// String summarises a record for progress lines.
func (a *ApplyRecord) String() string {
	return fmt.Sprintf("apply %s at %.1fs: exit %d after %.1fs", a.File, a.At, a.ExitCode, a.Took)
}
