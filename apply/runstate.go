package apply

import (
	"github.com/stackctl/stackctl/plan"
)

// runState is what steps share while an apply runs.
type runState struct {
	before *plan.State
	// lbChanges: the plan creates, replaces, starts or removes the LB
	// container, whose own step then checks the template it renders.
	lbChanges bool
	// destroy: the plan removes the whole stack (plan.ModeDestroy).
	destroy bool
	// leaving: old workers draining and stopping in the background.
	leaving *leaving
}
