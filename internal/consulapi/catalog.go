package consulapi

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
)

var _ plan.CatalogReader = (*Client)(nil)

// CatalogRegistrations returns every instance in the datacenter registered
// with meta stackctl_stack=<stack>, whichever agent holds it, with its node
// as Host: a stack with hosts registers each worker with its own host's
// agent (started with -node=<host>), and an instance on a host that is down
// must still be seen. Its status is the worst of its checks and its node's
// (serfHealth goes critical when the node is lost). One request lists the
// stack's service names, then one per service, all at once.
func (c *Client) CatalogRegistrations(ctx context.Context, stack string) ([]plan.Registration, error) {
	q := (&api.QueryOptions{Filter: fmt.Sprintf("ServiceMeta.%s == %q", plan.MetaStack, stack)}).WithContext(ctx)
	services, _, err := c.api.Catalog().Services(q)
	if err != nil {
		return nil, fmt.Errorf("catalog services: %w", err)
	}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	sort.Strings(names)
	entries := make([][]*api.ServiceEntry, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := (&api.QueryOptions{Filter: fmt.Sprintf("Service.Meta.%s == %q", plan.MetaStack, stack)}).WithContext(ctx)
			entries[i], _, errs[i] = c.api.Health().Service(name, "", false, q)
		}()
	}
	wg.Wait()
	var failed *multierror.Error
	for i, name := range names {
		if errs[i] != nil {
			failed = multierror.Append(failed, fmt.Errorf("health of service %s: %w", name, errs[i]))
		}
	}
	if failed != nil {
		return nil, failed.ErrorOrNil()
	}
	var out []plan.Registration
	for _, list := range entries {
		for _, e := range list {
			out = append(out, fromEntry(e))
		}
	}
	return out, nil
}

// fromEntry is a registration as the catalog has it, on its node. Its
// status is its own checks' worst, unless its node's checks are worse than
// passing: a node that fails fails every instance on it, whatever their own
// checks last said, and an instance without checks stays without status.
func fromEntry(e *api.ServiceEntry) plan.Registration {
	var own, node []*api.AgentCheck
	for _, ch := range e.Checks {
		c := &api.AgentCheck{CheckID: ch.CheckID, Status: ch.Status, Output: ch.Output}
		if ch.ServiceID == "" {
			node = append(node, c)
		} else {
			own = append(own, c)
		}
	}
	status, output := worstCheck(own)
	nodeStatus, nodeOutput := worstCheck(node)
	if nodeStatus == plan.CheckCritical || (nodeStatus == plan.CheckWarning && status != plan.CheckCritical) {
		status, output = nodeStatus, nodeOutput
	}
	r := plan.Registration{Status: status, Output: output}
	if e.Node != nil {
		r.Host = e.Node.Node
	}
	if s := e.Service; s != nil {
		r.ID, r.Service, r.Address, r.Port, r.Meta = s.ID, s.Service, s.Address, s.Port, s.Meta
	}
	return r
}
