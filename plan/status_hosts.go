package plan

import (
	"sort"

	"github.com/stackctl/stackctl/spec"
)

// HostStatus is one host of a stack with hosts, as status shows it: whether
// its engine answered, its Consul agent, and the workers on it.
type HostStatus struct {
	Name    string `json:"name"`
	Docker  string `json:"docker"`
	Reached bool   `json:"reached"`
	// Error says why its engine was not read; Held then says what Consul
	// knows it held (UnreachableHost.String).
	Error string `json:"error,omitempty"`
	Held  string `json:"held,omitempty"`
	// Agent is its Consul agent's container and state, and whether it is a
	// server.
	Agent      string `json:"agent,omitempty"`
	AgentState string `json:"agent_state,omitempty"`
	Server     bool   `json:"server,omitempty"`
	// Workers counts the stack's running workers on the host.
	Workers int `json:"workers"`
	// Excluded says the run left the host out (--exclude-host).
	Excluded bool `json:"excluded,omitempty"`
}

// hostStatuses lists a stack's hosts, in file order, the excluded last.
func hostStatuses(desired *spec.Stack, state *State) []HostStatus {
	if !desired.MultiHost() {
		return nil
	}
	lost := map[string]string{}
	for _, u := range state.Unreachable() {
		lost[u.Name] = u.String()
	}
	var out []HostStatus
	add := func(h *spec.Host, excluded bool) {
		hs := HostStatus{Name: h.Name, Docker: h.Docker, Excluded: excluded, Server: desired.ConsulServer(h.Name)}
		if seen := state.Hosts[h.Name]; seen != nil {
			hs.Reached, hs.Error = seen.Reached(), seen.Error
		}
		hs.Held = lost[h.Name]
		if desired.Consul.Managed() {
			hs.Agent = desired.ConsulAgentName(h.Name)
			hs.AgentState = StateOf(state.ContainerOn(hs.Agent, h.Name))
		}
		for _, c := range state.Containers {
			if c.Host == h.Name && c.Role() == RoleWorker && c.Running() {
				hs.Workers++
			}
		}
		out = append(out, hs)
	}
	for _, h := range desired.Hosts {
		add(h, false)
	}
	excluded := append([]*spec.Host(nil), desired.Excluded...)
	sort.Slice(excluded, func(i, j int) bool { return excluded[i].Name < excluded[j].Name })
	for _, h := range excluded {
		add(h, true)
	}
	return out
}

// everyHostHasNetwork reports whether each host that answered has the
// stack network (a host that did not answer is named in Hosts instead).
func everyHostHasNetwork(desired *spec.Stack, state *State) bool {
	for _, h := range desired.Hosts {
		if hs := state.Hosts[h.Name]; hs != nil && hs.Reached() && hs.Network == nil {
			return false
		}
	}
	return true
}
