package apply

import (
	"fmt"
	"testing"

	"github.com/stackctl/stackctl/plan"
)

// Adjacent groups that only made new workers are undone as one; any group
// that brings something old back keeps its place and its own turn.
func TestRollbackGroupsJoinOnlyNewWorkers(t *testing.T) {
	newWorker := &Undo{Op: UndoContainer, Restore: &Restore{Role: plan.RoleWorker}}
	replaced := &Undo{Op: UndoContainer, Restore: &Restore{Role: plan.RoleWorker, OldID: "abc"}}
	consul := &Undo{Op: UndoContainer, Restore: &Restore{Role: plan.RoleConsul}}
	step := func(group, id string, u *Undo) JournalStep {
		return JournalStep{JournalStep: plan.JournalStep{ID: id}, Group: group, Undo: u}
	}
	steps := []JournalStep{
		step("network", "n", &Undo{Op: UndoNetwork}),
		step("consul", "c", consul),
		step("workers/web/1", "w1", newWorker), step("workers/web/1", "w2", newWorker),
		step("workers/web/2", "w3", newWorker), step("workers/web/2", "w4", nil), // never started
		step("workers/web/3", "w5", replaced),
		step("workers/web/4", "w6", newWorker),
	}
	var got []string
	for _, g := range rollbackGroups(steps) {
		var ids []string
		for _, st := range g {
			ids = append(ids, st.ID)
		}
		got = append(got, fmt.Sprint(ids))
	}
	want := "[[n] [c] [w1 w2 w3 w4] [w5] [w6]]"
	if fmt.Sprint(got) != want {
		t.Errorf("groups %v, want %s", got, want)
	}
}
