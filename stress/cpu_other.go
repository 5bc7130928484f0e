//go:build !linux

package stress

import (
	"errors"
	"time"
)

// HostCPU needs /proc/stat.
func HostCPU() (busy, total time.Duration, err error) {
	return 0, 0, errors.New("the machine's CPU time is read from /proc/stat, on Linux only")
}

// SelfCPU is not read outside Linux.
func SelfCPU() time.Duration { return 0 }
