package consulapi

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/plan"
)

// Registrations returns the service instances the agent holds with meta
// stackctl_stack=<stack>, with their checks' worst status. Two requests, made
// at once, whatever the number of instances: the agent's services filtered
// by meta, and its service checks.
func (c *Client) Registrations(ctx context.Context, stack string) ([]plan.Registration, error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	var (
		services      map[string]*api.AgentService
		checks        map[string]*api.AgentCheck
		svcErr, chErr error
		wg            sync.WaitGroup
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		services, svcErr = c.api.Agent().ServicesWithFilterOpts(fmt.Sprintf("Meta.%s == %q", plan.MetaStack, stack), q)
	}()
	go func() {
		defer wg.Done()
		checks, chErr = c.api.Agent().ChecksWithFilterOpts(`ServiceID != ""`, q)
	}()
	wg.Wait()
	if svcErr != nil {
		return nil, fmt.Errorf("agent services: %w", svcErr)
	}
	if chErr != nil {
		return nil, fmt.Errorf("agent checks: %w", chErr)
	}
	byService := map[string][]*api.AgentCheck{}
	for _, ch := range checks {
		byService[ch.ServiceID] = append(byService[ch.ServiceID], ch)
	}
	out := make([]plan.Registration, 0, len(services))
	for _, s := range services {
		status, output := worstCheck(byService[s.ID])
		out = append(out, plan.Registration{
			ID: s.ID, Service: s.Service, Address: s.Address, Port: s.Port,
			Meta: s.Meta, Status: status, Output: output,
		})
	}
	return out, nil
}

// worstCheck aggregates an instance's checks: critical beats warning beats
// passing; maintenance mode and unknown statuses count as critical. The
// output is the worst check's (the first by check ID on a tie).
func worstCheck(checks []*api.AgentCheck) (status, output string) {
	sort.Slice(checks, func(i, j int) bool { return checks[i].CheckID < checks[j].CheckID })
	rank := map[string]int{api.HealthPassing: 1, api.HealthWarning: 2}
	worst := 0
	for _, ch := range checks {
		r, known := rank[ch.Status]
		if !known {
			r = 3
		}
		if r > worst {
			worst, output = r, ch.Output
		}
	}
	switch worst {
	case 0:
		return plan.CheckNone, ""
	case 1:
		return plan.CheckPassing, ""
	case 2:
		return plan.CheckWarning, output
	}
	return plan.CheckCritical, output
}

// KVGet returns a key's value; ok is false when the key does not exist.
func (c *Client) KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	pair, _, err := c.api.KV().Get(key, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, false, err
	}
	if pair == nil {
		return nil, false, nil
	}
	return pair.Value, true, nil
}

// Leader returns the address of the Raft leader of the agent's datacenter
// (GET /v1/status/leader), "" while there is none. It reads; apply also
// polls it to know when Consul accepts writes.
func (c *Client) Leader(ctx context.Context) (string, error) {
	var leader string
	_, err := c.api.Raw().Query("/v1/status/leader", &leader, (&api.QueryOptions{}).WithContext(ctx))
	return leader, err
}

// Peers returns the addresses of the datacenter's Raft peers (GET
// /v1/status/peers).
func (c *Client) Peers(ctx context.Context) ([]string, error) {
	var peers []string
	_, err := c.api.Raw().Query("/v1/status/peers", &peers, (&api.QueryOptions{}).WithContext(ctx))
	return peers, err
}
