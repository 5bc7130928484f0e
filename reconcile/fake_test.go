package reconcile

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/planfake"
	"github.com/stackctl/stackctl/spec"
)

// The loop's fakes: a repository in memory, the fake engine and Consul of
// plan/planfake behind a Deployer, a KV and a clock that moves only when a
// test says so.

// stackYAML is a stack file of one service.
func stackYAML(replicas int, image string) string {
	return fmt.Sprintf(`version: 1
name: t
consul:
  ports: ["127.0.0.1:8500:8500"]
services:
  web:
    image: %s
    replicas: %d
    port: 5000
`, image, replicas)
}

// fakeRepo is a ref and its commits, each holding a stack file.
type fakeRepo struct {
	mu       sync.Mutex
	commits  map[string]fakeCommit
	head     string
	fetchErr error
	kept     []string
}

type fakeCommit struct {
	Commit
	parent string
	stack  string // the stack file's text
}

func newFakeRepo() *fakeRepo { return &fakeRepo{commits: map[string]fakeCommit{}} }

// commit adds a commit on the head and moves the ref to it.
func (r *fakeRepo) commit(subject, stack string) Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.commitOn(r.head, subject, stack)
}

// commitOn adds a commit whose parent is parent ("" for none) and moves
// the ref to it: with a parent other than the head, a force-push.
func (r *fakeRepo) commitOn(parent, subject, stack string) Commit {
	sum := sha1.Sum([]byte(parent + "\x00" + subject + "\x00" + stack))
	c := Commit{Hash: hex.EncodeToString(sum[:]), Subject: subject, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	r.commits[c.Hash] = fakeCommit{Commit: c, parent: parent, stack: stack}
	r.head = c.Hash
	return c
}

func (r *fakeRepo) Fetch(context.Context) (Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fetchErr != nil {
		return Commit{}, r.fetchErr
	}
	return r.commits[r.head].Commit, nil
}

func (r *fakeRepo) Descends(_ context.Context, commit, ancestor string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.commits[ancestor]; !ok {
		return false, fmt.Errorf("object %s not found", ancestor)
	}
	for h := commit; h != ""; h = r.commits[h].parent {
		if h == ancestor {
			return true, nil
		}
	}
	return false, nil
}

func (r *fakeRepo) Checkout(_ context.Context, commit string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.commits[commit]; !ok {
		return "", fmt.Errorf("commit %s not found", commit)
	}
	return "/checkouts/" + commit, nil
}

func (r *fakeRepo) Keep(commits ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kept = commits
	return nil
}

// load is the Loader of the fake's checkouts: the stack file parsed as
// the CLI would, its problems at the checkout's path.
func (r *fakeRepo) load(dir string) (*spec.Stack, error) {
	r.mu.Lock()
	c, ok := r.commits[path.Base(dir)]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no checkout at %s", dir)
	}
	return spec.Parse(dir+"/stack.yaml", []byte(c.stack), func(string) (string, bool) { return "", false }, dir)
}

// fakeDeploy plans and applies on planfake's world, instantly. A stack
// that runs failImage rolls back; block makes Apply wait for its context.
type fakeDeploy struct {
	mu        sync.Mutex
	world     *planfake.World
	clock     Clock
	failImage string
	block     bool
	started   chan struct{} // gets a value when a blocked Apply starts
	applies   []appliedAt
	plans     int
}

type appliedAt struct {
	at       time.Time
	replicas int
	image    string
}

func newFakeDeploy(clock Clock) *fakeDeploy {
	return &fakeDeploy{world: planfake.NewWorld(), clock: clock, started: make(chan struct{}, 1)}
}

func (d *fakeDeploy) Plan(_ context.Context, st *spec.Stack) (*plan.Plan, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.plans++
	state, err := d.world.Observe(st)
	if err != nil {
		return nil, err
	}
	return plan.Compute(st, state), nil
}

func (d *fakeDeploy) Apply(ctx context.Context, st *spec.Stack) Outcome {
	d.mu.Lock()
	d.applies = append(d.applies, appliedAt{at: d.clock.Now(), replicas: st.Services[0].Replicas, image: st.Services[0].Image})
	block := d.block
	d.mu.Unlock()
	if block {
		d.started <- struct{}{}
		<-ctx.Done()
		return Outcome{Result: plan.ResultRolledBack, Err: fmt.Errorf("apply of stack %s: %w", st.Name, ctx.Err())}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.world.AddImages(st)
	state, err := d.world.Observe(st)
	if err != nil {
		return Outcome{Result: plan.ResultError, Err: err}
	}
	p := plan.Compute(st, state)
	if st.Services[0].Image == d.failImage {
		return Outcome{Result: plan.ResultRolledBack, Plan: p, Err: errors.New("worker t-web-1 did not pass within 1m0s")}
	}
	if p.Empty() {
		return Outcome{Result: plan.ResultNoChanges, Plan: p}
	}
	d.world.Simulate(st, p)
	return Outcome{Result: plan.ResultApplied, Plan: p}
}

func (d *fakeDeploy) applied() []appliedAt {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]appliedAt(nil), d.applies...)
}

// workers is how many of the stack's worker containers run in the world.
func (d *fakeDeploy) workers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for i := 1; i <= 100; i++ {
		if c, ok := d.world.Docker.Container(fmt.Sprintf("t-web-%d", i)); ok && c.Running() {
			n++
		}
	}
	return n
}

// fakeKV is Consul KV with modify indexes; down makes its dialer answer
// ErrNoConsul.
type fakeKV struct {
	mu    sync.Mutex
	data  map[string][]byte
	index map[string]uint64
	next  uint64
	down  bool
}

func newFakeKV() *fakeKV { return &fakeKV{data: map[string][]byte{}, index: map[string]uint64{}} }

func (kv *fakeKV) dial(context.Context, *spec.Stack) (KV, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.down {
		return nil, ErrNoConsul
	}
	return kv, nil
}

func (kv *fakeKV) KVGetIndex(_ context.Context, key string) ([]byte, uint64, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.data[key], kv.index[key], nil
}

func (kv *fakeKV) KVCAS(_ context.Context, key string, value []byte, index uint64) (bool, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.index[key] != index {
		return false, nil
	}
	kv.put(key, value)
	return true, nil
}

func (kv *fakeKV) KVPut(_ context.Context, key string, value []byte) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.put(key, value)
	return nil
}

func (kv *fakeKV) put(key string, value []byte) {
	kv.next++
	kv.data[key], kv.index[key] = append([]byte(nil), value...), kv.next
}

func (kv *fakeKV) setDown(down bool) { kv.mu.Lock(); kv.down = down; kv.mu.Unlock() }

// history is the recorded history of stack t.
func (kv *fakeKV) history(t *testing.T) []plan.ReconcileEntry {
	t.Helper()
	data, index, _ := kv.KVGetIndex(context.Background(), "stackctl/t/"+plan.KVReconcileHistory)
	if index == 0 {
		return nil
	}
	h, err := plan.ParseReconcileHistory(data)
	if err != nil {
		t.Fatal(err)
	}
	return h.Entries
}

// applied is the recorded applied commit of stack t, nil when none.
func (kv *fakeKV) applied(t *testing.T) *plan.ReconcileApplied {
	t.Helper()
	data, index, _ := kv.KVGetIndex(context.Background(), "stackctl/t/"+plan.KVReconcileApplied)
	if index == 0 {
		return nil
	}
	a, err := plan.ParseReconcileApplied(data)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fakeClock moves only when Advance says so. It counts the calls to After,
// so that a test knows when the agent has finished a pass and sleeps.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	afters  int
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.afters++
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the time on by d and fires what is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// waitSleeps waits until the agent has gone to sleep n times in all.
func (c *fakeClock) waitSleeps(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := c.afters
		c.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent slept %d times, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// rig is an agent on the fakes.
type rig struct {
	repo   *fakeRepo
	deploy *fakeDeploy
	kv     *fakeKV
	clock  *fakeClock
	log    *strings.Builder
	logMu  sync.Mutex
}

func newRig() *rig {
	clock := newFakeClock()
	return &rig{repo: newFakeRepo(), deploy: newFakeDeploy(clock), kv: newFakeKV(), clock: clock, log: &strings.Builder{}}
}

// agent makes an agent over the rig, with an interval of one minute.
func (r *rig) agent(change ...func(*Config)) *Agent {
	cfg := Config{
		Source: r.repo, Load: r.repo.load, Deploy: r.deploy, KV: r.kv.dial, Clock: r.clock,
		Log: func(line string) {
			r.logMu.Lock()
			defer r.logMu.Unlock()
			r.log.WriteString(line + "\n")
		},
		Interval: time.Minute, Repo: "file:///srv/git/t.git", Ref: "main", Path: "stack.yaml",
	}
	for _, c := range change {
		c(&cfg)
	}
	return New(cfg)
}

func (r *rig) logged() string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.log.String()
}
