package apply

import (
	"slices"
	"testing"
)

func TestLBCommandAnswersDNSItselfOnlyWithHosts(t *testing.T) {
	single := LBCommand(stackFile(t, 1, "primes:v1", "start-first", "rollback", 1))
	want := []string{"stackctl", "lb", "run", "--consul", "http://unit-consul:8500",
		"--template-key", "stackctl/unit/lb/template", "--status-key", "stackctl/unit/lb/status",
		"--", "nginx", "-g", "daemon off;"}
	if !slices.Equal(single, want) {
		t.Errorf("single host:\n got %q\nwant %q", single, want)
	}
	hosts := LBCommand(clusterStack(t, "[box1]"))
	i := slices.Index(hosts, "--dns")
	if i < 0 || hosts[i+1] != "127.0.0.1:8600" || i+2 > slices.Index(hosts, "--") {
		t.Errorf("with hosts: %q, want --dns 127.0.0.1:8600 before --", hosts)
	}
}
