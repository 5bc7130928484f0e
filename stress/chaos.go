// Package stress puts load on a stack's own load balancer, injects faults
// into the stack's own containers while it does, and reports what clients
// saw: failures by kind, latency percentiles and throughput over time, the
// faults, how long the stack took to be whole again, and advice computed
// from what failed.
//
// The load is vegeta's (as a library); Docker is reached only through the
// small Engine interface, Consul's KV through KV, so the package is tested
// with fakes and run against the real engine by cmd/stackctl.
package stress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The faults stress can inject. Worker faults hit Count workers; the others
// hit one container (or host) of the stack.
const (
	Kill          Kind = "kill"           // SIGKILL a worker's process: a crash; Docker's restart policy brings it back
	Pause         Kind = "pause"          // freeze a worker (a hung process) for For
	Disconnect    Kind = "disconnect"     // take a worker off the stack network (an outage) for For
	CutConsul     Kind = "cut-consul"     // Consul cannot reach the worker, the LB still can, for For
	RestartConsul Kind = "restart-consul" // restart the stack's Consul server
	RestartLB     Kind = "restart-lb"     // restart the LB container
	StopHost      Kind = "stop-host"      // stop a Docker host of a multi-host stack
)

// kinds lists every kind with what its spelling takes.
var kinds = map[Kind]struct {
	workers  bool // hits Count workers
	lasting  bool // lasts For, then is undone
	describe string
}{
	Kill:          {workers: true, describe: "kill=N@AT"},
	Pause:         {workers: true, lasting: true, describe: "pause=N@AT:FOR"},
	Disconnect:    {workers: true, lasting: true, describe: "disconnect=N@AT:FOR"},
	CutConsul:     {workers: true, lasting: true, describe: "cut-consul=N@AT:FOR"},
	RestartConsul: {describe: "restart-consul@AT"},
	RestartLB:     {describe: "restart-lb@AT"},
	StopHost:      {lasting: true, describe: "stop-host=HOST@AT:FOR"},
}

// KindNames is every kind's spelling, for help texts.
func KindNames() []string {
	var out []string
	for _, v := range kinds {
		out = append(out, v.describe)
	}
	slices.Sort(out)
	return out
}

// WorkerFault reports whether the kind hits workers.
func (k Kind) WorkerFault() bool { return kinds[k].workers }

// Lasting reports whether the kind lasts a time and is then undone.
func (k Kind) Lasting() bool { return kinds[k].lasting }

// Fault is one scheduled fault.
type Fault struct {
	Kind  Kind          `json:"kind"`
	Count int           `json:"count,omitempty"` // workers hit (worker faults)
	Host  string        `json:"host,omitempty"`  // stop-host
	At    time.Duration `json:"-"`               // after the load started
	For   time.Duration `json:"-"`               // 0: instant
}

// String is the fault in the --chaos spelling: "disconnect=3@5s:10s".
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	switch {
	case f.Kind.WorkerFault():
		fmt.Fprintf(&b, "=%d", f.Count)
	case f.Host != "":
		b.WriteString("=" + f.Host)
	}
	b.WriteString("@" + shortDuration(f.At))
	if f.For > 0 {
		b.WriteString(":" + shortDuration(f.For))
	}
	return b.String()
}

// shortDuration is "10s" rather than time.Duration's "10.000s" or "10s0ms".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}

// DefaultFor is how long a lasting fault lasts when its spelling says not.
const DefaultFor = 10 * time.Second

// ParseChaos reads --chaos values: comma-separated faults spelled
// KIND[=N|=HOST][@AT[:FOR]], such as "kill=5@10s" or "disconnect=3@5s:10s".
// N defaults to 1, AT to a third of the run, FOR to DefaultFor. Every fault
// must end before the run does, so that the run sees the recovery.
func ParseChaos(values []string, run time.Duration) ([]Fault, error) {
	var faults []Fault
	for _, v := range values {
		for _, one := range strings.Split(v, ",") {
			one = strings.TrimSpace(one)
			if one == "" {
				continue
			}
			f, err := parseFault(one, run)
			if err != nil {
				return nil, fmt.Errorf("--chaos %q: %w", one, err)
			}
			faults = append(faults, f)
		}
	}
	SortFaults(faults)
	return faults, nil
}

// Chaos reads every --chaos value: the faults ParseChaos reads, and
// random=N (N faults drawn by RandomFaults from seed over a stack of the
// given number of workers; "random" alone is random=3).
func Chaos(values []string, run time.Duration, seed uint64, workers int) ([]Fault, error) {
	var fixed []string
	random := 0
	for _, v := range values {
		for _, one := range strings.Split(v, ",") {
			one = strings.TrimSpace(one)
			n, ok := strings.CutPrefix(one, "random")
			if !ok {
				fixed = append(fixed, one)
				continue
			}
			count := 3
			if n != "" {
				c, err := strconv.Atoi(strings.TrimPrefix(n, "="))
				if err != nil || c < 1 || !strings.HasPrefix(n, "=") {
					return nil, fmt.Errorf("--chaos %q: random=N with N at least 1", one)
				}
				count = c
			}
			random += count
		}
	}
	faults, err := ParseChaos(fixed, run)
	if err != nil {
		return nil, err
	}
	if random > 0 {
		faults = append(faults, RandomFaults(seed, random, run, workers)...)
		SortFaults(faults)
	}
	return faults, nil
}

func parseFault(s string, run time.Duration) (Fault, error) {
	head, when, hasWhen := strings.Cut(s, "@")
	name, arg, hasArg := strings.Cut(head, "=")
	k := Kind(name)
	info, ok := kinds[k]
	if !ok {
		return Fault{}, fmt.Errorf("unknown fault %q; the faults are %s", name, strings.Join(KindNames(), ", "))
	}
	f := Fault{Kind: k, At: run / 3}
	switch {
	case info.workers:
		f.Count = 1
		if hasArg {
			n, err := strconv.Atoi(arg)
			if err != nil || n < 1 {
				return Fault{}, fmt.Errorf("%s=%s: the number of workers must be a whole number of at least 1", name, arg)
			}
			f.Count = n
		}
	case k == StopHost:
		if !hasArg || arg == "" {
			return Fault{}, errors.New("stop-host needs the host's name: stop-host=HOST@AT:FOR")
		}
		f.Host = arg
	case hasArg:
		return Fault{}, fmt.Errorf("%s takes no =%s; spell it %s", name, arg, info.describe)
	}
	if info.lasting {
		f.For = DefaultFor
	}
	if hasWhen {
		at, length, hasLength := strings.Cut(when, ":")
		d, err := time.ParseDuration(at)
		if err != nil || d < 0 {
			return Fault{}, fmt.Errorf("@%s: not a time after the start such as 10s", at)
		}
		f.At = d
		if hasLength {
			if !info.lasting {
				return Fault{}, fmt.Errorf("%s is instant and takes no :%s; spell it %s", name, length, info.describe)
			}
			d, err := time.ParseDuration(length)
			if err != nil || d <= 0 {
				return Fault{}, fmt.Errorf(":%s: not a length such as 10s", length)
			}
			f.For = d
		}
	}
	if end := f.At + f.For; end >= run {
		return Fault{}, fmt.Errorf("it ends at %s, not before the run does (--duration %s): leave time to see the recovery", shortDuration(end), shortDuration(run))
	}
	return f, nil
}

// SortFaults orders faults by start, then spelling, so a schedule reads
// and runs in one order.
func SortFaults(fs []Fault) {
	slices.SortStableFunc(fs, func(a, b Fault) int {
		if a.At != b.At {
			return int(a.At - b.At)
		}
		return strings.Compare(a.String(), b.String())
	})
}

// RandomFaults draws n faults from seed for a run of the given length over
// a stack of the given number of workers: kills, pauses and disconnects of
// up to a quarter of the workers, between 10% and 60% of the run, lasting
// up to a fifth of it, so the run always sees the recovery. The same seed
// and arguments give the same schedule.
func RandomFaults(seed uint64, n int, run time.Duration, workers int) []Fault {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	pool := []Kind{Kill, Pause, Disconnect}
	most := max(1, workers/4)
	faults := make([]Fault, 0, n)
	for range n {
		f := Fault{Kind: pool[r.IntN(len(pool))], Count: 1 + r.IntN(most)}
		f.At = (run/10 + time.Duration(r.Int64N(int64(run/2)))).Truncate(time.Second)
		if f.Kind.Lasting() {
			f.For = max(time.Second, time.Duration(r.Int64N(int64(run/5))).Truncate(time.Second))
		}
		faults = append(faults, f)
	}
	SortFaults(faults)
	return faults
}

// Victims picks count of names for fault number i of a run with seed:
// the same seed, fault and names give the same victims, whatever else the
// run does. Names already hit by a fault that is still on (busy) are left
// out, so two faults never fight over one worker; fewer than count come
// back when too few are free.
func Victims(seed uint64, i int, names []string, busy map[string]bool, count int) []string {
	free := make([]string, 0, len(names))
	for _, n := range names {
		if !busy[n] {
			free = append(free, n)
		}
	}
	slices.Sort(free)
	r := rand.New(rand.NewPCG(seed, uint64(i)+1))
	r.Shuffle(len(free), func(a, b int) { free[a], free[b] = free[b], free[a] })
	free = free[:min(count, len(free))]
	slices.Sort(free)
	return free
}
