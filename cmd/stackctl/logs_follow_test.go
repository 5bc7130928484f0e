package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// fakeLogs is a Docker engine of a few containers whose output the test
// writes. A followed stream stays open until its container stops or ctx
// ends, as the engine's does.
type fakeLogs struct {
	mu         sync.Mutex
	containers []plan.Container
	output     map[string]*fakeOutput
	calls      []dockerapi.LogOptions // every Logs call's options, in order
}

type fakeOutput struct {
	lines   []string      // written so far (a "!" prefix: to stderr)
	changed chan struct{} // closed and replaced on every write and stop
	stopped bool
}

func newFakeLogs() *fakeLogs { return &fakeLogs{output: map[string]*fakeOutput{}} }

func (f *fakeLogs) addWorker(id, name string, slot string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers = append(f.containers, plan.Container{ID: id, Name: name, State: plan.ContainerRunning,
		Labels: map[string]string{spec.LabelRole: plan.RoleWorker, spec.LabelService: "web", spec.LabelSlot: slot}})
	f.output[id] = &fakeOutput{changed: make(chan struct{})}
}

func (f *fakeLogs) write(id, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.output[id]
	o.lines = append(o.lines, text)
	close(o.changed)
	o.changed = make(chan struct{})
}

// setRunning stops or starts a container; a stop ends its open streams.
func (f *fakeLogs) setRunning(id string, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.containers {
		if f.containers[i].ID == id {
			f.containers[i].State = map[bool]string{true: plan.ContainerRunning, false: plan.ContainerExited}[running]
		}
	}
	o := f.output[id]
	o.stopped = !running
	close(o.changed)
	o.changed = make(chan struct{})
}

func (f *fakeLogs) ListContainers(context.Context, string) ([]plan.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]plan.Container(nil), f.containers...), nil
}

// Logs writes what the container wrote so far (from the start, or only new
// lines after a restart with Since set) and, when following, what it writes
// next.
func (f *fakeLogs) Logs(ctx context.Context, id string, o dockerapi.LogOptions, stdout, stderr io.Writer) error {
	f.mu.Lock()
	f.calls = append(f.calls, o)
	sent := 0
	if o.Since != "" {
		sent = len(f.output[id].lines)
	}
	f.mu.Unlock()
	for {
		f.mu.Lock()
		out := f.output[id]
		lines, changed, stopped := out.lines[sent:], out.changed, out.stopped
		sent = len(out.lines)
		f.mu.Unlock()
		for _, l := range lines {
			w := stdout
			if strings.HasPrefix(l, "!") {
				w, l = stderr, l[1:]
			}
			_, _ = io.WriteString(w, l)
		}
		if !o.Follow || stopped {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// syncBuffer is an output the test reads while the follower writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the output holds want.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never held %q; it is:\n%s", want, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLogsFollowPicksUpNewAndRestartedContainersAndEndsOnCancel(t *testing.T) {
	src := newFakeLogs()
	src.addWorker("w1", "s-web-1", "1")
	src.write("w1", "before\n")
	var out, errOut syncBuffer
	sels, _ := parseSelectors([]string{"web"})
	initial, err := selectTargets("s", src.containers, sels)
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{src: src, stack: "s", sels: sels, out: newLogPrinter(&out, style{}), stderr: &errOut,
		opts: dockerapi.LogOptions{Follow: true, Tail: "5"}, poll: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.run(ctx, initial) }()

	waitFor(t, &out, "web-1 | before\n")
	src.write("w1", "part")
	src.write("w1", "ial\n")
	src.write("w1", "!to stderr\n")
	waitFor(t, &out, "web-1 | partial\nweb-1 | to stderr\n")

	src.addWorker("w2", "s-web-2.new-abc", "2") // a concurrent apply's new worker
	src.write("w2", "hello from 2\n")
	waitFor(t, &out, "web-2 (new) | hello from 2\n")

	src.setRunning("w1", false) // its stream ends ...
	src.write("w1", "while stopped\n")
	src.setRunning("w1", true) // ... and is opened again, from where it ended
	src.write("w1", "after restart\n")
	waitFor(t, &out, "after restart\n")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run = %v, want nil after Ctrl-C", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if n := strings.Count(out.String(), "before"); n != 1 {
		t.Errorf("%q printed %d times, want once: a restart must not repeat old output\n%s", "before", n, out.String())
	}
	if errOut.String() != "" {
		t.Errorf("stderr: %q", errOut.String())
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.calls[0].Tail != "5" || src.calls[1].Tail != "" {
		t.Errorf("tails %q then %q: want --tail for the containers there at the start and all of a new one", src.calls[0].Tail, src.calls[1].Tail)
	}
}

func TestLogsWithoutFollowPrintsEachContainerInTurn(t *testing.T) {
	src := newFakeLogs()
	src.addWorker("w1", "s-web-1", "1")
	src.addWorker("w10", "s-web-10", "10")
	src.write("w1", "one\n")
	src.write("w10", "ten\nno newline")
	src.write("w1", "!two\n")
	targets, err := selectTargets("s", src.containers, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printLogs(t.Context(), src, targets, dockerapi.LogOptions{}, newLogPrinter(&out, style{})); err != nil {
		t.Fatal(err)
	}
	want := "web-1  | one\nweb-1  | two\nweb-10 | ten\nweb-10 | no newline\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
