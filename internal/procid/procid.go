// Package procid names a process so that another process can later tell
// whether it is still alive: the lock's holder (apply) and a stress run
// that left faults behind (stress) are recorded this way.
//
// A pid names one process only within one boot of one kernel and one pid
// namespace, so those are recorded too: BootID
// (/proc/sys/kernel/random/boot_id, new at every boot and the same in every
// container of a host, unlike /etc/machine-id, which images and cloned VMs
// copy) and PIDNamespace (/proc/self/ns/pid: two containers of a host share
// the boot but not their pids). Start, when the process started, tells a
// reused pid from the process.
package procid

import "os"

// Process identifies a process: where its pid means it, and which one.
type Process struct {
	Host         string `json:"host,omitempty"`
	BootID       string `json:"boot_id,omitempty"`
	PIDNamespace string `json:"pid_ns,omitempty"`
	PID          int    `json:"pid,omitempty"`
	// Start is field 22 of /proc/PID/stat: clock ticks after boot.
	Start uint64 `json:"pid_start,omitempty"`
}

// Self is the running process; fields it cannot read stay empty, which
// makes its liveness unknown to others.
func Self() Process {
	host, _ := os.Hostname()
	p := Process{Host: host, PID: os.Getpid()}
	p.BootID, p.PIDNamespace = processSpace()
	p.Start, _ = processStart(p.PID)
	return p
}

// SameSpace reports whether a pid recorded with bootID and pidNamespace can
// be looked up from p: same boot of the same kernel, same pid namespace.
func (p Process) SameSpace(bootID, pidNamespace string) bool {
	return p.BootID != "" && p.PIDNamespace != "" && bootID == p.BootID && pidNamespace == p.PIDNamespace
}

// Gone reports whether other is known to be dead, seen from here: it ran
// in here's space and its pid no longer names the process that started at
// other.Start (alive looks that up: Alive, or a fake in tests). Anything
// else (another machine or container, a record without a pid or start, a
// process that is still there) is not known to be dead.
func (here Process) Gone(other Process, alive func(pid int, start uint64) bool) bool {
	if other.PID <= 0 || other.Start == 0 || !here.SameSpace(other.BootID, other.PIDNamespace) {
		return false
	}
	return !alive(other.PID, other.Start)
}
