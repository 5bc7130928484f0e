package consulapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/spec"
)

// SetupACL makes, or brings back to what they should be, the policies and
// tokens of a multi-host stack's cluster: the agents' token and the LB's,
// each with its policy and the SecretID chosen in sec. The client must hold
// the management token, and the cluster a leader (WaitCluster). Running it
// again changes nothing that is right already.
func (c *Client) SetupACL(ctx context.Context, s *spec.Stack, sec apply.ClusterSecrets) error {
	for _, t := range []struct {
		policy, rules, secret, description string
	}{
		{AgentPolicyName(s), AgentRules(), sec.AgentToken, "stackctl " + s.Name + ": every Consul agent"},
		{LBPolicyName(s), LBRules(s), sec.LBToken, "stackctl " + s.Name + ": the load balancer"},
	} {
		if err := c.ensurePolicy(ctx, t.policy, t.rules); err != nil {
			return fmt.Errorf("ACL policy %s: %w", t.policy, err)
		}
		if err := c.ensureToken(ctx, t.secret, t.description, t.policy); err != nil {
			return fmt.Errorf("ACL token of policy %s: %w", t.policy, err)
		}
	}
	return nil
}

func (c *Client) ensurePolicy(ctx context.Context, name, rules string) error {
	q := (&api.QueryOptions{}).WithContext(ctx)
	w := (&api.WriteOptions{}).WithContext(ctx)
	p, _, err := c.api.ACL().PolicyReadByName(name, q)
	if isACLNotFound(err) {
		// Consul 1.14 says 403 "ACL not found" for a missing policy
		// where later versions say 404; a bad token fails the create.
		p, err = nil, nil
	}
	switch {
	case err != nil:
		return err
	case p == nil:
		_, _, err = c.api.ACL().PolicyCreate(&api.ACLPolicy{Name: name, Rules: rules,
			Description: "made by stackctl; changes are undone by its next apply"}, w)
	case p.Rules != rules:
		p.Rules = rules
		_, _, err = c.api.ACL().PolicyUpdate(p, w)
	}
	return err
}

// ensureToken finds the token by its secret (reading "self" with it), and
// creates it with that secret when Consul does not know it. Only the
// secret identifies it: stackctl keeps no accessor ID.
func (c *Client) ensureToken(ctx context.Context, secret, description, policy string) error {
	tok, _, err := c.api.ACL().TokenReadSelf((&api.QueryOptions{Token: secret}).WithContext(ctx))
	w := (&api.WriteOptions{}).WithContext(ctx)
	links := []*api.ACLTokenPolicyLink{{Name: policy}}
	switch {
	case isACLNotFound(err):
		_, _, err = c.api.ACL().TokenCreate(&api.ACLToken{SecretID: secret, Description: description, Policies: links}, w)
	case err != nil:
		return err
	case !hasOnlyPolicy(tok, policy) || tok.Description != description:
		_, _, err = c.api.ACL().TokenUpdate(&api.ACLToken{AccessorID: tok.AccessorID, SecretID: secret,
			Description: description, Policies: links}, w)
	}
	return err
}

func hasOnlyPolicy(t *api.ACLToken, policy string) bool {
	return len(t.Policies) == 1 && t.Policies[0].Name == policy && len(t.Roles) == 0 &&
		len(t.ServiceIdentities) == 0 && len(t.NodeIdentities) == 0
}

// isACLNotFound tells a token Consul does not know (403 "ACL not found")
// from other refusals.
func isACLNotFound(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.Code == 403 && strings.Contains(se.Body, "ACL not found")
}

// IsPermissionDenied tells whether Consul refused a call for its token's
// rights (403), as a stackctl token is refused what its policy leaves out.
func IsPermissionDenied(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.Code == 403
}
