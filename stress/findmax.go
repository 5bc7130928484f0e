package stress

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Sample is one reading of a container's resources.
type Sample struct {
	CPU time.Duration // CPU time used since the container started
	Mem uint64        // memory in use, bytes
	At  time.Time
}

// Sampler reads a container's resources: Docker's stats.
type Sampler interface {
	Sample(ctx context.Context, id string) (Sample, error)
}

// Watched is a container whose resources a run reads, with its limits.
type Watched struct {
	Object
	Role     string  // "worker", "lb", "consul"
	CPULimit float64 // cores; 0: none
	MemLimit uint64  // bytes; 0: none
}

// Usage is a container's use of resources over a stretch of a run.
type Usage struct {
	Container string  `json:"container"`
	Role      string  `json:"role"`
	CPU       float64 `json:"cpu_cores"`           // average cores used
	CPULimit  float64 `json:"cpu_limit,omitempty"` // cores; absent: none
	MemMB     float64 `json:"mem_mb"`
	MemLimit  float64 `json:"mem_limit_mb,omitempty"`
	// Restarted: the container restarted during the stretch, so its CPU
	// time started again from zero and CPU is not known.
	Restarted bool `json:"restarted,omitempty"`
}

// Meter measures containers' resources between Begin and End, and the
// machine's CPUs and the load generator's own when it runs there.
type Meter struct {
	Sampler Sampler
	Watch   []Watched
	// Host reads the machine's busy and total CPU time (/proc/stat), and
	// Self this process's CPU time; nil where they cannot be read.
	Host func() (busy, total time.Duration, err error)
	Self func() time.Duration

	begin               map[string]Sample
	hostBusy, hostTotal time.Duration
	self                time.Duration
	at                  time.Time
}

func (m *Meter) sampleAll(ctx context.Context) map[string]Sample {
	out := map[string]Sample{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, w := range m.Watch {
		wg.Go(func() {
			s, err := m.Sampler.Sample(ctx, w.ID)
			if err != nil {
				return
			}
			mu.Lock()
			out[w.ID] = s
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// Begin takes the first reading.
func (m *Meter) Begin(ctx context.Context) {
	m.begin = m.sampleAll(ctx)
	m.at = time.Now()
	if m.Host != nil {
		m.hostBusy, m.hostTotal, _ = m.Host()
	}
	if m.Self != nil {
		m.self = m.Self()
	}
}

// Machine is what the machine's CPUs did over a stretch.
type Machine struct {
	// Busy is the fraction of all CPUs busy; LoadGen the cores stress
	// itself used making the load; Other the busy cores neither the
	// stack's containers nor stress account for (the kernel's network
	// stack, docker-proxy, the engine).
	CPUs    int     `json:"cpus"`
	Busy    float64 `json:"cpu_busy"`
	LoadGen float64 `json:"loadgen_cpu_cores"`
	Other   float64 `json:"other_cpu_cores"`
}

// End takes the second reading and returns what each container used,
// busiest first, and the machine's share (nil where unknown).
func (m *Meter) End(ctx context.Context) ([]Usage, *Machine) {
	end := m.sampleAll(ctx)
	wall := time.Since(m.at)
	var out []Usage
	for _, w := range m.Watch {
		a, okA := m.begin[w.ID]
		b, okB := end[w.ID]
		if !okA || !okB || !b.At.After(a.At) {
			continue
		}
		u := Usage{
			Container: w.Name, Role: w.Role, CPULimit: w.CPULimit,
			MemMB: float64(b.Mem) / (1 << 20), MemLimit: float64(w.MemLimit) / (1 << 20),
		}
		if b.CPU < a.CPU {
			u.Restarted = true
		} else {
			u.CPU = float64(b.CPU-a.CPU) / float64(b.At.Sub(a.At))
		}
		out = append(out, u)
	}
	slices.SortStableFunc(out, func(a, b Usage) int {
		switch {
		case a.CPU > b.CPU:
			return -1
		case a.CPU < b.CPU:
			return 1
		}
		return strings.Compare(a.Container, b.Container)
	})
	var mach *Machine
	if m.Host != nil {
		if busy, total, err := m.Host(); err == nil && total > m.hostTotal {
			mach = &Machine{CPUs: runtime.NumCPU(), Busy: float64(busy-m.hostBusy) / float64(total-m.hostTotal)}
			if m.Self != nil && wall > 0 {
				mach.LoadGen = float64(m.Self()-m.self) / float64(wall)
			}
			mach.Other = mach.Busy*float64(mach.CPUs) - mach.LoadGen
			for _, u := range out {
				mach.Other -= u.CPU
			}
			mach.Other = max(0, mach.Other)
		}
	}
	return out, mach
}

// Bottleneck names what limited the rate, from what the containers and
// the machine used at it.
func Bottleneck(us []Usage, mach *Machine) string {
	var workers, workerLimit, lb, consul float64
	n := 0
	for _, u := range us {
		switch u.Role {
		case "worker":
			workers += u.CPU
			workerLimit += u.CPULimit
			n++
		case "lb":
			lb += u.CPU
		case "consul":
			consul += u.CPU
		}
	}
	parts := fmt.Sprintf("workers %.2f cores", workers)
	if workerLimit > 0 {
		parts += fmt.Sprintf(" of their %.2f limit", workerLimit)
	}
	parts += fmt.Sprintf(", LB %.2f, Consul %.2f", lb, consul)
	if mach != nil {
		parts += fmt.Sprintf(", load generator %.2f, the rest (kernel network stack, docker-proxy, engine) %.2f", mach.LoadGen, mach.Other)
	}
	switch {
	case workerLimit > 0 && workers >= 0.85*workerLimit:
		return fmt.Sprintf("the workers' CPU limits (resources.cpus): %s. Raise replicas or resources.cpus.", parts)
	case mach != nil && mach.Busy >= 0.75:
		return fmt.Sprintf("the machine's %d CPUs, %.0f%% busy: %s. The load generator shares the machine with the stack; run it from another machine to see the stack's own limit.", mach.CPUs, 100*mach.Busy, parts)
	case lb >= 0.85:
		return fmt.Sprintf("the LB's CPU: %s. Raise nginx's worker_processes, or add an LB.", parts)
	case consul >= 0.5:
		return fmt.Sprintf("Consul's CPU: %s. Lengthen check intervals or move Consul to its own machine.", parts)
	}
	return fmt.Sprintf("no CPU was saturated (%s): latency or connection limits; see docs/stress.md for somaxconn, the local port range and worker_connections.", parts)
}

// FindMax is what --find-max found.
type FindMax struct {
	ErrorBound float64 `json:"error_bound"`  // the largest failure ratio a sustained rate may have
	P99Bound   float64 `json:"p99_bound_ms"` // and the largest p99
	Steps      []Step  `json:"steps"`
	// Rate is the highest sustained rate, requests per second; 0 when
	// even the first step failed.
	Rate       int       `json:"rate"`
	Bottleneck string    `json:"bottleneck"`
	Usage      []Usage   `json:"usage,omitempty"` // at the first rate that was not sustained
	Machine    *Machine  `json:"machine,omitempty"`
	StartedAt  time.Time `json:"started_at"`
}

// Step is one rate tried.
type Step struct {
	Rate       int     `json:"rate"`
	Sent       float64 `json:"sent_rate"`
	Requests   uint64  `json:"requests"`
	ErrorRatio float64 `json:"error_ratio"`
	P99        float64 `json:"p99_ms"`
	Throughput float64 `json:"throughput"`
	Sustained  bool    `json:"sustained"`
	Why        string  `json:"why,omitempty"` // why not
	// Retried: this step was not sustained and its rate was tried again
	// at once (the next step); only the second try's verdict counts.
	Retried bool `json:"retried,omitempty"`
}

// Search is a --find-max run: rates raised by Factor from Start until a
// step is not sustained, then bisected between the last good and the
// first bad rate until they are within 5% or the time is spent. A step
// that fails is tried once more before its rate counts as not sustained:
// on a machine the generator shares with the stack (and with whatever else
// runs there), one 5-second step can fail for a burst of someone else's
// CPU, and a search that believed it would never look above that rate
// again (measured: the same stack's answer ranged 3,943 to 5,377/s in three
// rounds before, see docs/stress.md).
type Search struct {
	Load       Load // Rate is set per step
	Start      int
	Factor     float64
	StepFor    time.Duration
	Budget     time.Duration // all steps together
	ErrorBound float64
	P99Bound   time.Duration
	Meter      *Meter
	Log        func(format string, args ...any)
	// Rest is the pause between two steps, for queues to drain.
	Rest time.Duration

	// measure tries one rate for d; nil is s.step. Tests replace it.
	measure func(ctx context.Context, rate int, d time.Duration) (Step, []Usage, *Machine)
}

func (s *Search) step(ctx context.Context, rate int, d time.Duration) (Step, []Usage, *Machine) {
	l := s.Load
	l.Rate, l.Connections = float64(rate), 0
	rec := NewRecorder(time.Now())
	if s.Meter != nil {
		s.Meter.Begin(ctx)
	}
	l.Run(ctx, d, rec)
	var us []Usage
	var mach *Machine
	if s.Meter != nil {
		us, mach = s.Meter.End(ctx)
	}
	t := rec.Totals()
	st := Step{Rate: rate, Sent: t.Rate, Requests: t.Requests, P99: t.Latency.P99, Throughput: t.Throughput}
	if t.Requests > 0 {
		st.ErrorRatio = float64(t.Requests-t.Successes) / float64(t.Requests)
	}
	bound := ms(s.P99Bound)
	switch {
	case t.Requests == 0:
		st.Why = "no request was sent"
	case st.ErrorRatio > s.ErrorBound:
		st.Why = fmt.Sprintf("%.2f%% failed (bound %.2f%%): %s", 100*st.ErrorRatio, 100*s.ErrorBound, failureList(t.Failures))
	case st.P99 > bound:
		st.Why = fmt.Sprintf("p99 %s (bound %s)", msText(st.P99), msText(bound))
	case st.Sent < 0.95*float64(rate):
		st.Why = fmt.Sprintf("only %.0f/s could be sent: every client was waiting for an answer", st.Sent)
	default:
		st.Sustained = true
	}
	if s.Log != nil {
		verdict := "sustained"
		if !st.Sustained {
			verdict = "not sustained: " + st.Why
		}
		s.Log("%6d/s  p99 %-7s %s", rate, msText(st.P99), verdict)
	}
	return st, us, mach
}

// Run searches for the highest sustained rate.
func (s *Search) Run(ctx context.Context) *FindMax {
	fm := &FindMax{ErrorBound: s.ErrorBound, P99Bound: ms(s.P99Bound), StartedAt: time.Now().UTC(), Steps: []Step{}}
	deadline := time.Now().Add(s.Budget)
	good, bad := 0, 0
	measure := s.measure
	if measure == nil {
		measure = s.step
	}
	pause := func() { // let queues drain before the next step
		select {
		case <-ctx.Done():
		case <-time.After(s.Rest):
		}
	}
	try := func(rate int, d time.Duration) bool {
		st, us, mach := measure(ctx, rate, d)
		if !st.Sustained && st.Requests > 0 && ctx.Err() == nil && time.Now().Add(d).Before(deadline) {
			st.Retried = true
			fm.Steps = append(fm.Steps, st)
			if s.Log != nil {
				s.Log("%6d/s  trying once more", rate)
			}
			pause()
			st, us, mach = measure(ctx, rate, d)
		}
		fm.Steps = append(fm.Steps, st)
		// Usage is kept from the lowest rate that was not sustained: what
		// ran out there is the bottleneck. Until one fails, from the
		// busiest that was.
		if st.Sustained {
			good = max(good, rate)
			if bad == 0 {
				fm.Usage, fm.Machine = us, mach
			}
		} else {
			bad = rate
			fm.Usage, fm.Machine = us, mach
		}
		pause()
		return st.Sustained
	}
	for rate := s.Start; ctx.Err() == nil && time.Now().Add(s.StepFor).Before(deadline); {
		if !try(rate, s.StepFor) {
			break
		}
		next := int(float64(rate) * s.Factor)
		if next > MaxRate {
			break
		}
		rate = next
	}
	// Near the knee each step runs twice as long: a rate a little above
	// what the stack answers builds a queue that a short step ends before
	// it shows (over a step of T, p99 passes the bound B only from about
	// (1 + B/T) times the capacity: 1.1 at 5 s, 1.05 at 10 s), and a
	// longer step averages out more of a shared machine's noise.
	knee := 2 * s.StepFor
	for bad > 0 && good > 0 && float64(bad-good) > 0.05*float64(good) && ctx.Err() == nil && time.Now().Add(knee).Before(deadline) {
		try((good+bad)/2, knee)
	}
	fm.Rate = good
	fm.Bottleneck = Bottleneck(fm.Usage, fm.Machine)
	return fm
}

func (f *FindMax) human(b *strings.Builder) {
	fmt.Fprintf(b, "\nfind-max (sustained: at most %.2f%% failed and p99 at most %s)\n", 100*f.ErrorBound, msText(f.P99Bound))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  rate/s\tsent/s\tfailed\tp99\t\n")
	for _, s := range f.Steps {
		verdict := "sustained"
		if !s.Sustained {
			verdict = s.Why
		}
		fmt.Fprintf(tw, "  %d\t%.0f\t%.2f%%\t%s\t%s\n", s.Rate, s.Sent, 100*s.ErrorRatio, msText(s.P99), verdict)
	}
	tw.Flush()
	if f.Rate == 0 {
		b.WriteString("no rate was sustained, not even the first\n")
	} else {
		fmt.Fprintf(b, "highest sustained rate: %d requests/s\n", f.Rate)
	}
	fmt.Fprintf(b, "bottleneck: %s\n", f.Bottleneck)
}

// usageTable lists the containers, busiest first; past the third worker,
// the rest of the workers are summed up on one line.
func usageTable(w io.Writer, us []Usage) {
	const shownWorkers = 3
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  container\trole\tcpu cores\tmemory\t\n")
	workers, restN := 0, 0
	var restCPU, restMem float64
	for _, u := range us {
		if u.Role == "worker" {
			if workers++; workers > shownWorkers {
				restN++
				restCPU += u.CPU
				restMem = max(restMem, u.MemMB)
				continue
			}
		}
		cpu := fmt.Sprintf("%.2f", u.CPU)
		if u.CPULimit > 0 {
			cpu += fmt.Sprintf(" of %.2f", u.CPULimit)
		}
		if u.Restarted {
			cpu = "(restarted)"
		}
		mem := fmt.Sprintf("%.0f MB", u.MemMB)
		if u.MemLimit > 0 {
			mem += fmt.Sprintf(" of %.0f", u.MemLimit)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\n", u.Container, u.Role, cpu, mem)
	}
	if restN > 0 {
		fmt.Fprintf(tw, "  %d more workers\tworker\t%.2f in all\tup to %.0f MB each\t\n", restN, restCPU, restMem)
	}
	tw.Flush()
}
