package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
)

// logSource is what stackctl logs needs of Docker.
type logSource interface {
	ListContainers(ctx context.Context, stack string) ([]plan.Container, error)
	Logs(ctx context.Context, id string, o dockerapi.LogOptions, stdout, stderr io.Writer) error
}

// followPoll is how often logs --follow lists the stack's containers to
// find new ones (a worker a concurrent apply creates) and restarted ones: a
// list every second costs the engine little, and a new worker takes longer
// than that to pass its check and get traffic.
const followPoll = time.Second

// follower streams the output of every container a selector matches until
// ctx ends, starting streams for containers that appear or start again.
// It owns one goroutine per stream and waits for all of them.
type follower struct {
	src    logSource
	stack  string
	sels   []logSelector
	opts   dockerapi.LogOptions
	out    *logPrinter
	stderr io.Writer
	poll   time.Duration

	wg      sync.WaitGroup
	mu      sync.Mutex
	streams map[string]*followed // by container ID
	lastErr string               // the last list error reported, so it is said once
}

// followed is one container the follower knows.
type followed struct {
	stream *logStream
	live   bool      // a stream of it is open
	ended  time.Time // when its last stream ended
}

// run follows the initial targets, then polls until ctx ends.
func (f *follower) run(ctx context.Context, initial []logTarget) error {
	f.streams = map[string]*followed{}
	for _, t := range initial {
		f.start(ctx, t, f.opts)
	}
	tick := time.NewTicker(f.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			f.wg.Wait()
			return f.out.err()
		case <-tick.C:
			f.refresh(ctx)
		}
	}
}

// refresh lists the stack's containers once and starts what is new or has
// started again; a container apply renamed gets its new label.
func (f *follower) refresh(ctx context.Context) {
	cs, err := f.src.ListContainers(ctx, f.stack)
	if err != nil {
		if ctx.Err() == nil {
			f.reportListError(err)
		}
		return
	}
	f.reportListError(nil)
	for _, t := range matchTargets(f.stack, cs, f.sels) {
		f.mu.Lock()
		known := f.streams[t.id]
		f.mu.Unlock()
		switch {
		case known == nil:
			// New since the command started: all of its output is news.
			f.start(ctx, t, dockerapi.LogOptions{Follow: true, Since: f.opts.Since, Timestamps: f.opts.Timestamps})
		case known.stream.currentLabel() != t.label:
			known.stream.setLabel(t.label)
		}
		if known != nil && t.running && !f.isLive(t.id) {
			// Started again after its stream ended: only what came since.
			since := f.endedAt(t.id).UTC().Format(time.RFC3339Nano)
			f.restart(ctx, t.id, known.stream, dockerapi.LogOptions{Follow: true, Since: since, Timestamps: f.opts.Timestamps})
		}
	}
}

func (f *follower) start(ctx context.Context, t logTarget, o dockerapi.LogOptions) {
	f.restart(ctx, t.id, f.out.add(t.label), o)
}

// restart opens a stream of a container's output in a goroutine of its own.
func (f *follower) restart(ctx context.Context, id string, s *logStream, o dockerapi.LogOptions) {
	f.mu.Lock()
	f.streams[id] = &followed{stream: s, live: true}
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		err := copyLogs(ctx, f.src, id, o, s)
		f.mu.Lock()
		f.streams[id].live = false
		f.streams[id].ended = time.Now()
		f.mu.Unlock()
		if err != nil {
			fmt.Fprintf(f.stderr, "stackctl: %s: %v (will try again if it starts again)\n", s.currentLabel(), err)
		}
	}()
}

func (f *follower) isLive(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streams[id].live
}

func (f *follower) endedAt(id string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streams[id].ended
}

// reportListError says once that the list failed, and once that it works
// again, rather than every second.
func (f *follower) reportListError(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == f.lastErr {
		return
	}
	if msg == "" {
		fmt.Fprintf(f.stderr, "stackctl: Docker answers again\n")
	} else {
		fmt.Fprintf(f.stderr, "stackctl: cannot list the containers of stack %s: %v (retrying every %s)\n", f.stack, err, f.poll)
	}
	f.lastErr = msg
}

// copyLogs copies one container's output into its stream, both of its
// outputs line by line, and prints a last line left without a newline.
func copyLogs(ctx context.Context, src logSource, id string, o dockerapi.LogOptions, s *logStream) error {
	stdout, stderr := s.writer(), s.writer()
	err := src.Logs(ctx, id, o, stdout, stderr)
	stdout.flush()
	stderr.flush()
	return err
}
