package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
)

func workerStep(slot int, group string) plan.Step {
	return plan.Step{ID: "worker/s-web-" + string(rune('0'+slot)), Group: group, Action: plan.ActionReplace, Kind: plan.KindWorker, Slot: slot}
}

func TestLiveSummaryCountsPassingWorkersAndBatches(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	w1, w2, w3 := workerStep(1, "workers/web/1"), workerStep(2, "workers/web/1"), workerStep(3, "workers/web/2")
	tpl := plan.Step{ID: "template/k", Group: "lb/template", Action: plan.ActionRender, Kind: plan.KindTemplate}
	s := newLiveSummary()
	s.planned(&plan.Plan{Steps: []plan.Step{w1, w2, w3, tpl}})
	s.begin(t0)

	s.started(w1, t0)
	s.started(w2, t0.Add(time.Second))
	if got, want := s.line(t0.Add(3*time.Second)), "  … workers passing 0/3 · batch 1/2 · 3s · running 2: worker/s-web-1 (3s)"; got != want {
		t.Errorf("first batch:\n got %q\nwant %q", got, want)
	}
	s.finished(w1, nil)
	s.finished(w2, errors.New("not passing"))
	s.started(w3, t0.Add(4*time.Second))
	if got, want := s.line(t0.Add(5*time.Second)), "  … workers passing 1/3 · batch 2/2 · 5s · running 1: worker/s-web-3 (1s)"; got != want {
		t.Errorf("second batch (a failed worker is not passing):\n got %q\nwant %q", got, want)
	}
	s.finished(w3, nil)
	if got, want := s.line(t0.Add(6*time.Second)), "  … workers passing 2/3 · batch 2/2 · 6s"; got != want {
		t.Errorf("idle:\n got %q\nwant %q", got, want)
	}
}

func TestLiveSummaryWithoutWorkersShowsOnlyWhatRuns(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	rm := plan.Step{ID: "worker/s-web-1", Group: "removals/destroy", Action: plan.ActionDestroy, Kind: plan.KindWorker}
	s := newLiveSummary()
	s.planned(&plan.Plan{Steps: []plan.Step{rm}})
	s.begin(t0)
	if got := s.line(t0); got != "" {
		t.Errorf("nothing running: got %q, want no line", got)
	}
	s.started(rm, t0)
	if got, want := s.line(t0.Add(2*time.Second)), "  … 2s · running 1: worker/s-web-1 (2s)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
