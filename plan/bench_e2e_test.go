//go:build e2e

package plan_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/plan"
)

// BenchmarkPlanNoChanges measures a whole plan (observe Docker and Consul,
// compute) of a stack that matches its file, against the real engine.
// Targets: under 150 ms at 20 workers, under 400 ms at 200. Starting 200
// workers (16 MiB each) takes a minute or two; they are removed afterwards.
//
//	go test -tags e2e -run '^$' -bench PlanNoChanges -benchtime 20x ./plan
func BenchmarkPlanNoChanges(b *testing.B) {
	for _, workers := range []int{20, 200} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			e := e2e.New(b)
			desired := e2eStack(e.Stack, workers, 16<<20)
			h := startByHand(b, e, desired)
			o := h.observer(b)
			if p := computeLive(b, o, desired); !p.Empty() {
				b.Fatalf("plan not empty before the benchmark:\n%s", human(p))
			}
			var took []time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				state, err := o.Observe(b.Context(), desired)
				if err != nil {
					b.Fatal(err)
				}
				if p := plan.Compute(desired, state); !p.Empty() {
					b.Fatalf("plan not empty: %d steps", len(p.Steps))
				}
				took = append(took, time.Since(start))
			}
			// The mean (ns/op) hides outliers from a busy engine; the
			// median is the figure the targets are stated in.
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
		})
	}
}
