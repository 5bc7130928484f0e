package apply

import (
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/stackctl/stackctl/internal/procid"
)

// LockHolder is the lock key's value: who holds it, since when, doing what.
//
// Holder is for people. The fields after it say machine-readably which
// process holds the lock, so that a holder that died on this machine is
// told from a live one (holderGone) and its lock taken over at once
// instead of waiting for Consul to expire its session. A pid names one
// process only within one boot of one kernel and one pid namespace, so
// those are recorded too: BootID (/proc/sys/kernel/random/boot_id, new at
// every boot and the same in every container of a host, unlike
// /etc/machine-id, which images and cloned VMs copy) and PIDNamespace
// (/proc/self/ns/pid: two containers of a host share the boot but not
// their pids). PIDStart, when the process started, tells a reused pid from
// the holder. Values written before these fields existed lack them: their
// holder's liveness is unknown, and the lock is waited for as before.
type LockHolder struct {
	Holder    string    `json:"holder"`
	Since     time.Time `json:"since"`
	Operation string    `json:"operation"`
	ApplyID   string    `json:"apply_id,omitempty"`

	Host         string `json:"host,omitempty"`
	BootID       string `json:"boot_id,omitempty"`
	PIDNamespace string `json:"pid_ns,omitempty"`
	PID          int    `json:"pid,omitempty"`
	// PIDStart is field 22 of /proc/PID/stat: clock ticks after boot.
	PIDStart uint64 `json:"pid_start,omitempty"`
}

// String is "root@vm pid 4242 (apply since 2026-12-01T14:53:27Z)".
func (h LockHolder) String() string {
	who := h.Holder
	if who == "" {
		who = "an unknown holder"
	}
	var about string
	switch {
	case h.Operation != "" && !h.Since.IsZero():
		about = h.Operation + " since " + h.Since.UTC().Format(time.RFC3339)
	case h.Operation != "":
		about = h.Operation
	case !h.Since.IsZero():
		about = "since " + h.Since.UTC().Format(time.RFC3339)
	}
	if about == "" {
		return who
	}
	return who + " (" + about + ")"
}

// process identifies a process: where its pid means it, and which one.
type process = procid.Process

func thisProcess() process { return procid.Self() }

// holderGone reports whether the lock's holder is known to be dead: it ran
// here and its pid no longer names the process that started at PIDStart.
// Anything else (another machine or container, an older stackctl that did
// not record its process, a process that is still there) is not known to
// be dead, and its lock is waited for.
func holderGone(h LockHolder, here process, alive func(pid int, start uint64) bool) bool {
	return here.Gone(h.process(), alive)
}

// process is the process h records.
func (h LockHolder) process() process {
	return process{Host: h.Host, BootID: h.BootID, PIDNamespace: h.PIDNamespace, PID: h.PID, Start: h.PIDStart}
}

// DefaultHolder describes this process: "user@host pid N".
func DefaultHolder() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s pid %d", name, host, os.Getpid())
}
