package plan

import (
	"strings"

	"github.com/stackctl/stackctl/spec"
)

// KVSecrets is the folder, under spec.Stack.KVPrefix, that holds a
// multi-host stack's Consul secrets (the gossip key, the agents' and the
// LB's tokens). No policy stackctl makes grants it: only the management
// token reads it.
const KVSecrets = "secrets/"

// ConsulAgentLabels are the labels of the Consul agent container on host,
// in a stack with hosts: the ownership labels of every container, with the
// agent's own hash (spec.Stack.ConsulAgentHash) and config.
func ConsulAgentLabels(s *spec.Stack, host string) map[string]string {
	return withEnv(s, map[string]string{
		spec.LabelStack: s.Name,
		spec.LabelRole:  RoleConsul,
		spec.LabelHash:  s.ConsulAgentHash(host),
		LabelConfig:     encodeConfig(ConsulAgentConfig(s, host)),
	})
}

// ConsulAgentConfig is the flat view of host's Consul agent config, for
// diffs. It holds no secret.
func ConsulAgentConfig(s *spec.Stack, host string) map[string]string {
	cfg := map[string]string{
		"image":   s.Consul.Image,
		"mode":    "client",
		"servers": strings.Join(s.ConsulServerAddresses(), ","),
	}
	if h := s.Host(host); h != nil {
		cfg["address"] = h.Address
	}
	if s.ConsulServer(host) {
		cfg["mode"] = "server"
	}
	return cfg
}

// VolumeLabels are the labels of a named volume the stack owns.
func VolumeLabels(s *spec.Stack) map[string]string {
	return withEnv(s, map[string]string{spec.LabelStack: s.Name})
}
