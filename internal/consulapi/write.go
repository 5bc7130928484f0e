package consulapi

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/apply"
)

var _ apply.Consul = (*Client)(nil)

// Dialer is New as an apply.ConsulDialer.
func Dialer(addr string) (apply.Consul, error) { return New(addr) }

// Leader returns the address of the cluster's leader, "" while there is none.
func (c *Client) Leader(ctx context.Context) (string, error) {
	var leader string
	_, err := c.api.Raw().Query("/v1/status/leader", &leader, (&api.QueryOptions{}).WithContext(ctx))
	return leader, err
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
			Name:     "HTTP " + r.Check.URL,
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
	checks, err := c.api.Agent().ChecksWithFilterOpts(`ServiceID == "`+id+`"`, q)
	if err != nil {
		return nil, err
	}
	for _, ch := range checks {
		d := ch.Definition
		if d.HTTP == "" {
			continue
		}
		out.Check = &apply.Check{
			URL:             d.HTTP,
			Interval:        time.Duration(d.IntervalDuration),
			Timeout:         time.Duration(d.TimeoutDuration),
			DeregisterAfter: time.Duration(d.DeregisterCriticalServiceAfterDuration),
		}
	}
	return out, nil
}

// Status is the worst status of a registration's checks, "" when the
// registration does not exist.
func (c *Client) Status(ctx context.Context, id string) (string, error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	checks, err := c.api.Agent().ChecksWithFilterOpts(`ServiceID == "`+id+`"`, q)
	if err != nil {
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
