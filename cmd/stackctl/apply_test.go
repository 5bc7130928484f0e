package main

import (
	"errors"
	"testing"

	"github.com/stackctl/stackctl/apply"
)

// Only a failed run that its rollback put back as it was exits 3: CI may
// then retry or report, knowing the stack is unchanged; anything else
// needs a person and exits 1.
func TestFailedRunExitCodes(t *testing.T) {
	failed := errors.New("worker/primes-web-2: did not pass its health check")
	tests := []struct {
		name   string
		report apply.Report
		want   int
	}{
		{"rolled back", apply.Report{Err: failed, RolledBack: []string{"worker/primes-web-1"}, Restored: true}, exitRolledBack},
		{"failed before changing anything, nothing to undo", apply.Report{Err: failed, Restored: true}, exitRolledBack},
		{"rollback failed", apply.Report{Err: failed, RolledBack: []string{"worker/primes-web-1"}, RollbackErr: errors.New("undo worker/primes-web-2: no")}, exitFailure},
		{"paused", apply.Report{Err: failed, Paused: true}, exitFailure},
		{"destroy", apply.Report{Err: failed, Operation: "destroy", ForwardOnly: true}, exitFailure},
		{"lock lost to another apply", apply.Report{Err: apply.ErrLockLost, RollbackErr: errors.New("could not take the lock again")}, exitFailure},
		{"stopped before any step", apply.Report{Err: errors.New("write journal: timeout")}, exitFailure},
	}
	for _, tt := range tests {
		if got := failureExit(&tt.report); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
	}
}
