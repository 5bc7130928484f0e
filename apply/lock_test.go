package apply

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// here is the machine and pid namespace the lock tests run in.
var here = process{Host: "vm", BootID: "boot-a", PIDNamespace: "pid:[4026531836]", PID: 100, Start: 5}

// processes is a process table: pid → start time.
type processes map[int]uint64

func (p processes) alive(pid int, start uint64) bool {
	s, ok := p[pid]
	return ok && s == start
}

func TestHolderGone(t *testing.T) {
	running := processes{4242: 777}
	holder := func(boot, ns string, pid int, start uint64) LockHolder {
		return LockHolder{Holder: "root@vm pid 4242", BootID: boot, PIDNamespace: ns, PID: pid, PIDStart: start}
	}
	for _, tc := range []struct {
		name   string
		holder LockHolder
		here   process
		gone   bool
	}{
		{"same machine, pid gone", holder("boot-a", here.PIDNamespace, 4343, 777), here, true},
		{"same machine, pid alive with its start time", holder("boot-a", here.PIDNamespace, 4242, 777), here, false},
		{"pid reused by a process started later", holder("boot-a", here.PIDNamespace, 4242, 700), here, true},
		{"another machine (or this one before a reboot)", holder("boot-b", here.PIDNamespace, 4343, 777), here, false},
		{"another pid namespace (another container)", holder("boot-a", "pid:[4026532999]", 4343, 777), here, false},
		{"a value without the new fields", LockHolder{Holder: "root@vm pid 4343"}, here, false},
		{"no start time", holder("boot-a", here.PIDNamespace, 4343, 0), here, false},
		{"no pid", holder("boot-a", here.PIDNamespace, 0, 777), here, false},
		{"this process knows no boot ID", holder("", here.PIDNamespace, 4343, 777), process{PIDNamespace: here.PIDNamespace}, false},
	} {
		if got := holderGone(tc.holder, tc.here, running.alive); got != tc.gone {
			t.Errorf("%s: holderGone = %v, want %v", tc.name, got, tc.gone)
		}
	}
}

// notes records a run's notes.
type notes struct {
	nopProgress
	mu    sync.Mutex
	lines []string
}

func (n *notes) Note(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lines = append(n.lines, msg)
}

func (n *notes) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.lines, "\n")
}

// lockTaker is an executor on machine `here` whose lock holders' processes
// are looked up in procs.
func (w *world) lockTaker(t *testing.T, procs processes, opts Options) (*Executor, *notes) {
	t.Helper()
	quiet := settleQuiet
	settleQuiet = 10 * time.Millisecond
	t.Cleanup(func() { settleQuiet = quiet })
	n := &notes{}
	opts.Lock, opts.Progress = true, n
	e := w.executor(stackFile(t, 4, "primes:v1", "start-first", "rollback", 2), opts)
	e.lock.self, e.lock.alive = here, procs.alive
	return e, n
}

const unitLock = "stackctl/unit/lock"

// A holder on this machine whose process is gone is taken over at once,
// without waiting, and the note says who it was.
func TestDeadHolderHereIsTakenOverAtOnce(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 4, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	dead := LockHolder{Holder: "root@vm pid 4242", Since: time.Now(), Operation: "apply",
		BootID: here.BootID, PIDNamespace: here.PIDNamespace, PID: 4242, PIDStart: 777}
	session := w.holdLock(unitLock, dead)
	e, n := w.lockTaker(t, processes{4242: 900}, Options{}) // pid 4242 now is another process
	start := time.Now()
	if _, err := e.Prepare(context.Background(), w.observe(t, s)); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	defer e.Unlock()
	if took := time.Since(start); took > time.Second {
		t.Errorf("the takeover took %s", took)
	}
	if !strings.Contains(n.String(), "the lock's holder root@vm pid 4242 (apply since ") || !strings.Contains(n.String(), "is gone; took the lock over") ||
		!strings.Contains(n.String(), "for the Docker requests of the interrupted apply to land") {
		t.Errorf("notes do not tell of the takeover:\n%s", n)
	}
	if w.sessions[unitLock] == session || w.held[unitLock] == nil {
		t.Errorf("the lock is still held by session %s", w.sessions[unitLock])
	}
}

// A kill -9 of an apply leaves its journal and its lock; the next apply on
// the same machine takes the lock over and rolls the journal back.
func TestKilledApplyIsTakenOverAndRolledBack(t *testing.T) {
	from := stackFile(t, 6, "primes:v1", "start-first", "rollback", 2)
	to := stackFile(t, 8, "primes:v2", "start-first", "rollback", 2)
	w := testWorld()
	mustApply(t, w, from)
	before := w.snapshot()
	killed := w.executor(to, Options{Lock: true})
	killed.faults.crashAfter = 3
	killed.lock.self = process{Host: "vm", BootID: here.BootID, PIDNamespace: here.PIDNamespace, PID: 4242, Start: 777}
	state := w.observe(t, to)
	if _, err := killed.Prepare(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	lockValue := w.locks[unitLock]
	if r := killed.Run(context.Background(), plan.Compute(to, state), state); !errors.Is(r.Err, ErrCrashed) {
		t.Fatalf("crash: %v", r.Err)
	}
	// Run let go of the lock; a killed process would not have.
	w.holdLock(unitLock, decodeHolder(lockValue))

	e, n := w.lockTaker(t, processes{}, Options{})
	rec, err := e.Prepare(context.Background(), w.observe(t, from))
	e.Unlock()
	if err != nil || rec == nil || rec.Recovered != RecoveredRolledBack || rec.RollbackErr != nil {
		t.Fatalf("recovery: %v %+v", err, rec)
	}
	if !strings.Contains(n.String(), "is gone; took the lock over") || !strings.Contains(n.String(), "did not finish; rolling it back") {
		t.Errorf("notes do not tell of the takeover:\n%s", n)
	}
	if after := w.snapshot(); after != before {
		t.Fatalf("state after the takeover and rollback differs:\n%s", diffLines(before, after))
	}
}

func TestLiveOrUnknownHolderIsWaitedFor(t *testing.T) {
	live := LockHolder{Holder: "root@vm pid 4242", Operation: "apply", BootID: here.BootID, PIDNamespace: here.PIDNamespace, PID: 4242, PIDStart: 777}
	elsewhere := live
	elsewhere.Holder, elsewhere.BootID = "root@other pid 4242", "boot-b"
	old := LockHolder{Holder: "root@vm pid 4242", Operation: "apply"}
	for _, tc := range []struct {
		name   string
		holder LockHolder
	}{{"alive here", live}, {"on another machine", elsewhere}, {"old value", old}} {
		w := testWorld()
		session := w.holdLock(unitLock, tc.holder)
		e, n := w.lockTaker(t, processes{4242: 777}, Options{LockTimeout: 50 * time.Millisecond})
		err := e.lock.take(context.Background(), fakeConsul{w})
		var le *LockedError
		if !errors.As(err, &le) || le.ID != session || le.Holder.Holder != tc.holder.Holder {
			t.Fatalf("%s: error %v, want a LockedError with lock ID %s", tc.name, err, session)
		}
		if !strings.Contains(err.Error(), "lock ID "+session) || !strings.Contains(err.Error(), "stackctl unlock "+session) {
			t.Errorf("%s: message %q does not give the lock ID", tc.name, err)
		}
		want := "stack unit: waiting for the lock held by " + tc.holder.Holder + " (apply), up to 50ms"
		if n.String() != want {
			t.Errorf("%s: notes\n%s\nwant\n%s", tc.name, n, want)
		}
		if w.sessions[unitLock] != session {
			t.Errorf("%s: the holder lost its lock", tc.name)
		}
	}
}

// A holder here that dies while another apply waits for it is taken over
// at the next look at its process, not after Consul's TTL.
func TestHolderDyingDuringTheWaitIsTakenOver(t *testing.T) {
	defer func(d time.Duration) { lockRecheck = d }(lockRecheck)
	lockRecheck = 20 * time.Millisecond
	w := testWorld()
	w.holdLock(unitLock, LockHolder{Holder: "root@vm pid 4242", BootID: here.BootID, PIDNamespace: here.PIDNamespace, PID: 4242, PIDStart: 777})
	var mu sync.Mutex
	procs := processes{4242: 777}
	e, n := w.lockTaker(t, nil, Options{LockTimeout: 10 * time.Second})
	e.lock.alive = func(pid int, start uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		return procs.alive(pid, start)
	}
	time.AfterFunc(100*time.Millisecond, func() {
		mu.Lock()
		defer mu.Unlock()
		delete(procs, 4242)
	})
	start := time.Now()
	if err := e.lock.take(context.Background(), fakeConsul{w}); err != nil {
		t.Fatal(err)
	}
	defer e.Unlock()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took the lock after %s", took)
	}
	if !strings.Contains(n.String(), "waiting for the lock") || !strings.Contains(n.String(), "took the lock over") {
		t.Errorf("notes:\n%s", n)
	}
}

// unlock: ReadLock shows the holder and the journal left; BreakLock
// refuses another ID and releases the lock for the right one.
func TestBreakLockNeedsTheHeldLocksID(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 4, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	w.kv["stackctl/unit/journal"] = []byte(`{"format_version":1,"apply_id":"abc","operation":"apply","steps":[]}`)
	session := w.holdLock(unitLock, LockHolder{Holder: "root@other pid 1", BootID: "boot-b", PIDNamespace: "x", PID: 1, PIDStart: 1})
	e, _ := w.lockTaker(t, processes{}, Options{})
	e.opts.Lock = false
	info, err := e.ReadLock(context.Background(), w.observe(t, s))
	if err != nil || info == nil || info.ID != session || info.Here || info.Gone || info.Journal == nil || info.Journal.ApplyID != "abc" {
		t.Fatalf("ReadLock: %+v, %v", info, err)
	}
	var lc *LockChangedError
	if err := e.BreakLock(context.Background(), "session-other"); !errors.As(err, &lc) || lc.Now != session {
		t.Fatalf("BreakLock with another ID: %v", err)
	}
	if err := e.BreakLock(context.Background(), session); err != nil {
		t.Fatal(err)
	}
	if info, err := e.ReadLock(context.Background(), w.observe(t, s)); info != nil || err != nil {
		t.Errorf("after BreakLock the lock is held: %+v, %v", info, err)
	}
	if w.kv["stackctl/unit/journal"] == nil {
		t.Errorf("BreakLock removed the journal")
	}
}

// Containers created and never started are an interrupted apply's: Prepare
// waits until the stack's containers stop changing, and asks the caller to
// observe again.
func TestNeverStartedContainersAreWaitedForToSettle(t *testing.T) {
	w := testWorld()
	s := stackFile(t, 2, "primes:v1", "start-first", "rollback", 2)
	mustApply(t, w, s)
	w.mu.Lock()
	for _, c := range w.containers {
		if c.Name == "unit-web-2" {
			c.State = plan.ContainerCreated
		}
	}
	w.mu.Unlock()
	e, n := w.lockTaker(t, processes{}, Options{})
	rec, err := e.Prepare(context.Background(), w.observe(t, s))
	e.Unlock()
	if err != nil || rec == nil || rec.Recovered != RecoveredSettled {
		t.Fatalf("prepare: %+v, %v; want a report saying it settled", rec, err)
	}
	if !strings.Contains(n.String(), "waited ") {
		t.Errorf("notes:\n%s", n)
	}
}
