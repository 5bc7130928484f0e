package consulapi

import (
	"fmt"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// The policies of a multi-host stack's Consul cluster, each holding only
// what its token's user needs; everything else is denied
// (acl.default_policy "deny"). stackctl itself works with the management
// token.

// AgentPolicyName is the policy of every agent's token.
func AgentPolicyName(s *spec.Stack) string { return s.Name + "-agent" }

// LBPolicyName is the policy of the load balancer's token.
func LBPolicyName(s *spec.Stack) string { return s.Name + "-lb" }

// AgentRules lets an agent register its node and keep its entry (node
// write; any node, since the same token serves every host's agent, and
// hosts come and go), and read services, as its anti-entropy does.
func AgentRules() string {
	return `node_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "read"
}
`
}

// LBRules lets the LB read what it renders: services and their health
// (which need the nodes, since health results are filtered by node), and
// its template; and write its status, the one key it writes. The template
// key's folder is readable as a whole, for templates that read keys beside
// it; the rest of the stack's keys (the journal, the lock, the cluster's
// secrets) are not.
func LBRules(s *spec.Stack) string {
	lb := s.KVPrefix() + "lb/"
	return fmt.Sprintf(`service_prefix "" {
  policy = "read"
}
node_prefix "" {
  policy = "read"
}
key_prefix %q {
  policy = "read"
}
key %q {
  policy = "write"
}
`, lb, s.KVPrefix()+plan.KVLBStatus)
}
