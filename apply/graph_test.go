package apply

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
)

func TestGraphRefusesEdgesItCannotRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []plan.Step
	}{
		{"unknown step", []plan.Step{{ID: "a", DependsOn: []string{"b"}}}},
		{"edge to a later step", []plan.Step{{ID: "a", DependsOn: []string{"b"}}, {ID: "b"}}},
		{"edge to itself", []plan.Step{{ID: "a", DependsOn: []string{"a"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newGraph(tc.steps); !errors.Is(err, ErrPlanGraph) {
				t.Fatalf("newGraph: %v, want ErrPlanGraph", err)
			}
		})
	}
}

func TestGraphReleasesAStepWhenAllItsDependenciesFinished(t *testing.T) {
	g, err := newGraph([]plan.Step{
		{ID: "net"}, {ID: "consul", DependsOn: []string{"net"}}, {ID: "img"},
		{ID: "w1", DependsOn: []string{"consul", "img"}}, {ID: "w2", DependsOn: []string{"w1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(is []int) []string {
		var out []string
		for _, i := range is {
			out = append(out, g.steps[i].ID)
		}
		return out
	}
	check := func(what string, got []int, want ...string) {
		t.Helper()
		if g := ids(got); !slices.Equal(g, want) {
			t.Fatalf("%s: %v, want %v", what, g, want)
		}
	}
	check("ready", g.ready(), "net", "img")
	check("after img", g.finish(2))
	check("after net", g.finish(0), "consul")
	check("after consul", g.finish(1), "w1")
	check("after w1", g.finish(3), "w2")
}

func TestPoolLetsWaitersInInTheOrderTheyCame(t *testing.T) {
	p := newPool(1)
	first := p.ticket(0)
	if err := p.enter(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	var tickets []*ticket
	for range 3 {
		tickets = append(tickets, p.ticket(1))
	}
	// The second waiter gives up: its place passes to the third.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.enter(ctx, tickets[1]); err == nil {
		t.Fatal("enter with a cancelled context succeeded while the pool was full")
	}
	entered := make(chan int, 3)
	for i, tk := range []*ticket{tickets[0], tickets[2]} {
		go func() {
			if p.enter(context.Background(), tk) == nil {
				entered <- i
			}
		}()
	}
	select {
	case i := <-entered:
		t.Fatalf("waiter %d entered a full pool", i)
	case <-time.After(20 * time.Millisecond):
	}
	p.leave()
	if i := <-entered; i != 0 {
		t.Fatalf("waiter %d entered first, want the first in the queue", i)
	}
	p.leave()
	if i := <-entered; i != 1 {
		t.Fatalf("waiter %d entered second, want the last one left", i)
	}
}

func TestPoolLetsALowerRankInFirst(t *testing.T) {
	p := newPool(1)
	if err := p.enter(context.Background(), p.ticket(3)); err != nil {
		t.Fatal(err)
	}
	worker := p.ticket(3)
	consul := p.ticket(0)
	p.leave()
	select {
	case <-consul.turn:
	case <-worker.turn:
		t.Fatal("a rank 3 ticket went before a rank 0 one that came later")
	}
}
