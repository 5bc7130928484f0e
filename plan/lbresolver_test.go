package plan_test

import (
	"testing"

	"github.com/stackctl/stackctl/plan"
)

func TestLBResolverIsTheLBItselfOnlyWithHosts(t *testing.T) {
	single := primes(2)
	if got, want := plan.LBResolverAddress(single), plan.ConsulDNSAddress(plan.LBConsulAddress(single)); got != want {
		t.Errorf("single host: %s, want Consul's DNS %s", got, want)
	}
	if got := plan.LBResolverAddress(threeBoxes(t, 3)); got != plan.LBDNSAddress {
		t.Errorf("with hosts: %s, want the LB's own %s", got, plan.LBDNSAddress)
	}
}
