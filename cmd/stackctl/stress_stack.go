package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
	"github.com/stackctl/stackctl/stress"
)

// liveStack is the stack under stress, on the live engine and Consul.
type liveStack struct {
	stack  *spec.Stack
	file   stackFile
	reader *statusReader
}

var _ stress.Stack = (*liveStack)(nil)

// Whole reads the status: every desired worker passing, and the LB up
// with all of them in its last render.
func (l *liveStack) Whole(ctx context.Context) (bool, string, error) {
	st := l.reader.status(ctx, l.stack, 5*time.Second)
	if st.Error != "" {
		return false, "", errors.New(st.Error)
	}
	whole, missing := wholeStatus(st)
	return whole, missing, nil
}

func wholeStatus(st *plan.Status) (bool, string) {
	s := st.Summary
	if s.Passing != s.Desired || s.Total != s.Desired {
		return false, fmt.Sprintf("%d of %d workers passing (%d in all)", s.Passing, s.Desired, s.Total)
	}
	lb := st.LB
	if lb == nil {
		return true, ""
	}
	if lb.State != plan.ContainerRunning {
		return false, "the LB is " + lb.State
	}
	// In resolve mode nginx follows Consul's DNS itself: its renders list
	// no servers to count.
	if len(lb.Resolves) == 0 && (lb.Render == nil || !lb.Render.OK || lb.Render.Instances != s.Passing) {
		n := 0
		if lb.Render != nil {
			n = lb.Render.Instances
		}
		return false, fmt.Sprintf("the LB's last render has %d of the %d passing workers", n, s.Passing)
	}
	return true, ""
}

// Drifted computes the plan.
func (l *liveStack) Drifted(ctx context.Context) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	state, err := l.reader.observer.Observe(ctx, l.stack)
	if err != nil {
		return false, "", err
	}
	p := plan.Compute(l.stack, state)
	if p.Empty() {
		return false, "", nil
	}
	return true, p.Summary.String(), nil
}

// Apply runs this stackctl's apply in a process of its own, as a user
// would: under the stack's lock, with its own output kept for the report.
func (l *liveStack) Apply(ctx context.Context, file string) *stress.ApplyRecord {
	f := l.file
	if file != "" {
		f.path = file
	}
	rec := &stress.ApplyRecord{File: f.String()}
	exe, err := os.Executable()
	if err != nil {
		rec.ExitCode, rec.Output = exitFailure, err.Error()
		return rec
	}
	args := []string{"apply", "-f", f.path, "--auto-approve", "--lock-timeout", "2m"}
	if f.env != "" {
		args = append(args, "-e", f.env)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	start := time.Now()
	err = cmd.Run()
	rec.Took = time.Since(start).Seconds()
	if err != nil {
		rec.ExitCode = exitFailure
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			rec.ExitCode = exit.ExitCode()
		}
		rec.Output = lastLines(out.String(), 15)
		if rec.Output == "" {
			rec.Output = err.Error()
		}
	}
	return rec
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// undoStressLeftovers undoes what a stress run that died left on the
// stack (paused or disconnected workers, ...), before apply or destroy
// read the live state. A stress run that is alive is left alone: its own
// heal runs apply while its faults are on.
func undoStressLeftovers(ctx context.Context, stderr io.Writer, stack *spec.Stack) error {
	path, err := stress.LeftoversPath(stack.Name)
	if err != nil {
		return nil // no state folder: no stress run recorded anything here
	}
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	docker, err := openDocker()
	if err != nil {
		return err
	}
	defer docker.Close()
	undone, err := stress.UndoLeftovers(ctx, docker, newCutter(docker), stack.Name, false)
	if errors.Is(err, stress.ErrStressRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	reportUndone(stderr, stack, undone)
	return nil
}

// reportUndone says what was undone of a dead stress run's faults.
func reportUndone(stderr io.Writer, stack *spec.Stack, undone []stress.Active) {
	if len(undone) > 0 {
		fmt.Fprintf(stderr, "stackctl: undid what a stress run that died left on stack %s: %s\n", stack.Name, stress.Describe(undone))
	}
}

// stressLeftWarning tells plan's reader what a stress run that died left
// in place: plan changes nothing, so it only says; apply undoes them
// before it reads the live state.
func stressLeftWarning(stack *spec.Stack) *plan.Warning {
	left := stress.Left(stack.Name)
	if len(left) == 0 {
		return nil
	}
	w := &plan.Warning{Summary: fmt.Sprintf("a stress run that died left %d faults in place; stackctl apply (or stress --undo) undoes them before anything else", len(left))}
	for _, a := range left {
		w.Detail = append(w.Detail, a.Left())
	}
	return w
}
