package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// liveSummary is the one line a person watches during a long apply:
//
//	workers passing 8/20 · batch 3/5 · 12s · running 4: worker/primes-web-9 (3s)
//
// A worker step finishes when its new container passes its Consul check, so
// finished worker steps are the workers passing. Batches are the plan's
// worker groups. It is plain data fed by the view, so it is tested without a
// terminal.
type liveSummary struct {
	workers, workersDone int
	batches              map[string]int // worker group → steps not yet finished
	batchOrder           []string
	batchesStarted       map[string]bool
	running              map[string]time.Time
	began                time.Time
}

func newLiveSummary() *liveSummary {
	return &liveSummary{batches: map[string]int{}, batchesStarted: map[string]bool{}, running: map[string]time.Time{}}
}

// isWorkerRollout reports whether st brings up a worker that must pass its
// check: the steps the "workers passing" count is made of.
func isWorkerRollout(st plan.Step) bool {
	if st.Kind != plan.KindWorker {
		return false
	}
	switch st.Action {
	case plan.ActionCreate, plan.ActionReplace, plan.ActionStart:
		return true
	}
	return false
}

func (s *liveSummary) planned(p *plan.Plan) {
	for _, st := range p.Steps {
		if !isWorkerRollout(st) {
			continue
		}
		s.workers++
		if _, ok := s.batches[st.Group]; !ok {
			s.batchOrder = append(s.batchOrder, st.Group)
		}
		s.batches[st.Group]++
	}
}

func (s *liveSummary) begin(now time.Time) { s.began = now }

func (s *liveSummary) started(st plan.Step, now time.Time) {
	s.running[st.ID] = now
	if isWorkerRollout(st) {
		s.batchesStarted[st.Group] = true
	}
}

func (s *liveSummary) finished(st plan.Step, err error) {
	delete(s.running, st.ID)
	if isWorkerRollout(st) && err == nil {
		s.workersDone++
	}
}

// line is the summary at now; "" when there is nothing to say.
func (s *liveSummary) line(now time.Time) string {
	var parts []string
	if s.workers > 0 {
		parts = append(parts, fmt.Sprintf("workers passing %d/%d", s.workersDone, s.workers))
		if len(s.batchOrder) > 1 {
			parts = append(parts, fmt.Sprintf("batch %d/%d", s.currentBatch(), len(s.batchOrder)))
		}
	}
	if !s.began.IsZero() {
		parts = append(parts, now.Sub(s.began).Round(time.Second).String())
	}
	if len(s.running) > 0 {
		oldest, since := "", now
		for id, t := range s.running {
			if t.Before(since) || (t.Equal(since) && id < oldest) {
				oldest, since = id, t
			}
		}
		parts = append(parts, fmt.Sprintf("running %d: %s (%s)", len(s.running), oldest, now.Sub(since).Round(time.Second)))
	}
	if len(parts) == 0 || (s.workers == 0 && len(s.running) == 0) {
		return ""
	}
	return "  … " + strings.Join(parts, " · ")
}

// currentBatch is the latest batch that has started, counting from 1.
func (s *liveSummary) currentBatch() int {
	n := 0
	for i, g := range s.batchOrder {
		if s.batchesStarted[g] {
			n = i + 1
		}
	}
	return n
}
