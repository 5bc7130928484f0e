package procid

import "testing"

// The real lookup: this process is alive with its own start time, and not
// with another; a pid nobody has is gone.
func TestProcessAliveLooksAtStartTime(t *testing.T) {
	me := Self()
	if me.BootID == "" || me.PIDNamespace == "" || me.Start == 0 {
		t.Skipf("no /proc here: %+v", me)
	}
	if !Alive(me.PID, me.Start) {
		t.Errorf("this process (pid %d, start %d) is not alive", me.PID, me.Start)
	}
	if Alive(me.PID, me.Start+1) {
		t.Errorf("this process counts as alive with another start time")
	}
	if Alive(1<<22+1, 1) { // above pid_max's ceiling
		t.Errorf("a pid nobody has counts as alive")
	}
}
