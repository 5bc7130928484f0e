package consulapi

import (
	"regexp"
	"testing"

	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

func TestACLRulesText(t *testing.T) {
	s := &spec.Stack{Name: "fleet"}
	golden.Assert(t, "acl-agent.golden", []byte(AgentRules()))
	golden.Assert(t, "acl-lb.golden", []byte(LBRules(s)))
	if AgentPolicyName(s) != "fleet-agent" || LBPolicyName(s) != "fleet-lb" {
		t.Errorf("policy names %s, %s; want fleet-agent, fleet-lb", AgentPolicyName(s), LBPolicyName(s))
	}
}

// TestLBRulesGrantTheLBsKeysOnly evaluates the LB's key rules as Consul
// does (an exact key rule wins, then the longest prefix, else deny) over
// the keys a stack has.
func TestLBRulesGrantTheLBsKeysOnly(t *testing.T) {
	s := &spec.Stack{Name: "fleet"}
	p := s.KVPrefix()
	rules := LBRules(s)
	for key, want := range map[string]string{
		p + plan.KVLBTemplate:             "read",
		p + plan.KVLBStatus:               "write",
		p + "lb/extra":                    "read",
		p + plan.KVJournal:                "deny",
		p + plan.KVSecrets + "gossip_key": "deny",
		p + plan.KVSecrets + "lb_token":   "deny",
		p + "lock":                        "deny",
		"stackctl/other/lb/template":      "deny",
		"stackctl/fleet-2/lb/template":    "deny",
		"anything":                        "deny",
	} {
		if got := keyPolicy(t, rules, key); got != want {
			t.Errorf("LB on %s: %s, want %s", key, got, want)
		}
	}
	for key := range map[string]bool{p + plan.KVSecrets + "agent_token": true, p + plan.KVLBTemplate: true} {
		if got := keyPolicy(t, AgentRules(), key); got != "deny" {
			t.Errorf("agent on %s: %s, want deny", key, got)
		}
	}
}

var keyRule = regexp.MustCompile(`(?m)^(key|key_prefix) "([^"]*)" \{\n  policy = "(\w+)"\n\}`)

func keyPolicy(t *testing.T, rules, key string) string {
	t.Helper()
	policy, longest := "deny", -1
	for _, m := range keyRule.FindAllStringSubmatch(rules, -1) {
		kind, path, p := m[1], m[2], m[3]
		switch {
		case kind == "key" && path == key:
			return p
		case kind == "key_prefix" && len(path) > longest && len(key) >= len(path) && key[:len(path)] == path:
			policy, longest = p, len(path)
		}
	}
	return policy
}
