package consulapi

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// ErrSecretsDiffer is returned by StoreSecrets when the cluster holds other
// secrets than the ones given: its agents run with those, so they are kept.
var ErrSecretsDiffer = errors.New("the cluster already holds other secrets")

// secretKeys names each stored secret under stackctl/<stack>/secrets/.
// The management token is not stored: whoever can read these holds it.
func secretKeys(s *spec.Stack, sec *apply.ClusterSecrets) map[string]*string {
	dir := s.KVPrefix() + plan.KVSecrets
	return map[string]*string{
		dir + "gossip_key":  &sec.GossipKey,
		dir + "agent_token": &sec.AgentToken,
		dir + "lb_token":    &sec.LBToken,
	}
}

// StoreSecrets keeps the cluster's secrets in KV, where only the management
// token reads them, so that a later apply and a host added later use the
// same ones. Each key is written only if it is missing (check-and-set 0):
// one already there with another value is ErrSecretsDiffer, never
// overwritten. Storing the same secrets again changes nothing.
func (c *Client) StoreSecrets(ctx context.Context, s *spec.Stack, sec apply.ClusterSecrets) error {
	w := (&api.WriteOptions{}).WithContext(ctx)
	for key, value := range secretKeys(s, &sec) {
		ok, _, err := c.api.KV().CAS(&api.KVPair{Key: key, Value: []byte(*value), ModifyIndex: 0}, w)
		if err != nil {
			return fmt.Errorf("store %s: %w", key, err)
		}
		if ok {
			continue
		}
		held, err := c.readSecret(ctx, key)
		if err != nil {
			return err
		}
		if held != *value {
			return fmt.Errorf("store %s: %w, which are kept", key, ErrSecretsDiffer)
		}
	}
	return nil
}

// ReadSecrets reads the cluster's secrets back, with the client's own
// token as the management token (only it can read them). It returns nil
// when none are stored (a cluster not made yet), and an error when some
// are missing.
func (c *Client) ReadSecrets(ctx context.Context, s *spec.Stack) (*apply.ClusterSecrets, error) {
	sec := &apply.ClusterSecrets{ManagementToken: c.token}
	var missing []string
	keys := secretKeys(s, sec)
	for key, into := range keys {
		v, err := c.readSecret(ctx, key)
		if err != nil {
			return nil, err
		}
		if v == "" {
			missing = append(missing, key)
		}
		*into = v
	}
	switch len(missing) {
	case 0:
		return sec, nil
	case len(keys):
		return nil, nil
	}
	sort.Strings(missing)
	return nil, fmt.Errorf("the Consul cluster's secrets are incomplete: %s missing", strings.Join(missing, ", "))
}

func (c *Client) readSecret(ctx context.Context, key string) (string, error) {
	kv, _, err := c.api.KV().Get(key, (&api.QueryOptions{}).WithContext(ctx))
	if IsPermissionDenied(err) {
		return "", fmt.Errorf("read %s: %w (only the management token, CONSUL_HTTP_TOKEN, may)", key, err)
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	if kv == nil {
		return "", nil
	}
	return string(kv.Value), nil
}
