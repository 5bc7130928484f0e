package plan_test

import (
	"testing"

	"github.com/stackctl/stackctl/plan"
)

func TestUnreachableListsLostHostsWithWhatTheyHeld(t *testing.T) {
	state := &plan.State{
		Hosts: map[string]*plan.HostState{
			"box3": {Name: "box3", Docker: "ssh://ops@box3", Error: "Docker at ssh://ops@box3: no answer within 5s"},
			"box1": {Name: "box1", Docker: "tcp://10.0.0.2:2375"},
			"box2": {Name: "box2", Docker: "tcp://10.0.0.3:2375", Error: "Docker at tcp://10.0.0.3:2375: connection refused"},
		},
		Containers: []plan.Container{{Name: "primes-web-1", Host: "box1"}},
		Consul: plan.ConsulState{Reached: true, Registrations: []plan.Registration{
			{ID: "primes-web-1", Host: "box1", Status: plan.CheckPassing},
			{ID: "primes-web-2", Host: "box2", Status: plan.CheckCritical},
			{ID: "primes-web-4", Host: "box2", Status: plan.CheckCritical},
		}},
	}
	lost := state.Unreachable()
	if len(lost) != 2 || lost[0].Name != "box2" || lost[1].Name != "box3" {
		t.Fatalf("unreachable = %+v, want box2 and box3, in that order", lost)
	}
	if regs := lost[0].Registrations; len(regs) != 2 || regs[0].ID != "primes-web-2" || regs[1].ID != "primes-web-4" {
		t.Errorf("box2 held %+v, want primes-web-2 and primes-web-4", regs)
	}
	if len(lost[1].Registrations) != 0 || len(lost[1].Containers) != 0 || !lost[1].CatalogRead {
		t.Errorf("box3 = %+v, want nothing held, as read from the catalog", lost[1])
	}
}

func TestUnreachableHostSaysWhatItHeld(t *testing.T) {
	const why = "Docker at tcp://10.0.0.3:2375: connection refused"
	tests := []struct {
		name string
		host plan.UnreachableHost
		want string
	}{
		{"instances in the catalog", plan.UnreachableHost{Name: "box2", Error: why, CatalogRead: true,
			Registrations: []plan.Registration{{ID: "primes-web-2", Status: plan.CheckCritical}, {ID: "primes-web-4", Status: plan.CheckPassing}}},
			"host box2 is unreachable (" + why + "); Consul lists 2 instances on it: primes-web-2 (critical), primes-web-4 (passing)"},
		{"one instance without checks", plan.UnreachableHost{Name: "box2", Error: why, CatalogRead: true,
			Registrations: []plan.Registration{{ID: "primes-web-2"}}},
			"host box2 is unreachable (" + why + "); Consul lists 1 instance on it: primes-web-2"},
		{"nothing in the catalog", plan.UnreachableHost{Name: "box2", Error: why, CatalogRead: true},
			"host box2 is unreachable (" + why + "); Consul lists no instance of the stack on it"},
		{"Consul not reached", plan.UnreachableHost{Name: "box2", Error: why},
			"host box2 is unreachable (" + why + "); what it held is unknown: Consul was not reached either"},
		{"containers seen before the engine failed", plan.UnreachableHost{Name: "box2", Error: why, CatalogRead: true,
			Containers: []plan.Container{{Name: "primes-web-2"}}},
			"host box2 is unreachable (" + why + "); 1 container seen on it: primes-web-2; Consul lists no instance of the stack on it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.host.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestUnreachableIsEmptyOnASingleEngine(t *testing.T) {
	if lost := (&plan.State{Stack: "primes"}).Unreachable(); lost != nil {
		t.Errorf("unreachable = %+v, want none", lost)
	}
}
