package procid

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processSpace reads where a pid of this process means one process: the
// kernel's boot ID and this process's pid namespace ("pid:[4026531836]").
func processSpace() (bootID, pidNamespace string) {
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		bootID = strings.TrimSpace(string(b))
	}
	pidNamespace, _ = os.Readlink("/proc/self/ns/pid")
	return bootID, pidNamespace
}

// processStart is when process pid started: field 22 of /proc/PID/stat,
// in clock ticks after boot. The second field (the command, in
// parentheses) may hold spaces and parentheses itself, so the fields are
// counted from its last ')'.
func processStart(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	fields := strings.Fields(s[i+1:]) // fields[0] is field 3, the state
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// Alive reports whether pid still names the process that started at
// start. kill(pid, 0) decides whether any process has the pid (/proc may
// hide other users' processes; signals are not hidden, they are refused);
// a process whose start cannot be read is taken to be the one.
func Alive(pid int, start uint64) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	got, err := processStart(pid)
	if err != nil {
		return true
	}
	return got == start
}
