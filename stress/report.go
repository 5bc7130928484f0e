package stress

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// FormatVersion is the version of the --json report (docs/stress-json.md).
const FormatVersion = 1

// Report is a stress run as --json prints it.
type Report struct {
	FormatVersion int    `json:"format_version"`
	Stack         string `json:"stack"`
	Target        Target `json:"target"`
	Model         string `json:"model"`                 // "open" or "closed"
	RateAsked     int    `json:"rate_asked,omitempty"`  // requests per second (open model)
	Connections   int    `json:"connections,omitempty"` // clients (closed model)
	Pool          int    `json:"pool,omitempty"`        // the open model's connection pool
	KeepAlive     bool   `json:"keepalive"`
	Path          string `json:"path"`
	// TimeoutS and DurationS are in seconds: the client's timeout and the
	// length of the load asked for.
	TimeoutS    float64   `json:"timeout_s"`
	DurationS   float64   `json:"duration_s"`
	Seed        uint64    `json:"seed"`
	StartedAt   time.Time `json:"started_at"`
	Interrupted bool      `json:"interrupted"`

	Totals
	SuccessRatio float64  `json:"success_ratio"`
	Seconds      []Second `json:"seconds"`

	// WholeAtStart: the stack served its full passing set before the load;
	// NotWholeAtStart says what it lacked otherwise.
	WholeAtStart    bool   `json:"whole_at_start"`
	NotWholeAtStart string `json:"not_whole_at_start,omitempty"`
	Faults          []Hit  `json:"faults"`
	// Unattributed are the failures while no fault was on.
	Unattributed map[string]uint64 `json:"failures_without_fault"`
	Apply        *ApplyRecord      `json:"apply,omitempty"`
	Recovery     *Recovery         `json:"recovery,omitempty"`
	UndoErrors   []string          `json:"undo_errors,omitempty"`
	FindMax      *FindMax          `json:"find_max,omitempty"`
	Usage        []Usage           `json:"usage,omitempty"`
	Advice       []string          `json:"advice"`
}

// NewReport builds the report of a run.
func NewReport(stack string, run *Run, seed uint64, res *Result) *Report {
	rep := &Report{
		FormatVersion: FormatVersion,
		Stack:         stack,
		Target:        run.Load.Target,
		Model:         run.Load.Model(),
		KeepAlive:     run.Load.KeepAlive,
		Path:          run.Load.Path,
		TimeoutS:      run.Load.Timeout.Seconds(),
		DurationS:     run.Duration.Seconds(),
		Seed:          seed,
		StartedAt:     res.Start.UTC(),
		Interrupted:   res.Interrupted,
		Totals:        res.Totals,
		Seconds:       res.Seconds,
		WholeAtStart:  res.WholeAtStart,
		Faults:        res.Hits,
		Apply:         res.Apply,
		Recovery:      res.Recovery,
		UndoErrors:    res.UndoErrors,
	}
	if rep.Model == "open" {
		rep.RateAsked = int(run.Load.Rate + 0.5)
		rep.Pool = run.Load.pool()
	} else {
		rep.Connections = run.Load.Connections
	}
	if !res.WholeAtStart {
		rep.NotWholeAtStart = res.NotWhole
	}
	if rep.Faults == nil {
		rep.Faults = []Hit{}
	}
	if rep.Seconds == nil {
		rep.Seconds = []Second{}
	}
	if rep.Requests > 0 {
		rep.SuccessRatio = float64(rep.Successes) / float64(rep.Requests)
	}
	rep.Unattributed = attribute(rep.Faults, rep.Seconds, rep.DurationS)
	rep.Advice = Advise(rep)
	return rep
}

// attribute counts each second's failures against the fault that was on
// then (or had just ended, within AfterEffect), the earliest first when
// several were; it returns the failures no fault explains.
func attribute(hits []Hit, secs []Second, run float64) map[string]uint64 {
	rest := map[string]uint64{}
	for i := range hits {
		hits[i].Failures = map[string]uint64{}
	}
	for _, s := range secs {
		owner := -1
		for i, h := range hits {
			end := run
			if h.Until != nil {
				end = *h.Until
			} else if !h.Kind.Lasting() {
				end = h.At
			}
			from, to := int(h.At), int(end+AfterEffect.Seconds())
			if s.T >= from && s.T <= to {
				owner = i
				break
			}
		}
		for k, n := range s.Failures {
			if owner >= 0 {
				hits[owner].Failures[k] += n
			} else {
				rest[k] += n
			}
		}
	}
	return rest
}

// JSON writes the report as one indented JSON document.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Failed is the number of requests that failed.
func (r *Report) Failed() uint64 { return r.Requests - r.Successes }

// Human writes the report for people.
func (r *Report) Human(w io.Writer) error {
	var b strings.Builder
	load := fmt.Sprintf("%d requests/s over up to %d connections", r.RateAsked, r.Pool)
	if r.Model == "closed" {
		load = fmt.Sprintf("%d connections", r.Connections)
	}
	ka := "keep-alive"
	if !r.KeepAlive {
		ka = "a new connection per request"
	}
	fmt.Fprintf(&b, "stress %s: %s model, %s for %s, GET %s at %s (%s), %s\n", r.Stack, r.Model, load, shortDuration(time.Duration(r.DurationS*float64(time.Second))), r.Path, r.Target.Addr, r.Target.Via, ka)
	if r.Interrupted {
		b.WriteString("interrupted: the figures cover the run until Ctrl-C\n")
	}
	if !r.WholeAtStart {
		fmt.Fprintf(&b, "note: the stack was not whole when the load began: %s\n", r.NotWholeAtStart)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "requests\t%d\tsent at %.1f/s\n", r.Requests, r.Rate)
	fmt.Fprintf(tw, "successes\t%d\t%.2f%%, %.1f/s\n", r.Successes, 100*r.SuccessRatio, r.Throughput)
	fmt.Fprintf(tw, "failures\t%d\t%s\n", r.Failed(), failureList(r.Failures))
	l := r.Latency
	fmt.Fprintf(tw, "latency\tp50 %s\tp90 %s  p99 %s  max %s\n", msText(l.P50), msText(l.P90), msText(l.P99), msText(l.Max))
	if r.FirstFailure != nil {
		fmt.Fprintf(tw, "failing\tfrom %.1fs\tto %.1fs\n", *r.FirstFailure, *r.LastFailure)
	}
	tw.Flush()
	if len(r.Faults) > 0 {
		b.WriteString("\nfaults\n")
		for _, h := range r.Faults {
			until := ""
			if h.Until != nil {
				until = fmt.Sprintf(", undone at %.1fs (%s)", *h.Until, h.UndoneBy)
			}
			fmt.Fprintf(&b, "  %5.1fs  %-22s %s%s%s\n", h.At, h.Spec, strings.Join(h.Targets, " "), until, errSuffix(h.Error))
			fmt.Fprintf(&b, "          failures while it was on: %s\n", failureList(h.Failures))
		}
		if len(r.Unattributed) > 0 {
			fmt.Fprintf(&b, "  failures while no fault was on: %s\n", failureList(r.Unattributed))
		}
	}
	if r.Apply != nil {
		fmt.Fprintf(&b, "\n%s\n", r.Apply)
		if r.Apply.Output != "" {
			b.WriteString(indent(r.Apply.Output, "  | "))
		}
	}
	if rv := r.Recovery; rv != nil {
		b.WriteString("\nrecovery\n")
		fmt.Fprintf(&b, "  the faults ended at %.1fs\n", rv.FaultsEnded)
		if rv.Drift != "" {
			fmt.Fprintf(&b, "  the plan then had changes: %s\n", rv.Drift)
		}
		if rv.Heal != nil {
			fmt.Fprintf(&b, "  healed by %s\n", rv.Heal)
		}
		if rv.WholeAt != nil {
			fmt.Fprintf(&b, "  whole again at %.1fs: %.1fs after the faults ended\n", *rv.WholeAt, *rv.Took)
		} else {
			fmt.Fprintf(&b, "  NOT whole again: %s\n", rv.Missing)
		}
	}
	for _, e := range r.UndoErrors {
		fmt.Fprintf(&b, "\nNOT UNDONE (recorded; the next stackctl apply, destroy or stress tries again): %s\n", e)
	}
	if r.FindMax != nil {
		r.FindMax.human(&b)
	}
	if len(r.Usage) > 0 {
		b.WriteString("\nresources during the run (busiest first)\n")
		usageTable(&b, r.Usage)
	}
	b.WriteString("\nadvice\n")
	for _, a := range r.Advice {
		fmt.Fprintf(&b, "  - %s\n", a)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func msText(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0fms", v)
	}
	return fmt.Sprintf("%.1fms", v)
}

func failureList(f map[string]uint64) string {
	if len(f) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range FailureKinds(f) {
		parts = append(parts, fmt.Sprintf("%s %d", k, f[k]))
	}
	return strings.Join(parts, ", ")
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}
