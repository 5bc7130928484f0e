package e2e

import (
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/images"
)

// Consul is a single-server Consul of the test, reachable from the host on a
// published loopback port and from the test's containers at IP:8500.
type Consul struct {
	*Container
	// Addr is the 127.0.0.1:port the HTTP API is published on.
	Addr   string
	Client *api.Client
}

// StartConsul starts a Consul server like the reference stack's and waits
// until it has elected itself leader, when it accepts registrations.
func (e *Env) StartConsul() *Consul {
	e.t.Helper()
	c := e.Start(ContainerSpec{
		Name:  "consul",
		Image: images.Consul,
		Cmd: []string{"agent", "-server", "-bootstrap-expect=1", "-client=0.0.0.0",
			"-data-dir=/tmp/consul", "-node=" + e.Stack + "-consul",
			// Consul's default raft timing is five times slower, tuned for
			// busy WAN links; a lone server then waits ~7 s to lead.
			"-hcl=performance { raft_multiplier = 1 }"},
		Ports: []string{"8500"},
	})
	addr := c.Addr("8500")
	client, err := api.NewClient(&api.Config{Address: addr, Scheme: "http"})
	if err != nil {
		e.t.Fatalf("consul client for %s: %v", addr, err)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		leader, err := client.Status().Leader()
		if err == nil && leader != "" {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("consul in %s elected no leader: %v (leader %q)", c.Name, err, leader)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return &Consul{Container: c, Addr: addr, Client: client}
}
