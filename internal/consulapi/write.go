package consulapi

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/plan"
)

var _ apply.Consul = (*Client)(nil)

// Dialer is New as an apply.ConsulDialer.
func Dialer(addr string) (apply.Consul, error) { return New(addr) }

// LocalStatus is the aggregated status of a registration's checks as the
// agent running them sees it ("" when it is not registered here).
func (c *Client) LocalStatus(ctx context.Context, id string) (string, error) {
	var checks map[string]*api.AgentCheck
	q := (&api.QueryOptions{Filter: `ServiceID == "` + id + `"`}).WithContext(ctx)
	if _, err := c.api.Raw().Query("/v1/agent/checks", &checks, q); err != nil {
		return "", err
	}
	if len(checks) == 0 {
		return "", nil
	}
	list := make([]*api.AgentCheck, 0, len(checks))
	for _, ch := range checks {
		list = append(list, ch)
	}
	status, _ := worstCheck(list)
	return status, nil
}

// SyncNow makes the agent write its registrations and check statuses to
// the catalog at once. Consul has no call for that; taking a service out of
// maintenance mode that is not in it changes nothing, and the agent syncs
// its changes before it answers any maintenance call.
func (c *Client) SyncNow(ctx context.Context, id string) error {
	return c.api.Agent().DisableServiceMaintenanceOpts(id, (&api.QueryOptions{}).WithContext(ctx))
}

// Register registers a service instance with the agent, replacing one with
// the same ID.
func (c *Client) Register(ctx context.Context, r apply.Registration) error {
	reg := &api.AgentServiceRegistration{
		ID:      r.ID,
		Name:    r.Service,
		Address: r.Address,
		Port:    r.Port,
		Meta:    r.Meta,
	}
	if r.Check != nil {
		chk := &api.AgentServiceCheck{
			CheckID:  "service:" + r.ID,
			Name:     checkNamePrefix + r.Check.URL,
			HTTP:     r.Check.URL,
			Interval: r.Check.Interval.String(),
			Timeout:  r.Check.Timeout.String(),
		}
		if r.Check.DeregisterAfter > 0 {
			chk.DeregisterCriticalServiceAfter = r.Check.DeregisterAfter.String()
		}
		if r.Passing {
			chk.Status = api.HealthPassing
		}
		reg.Check = chk
	}
	return c.api.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{}.WithContext(ctx))
}

// Deregister removes a service instance; a missing one is not an error.
func (c *Client) Deregister(ctx context.Context, id string) error {
	_, _, err := c.api.Agent().Service(id, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	err = c.api.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx))
	if isNotFound(err) {
		return nil
	}
	return err
}

func isNotFound(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.Code == 404
	}
	return err != nil && (strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "Unknown service"))
}

// Registration reads back a registration with its HTTP check, or nil.
func (c *Client) Registration(ctx context.Context, id string) (*apply.Registration, error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	svc, _, err := c.api.Agent().Service(id, q)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &apply.Registration{ID: svc.ID, Service: svc.Service, Address: svc.Address, Port: svc.Port, Meta: svc.Meta}
	var checks map[string]agentCheck
	qf := (&api.QueryOptions{Filter: `ServiceID == "` + id + `"`}).WithContext(ctx)
	if _, err := c.api.Raw().Query("/v1/agent/checks", &checks, qf); err != nil {
		return nil, err
	}
	for _, ch := range checks {
		if chk := checkOf(ch); chk != nil {
			chk.DeregisterAfter = deregisterAfter(svc.Meta)
			out.Check = chk
		}
	}
	return out, nil
}

// deregisterAfter reads the check's deregister-after setting back from the
// readable summary stackctl keeps in the meta (plan.CheckSummary): the agent
// does not return it.
func deregisterAfter(meta map[string]string) time.Duration {
	_, after, ok := strings.Cut(meta[plan.MetaCheck], ", deregister after ")
	if !ok {
		return 0
	}
	d, _ := time.ParseDuration(after)
	return d
}

// agentCheck is a check as /v1/agent/checks returns it, with the interval
// and timeout the client library's AgentCheck leaves out.
type agentCheck struct {
	Name     string
	Interval string
	Timeout  string
}

// checkNamePrefix starts the name Register gives a check, followed by its
// URL: the agent's checks endpoint returns the interval and timeout but not
// the URL (its Definition is empty), so the name carries it.
const checkNamePrefix = "HTTP "

// checkOf reads back an HTTP check registered by Register. The
// deregister-after setting is not returned by the agent and is lost.
func checkOf(ch agentCheck) *apply.Check {
	if !strings.HasPrefix(ch.Name, checkNamePrefix) {
		return nil
	}
	chk := &apply.Check{URL: strings.TrimPrefix(ch.Name, checkNamePrefix)}
	chk.Interval, _ = time.ParseDuration(ch.Interval)
	chk.Timeout, _ = time.ParseDuration(ch.Timeout)
	if chk.Interval <= 0 {
		return nil
	}
	return chk
}

// Status is the worst status of a registration's checks as the catalog has
// it — what health queries, and so the LB, see; the agent's own view can be
// a moment ahead. "" when the registration does not exist.
func (c *Client) Status(ctx context.Context, id string) (string, error) {
	q := (&api.QueryOptions{Filter: `ServiceID == "` + id + `"`}).WithContext(ctx)
	checks, _, err := c.api.Health().State(api.HealthAny, q)
	if err != nil {
		return "", err
	}
	if len(checks) == 0 {
		return "", nil
	}
	list := make([]*api.AgentCheck, 0, len(checks))
	for _, ch := range checks {
		list = append(list, &api.AgentCheck{CheckID: ch.CheckID, Status: ch.Status, Output: ch.Output})
	}
	status, _ := worstCheck(list)
	return status, nil
}

// Serving reports whether the catalog serves registration id of service at
// address with every check passing: a registration that replaced another
// under the same ID is served only once the catalog has its address.
func (c *Client) Serving(ctx context.Context, service, id, address string) (bool, error) {
	q := (&api.QueryOptions{Filter: `Service.ID == "` + id + `"`}).WithContext(ctx)
	entries, _, err := c.api.Health().Service(service, "", false, q)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Service != nil && e.Service.Address == address && e.Checks.AggregatedStatus() == api.HealthPassing {
			return true, nil
		}
	}
	return false, nil
}

// KVPut writes a key.
func (c *Client) KVPut(ctx context.Context, key string, value []byte) error {
	_, err := c.api.KV().Put(&api.KVPair{Key: key, Value: value}, (&api.WriteOptions{}).WithContext(ctx))
	return err
}

// KVDelete deletes a key; a missing key is not an error.
func (c *Client) KVDelete(ctx context.Context, key string) error {
	_, err := c.api.KV().Delete(key, (&api.WriteOptions{}).WithContext(ctx))
	return err
}
