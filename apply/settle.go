package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// The Docker engine carries out a request to its end after the client that
// sent it was killed: a create, a start or a rename of a killed apply can
// land a second or more after its process is gone (measured here: creates
// of a killed first apply of 20 workers landed after the next apply had
// observed, which then planned a create for a name about to be taken, or
// rolled back the network of a container about to be made on it). So
// before the next apply rolls back or plans, the stack's containers must
// have stopped changing for settleQuiet (longer than a create takes on a
// loaded engine: creates are what go wrong). Variables for tests.
var (
	settleQuiet = 500 * time.Millisecond
	settleLimit = 10 * time.Second
	settlePoll  = 200 * time.Millisecond
)

// settleAfterCrash waits for a killed apply's Docker requests to land when
// one is known to have died: its lock was taken over, containers of the
// stack were created and never started (apply starts each container it
// creates at once), or the stack has its network but no Consul running (a
// first apply stopped before its Consul ran: there was no lock to leave).
// It reports whether it waited.
func (e *Executor) settleAfterCrash(ctx context.Context, observed *plan.State) (bool, error) {
	if !e.lock.takenOver() && !neverStarted(observed) && !e.firstApplyCut(observed) {
		return false, nil
	}
	start := time.Now()
	if err := e.settle(ctx); err != nil {
		return false, err
	}
	e.opts.Progress.Note(fmt.Sprintf("stack %s: waited %s for the Docker requests of the interrupted apply to land",
		e.Stack.Name, time.Since(start).Round(100*time.Millisecond)))
	return true, nil
}

// settle returns once the stack's containers (IDs, names, states) have not
// changed for settleQuiet, or after settleLimit.
func (e *Executor) settle(ctx context.Context) error {
	deadline := time.Now().Add(settleLimit)
	last, since := "", time.Now()
	for {
		all, err := e.Docker.ListContainers(ctx, e.Stack.Name)
		if err != nil {
			return fmt.Errorf("list containers: %w", err)
		}
		now := time.Now()
		if fp := containerStates(all); fp != last {
			last, since = fp, now
		} else if now.Sub(since) >= settleQuiet {
			return nil
		}
		if now.After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(settlePoll):
		}
	}
}

func containerStates(cs []plan.Container) string {
	lines := make([]string, 0, len(cs))
	for _, c := range cs {
		lines = append(lines, c.ID+" "+c.Name+" "+c.State)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// firstApplyCut reports whether the stack has its network but its managed
// Consul does not run.
func (e *Executor) firstApplyCut(s *plan.State) bool {
	if s == nil || s.Network == nil || !e.Stack.Consul.Managed() {
		return false
	}
	c := s.Container(e.Stack.ConsulContainerName())
	return c == nil || !c.Running()
}

// neverStarted reports whether a container of the stack was created and
// never started: an apply that was interrupted between the two.
func neverStarted(s *plan.State) bool {
	if s == nil {
		return false
	}
	for _, c := range s.Containers {
		if c.State == plan.ContainerCreated {
			return true
		}
	}
	return false
}
