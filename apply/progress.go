package apply

import (
	"time"

	"github.com/stackctl/stackctl/plan"
)

// Progress is told about every step as it starts and ends, and about every
// undo during a rollback. Calls come from many goroutines at once.
type Progress interface {
	StepStarted(step plan.Step)
	StepFinished(step plan.Step, elapsed time.Duration, err error)
	StepUndone(id string, elapsed time.Duration, err error)
	Note(msg string)
}

type nopProgress struct{}

func (nopProgress) StepStarted(plan.Step)                        {}
func (nopProgress) StepFinished(plan.Step, time.Duration, error) {}
func (nopProgress) StepUndone(string, time.Duration, error)      {}
func (nopProgress) Note(string)                                  {}
