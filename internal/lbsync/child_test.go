package lbsync

import (
	"os"
	"syscall"
	"testing"
)

func TestHandlesSignalReadsProc(t *testing.T) {
	// The Go runtime catches SIGURG for preemption in every Go process.
	ok, err := handlesSignal(os.Getpid(), syscall.SIGURG)
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if !ok {
		t.Error("handlesSignal(self, SIGURG) = false")
	}
}
