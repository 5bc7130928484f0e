package apply

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// Paths in a Consul agent's container. The image (scripts/images/
// consul.Dockerfile) runs as nobody and owns /consul/data, whose content a
// new volume copies, owner included.
const (
	ConsulDataDir    = "/consul/data"
	ConsulConfigDir  = "/consul/config"
	ConsulConfigFile = ConsulConfigDir + "/stackctl.json"
	// consulUID is the image's user, nobody: the config file is its own,
	// mode 0600, the only reader of the secrets in it.
	consulUID = 65534
)

// ConsulAgentSpecs returns the Consul agent container of every host of a
// multi-host stack, by host name: see ConsulAgentSpec.
func ConsulAgentSpecs(s *spec.Stack, sec ClusterSecrets) (map[string]ContainerSpec, error) {
	out := make(map[string]ContainerSpec, len(s.Hosts))
	for _, h := range s.Hosts {
		cs, err := ConsulAgentSpec(s, h.Name, sec)
		if err != nil {
			return nil, err
		}
		out[h.Name] = cs
	}
	return out, nil
}

// ConsulAgentSpec is the Consul agent container on host, for that host's
// engine: a server if host is one of consul.servers, else a client. It
// runs in the host's network and binds the host's address, so that other
// hosts' agents reach it and it checks workers where the LB reaches them.
// Its data is in the volume <stack>-consul-data; the gossip key and the
// ACL tokens are in a config file copied in before it starts, never in its
// command or environment.
//
// The labels are the ownership labels without the apply's ID, which the
// Executor adds as it does to every container it creates.
func ConsulAgentSpec(s *spec.Stack, host string, sec ClusterSecrets) (ContainerSpec, error) {
	h := s.Host(host)
	if h == nil {
		return ContainerSpec{}, fmt.Errorf("consul agent: %s is not a host of stack %s", host, s.Name)
	}
	if len(s.Consul.Servers) == 0 || !s.Consul.Managed() {
		return ContainerSpec{}, fmt.Errorf("consul agent on %s: stack %s has no managed Consul servers", host, s.Name)
	}
	if err := sec.Validate(); err != nil {
		return ContainerSpec{}, fmt.Errorf("consul agent on %s: %w", host, err)
	}
	server := s.ConsulServer(host)
	config, err := consulAgentConfig(sec, server)
	if err != nil {
		return ContainerSpec{}, fmt.Errorf("consul agent on %s: %w", host, err)
	}
	return ContainerSpec{
		Name:        s.ConsulAgentName(host),
		Image:       s.Consul.Image,
		Cmd:         consulAgentCommand(s, h, server),
		Labels:      plan.ConsulAgentLabels(s, host),
		HostNetwork: true,
		Volumes: []VolumeMount{{Name: s.ConsulDataVolume(), Target: ConsulDataDir,
			Labels: plan.VolumeLabels(s)}},
		Files: []File{{Path: ConsulConfigFile, Mode: 0o600, UID: consulUID, GID: consulUID, Content: config}},
		// Time to shut down cleanly on SIGTERM (a server stays a raft peer,
		// leave_on_terminate being off for servers) rather than be killed.
		StopTimeout: 30 * time.Second,
		Restart:     "unless-stopped",
	}, nil
}

// consulAgentCommand is the agent's command: everything but its secrets.
// Servers keep Consul's default raft timing (raft_multiplier 5), unlike the
// lone single-host server: a cluster on busy machines must not take a slow
// heartbeat for a dead leader.
func consulAgentCommand(s *spec.Stack, h *spec.Host, server bool) []string {
	cmd := []string{"agent", "-node=" + h.Name,
		"-bind=" + h.Address, "-advertise=" + h.Address, "-client=127.0.0.1 " + h.Address,
		"-data-dir=" + ConsulDataDir, "-config-dir=" + ConsulConfigDir}
	for _, addr := range s.ConsulServerAddresses() {
		cmd = append(cmd, "-retry-join="+addr)
	}
	if server {
		cmd = append(cmd, "-server", "-bootstrap-expect="+strconv.Itoa(len(s.Consul.Servers)), "-ui")
	}
	return cmd
}

// consulAgentFile is the agent's config file (Consul 1.14's JSON form): the
// gossip key, and ACLs on with default deny. Servers hold the management
// token as initial_management, which makes it on the first leader's
// election; every agent holds its own token, made by consulapi.SetupACL.
// Tokens set through the API persist in the data volume.
type consulAgentFile struct {
	Encrypt string         `json:"encrypt"`
	ACL     consulACLBlock `json:"acl"`
	// Autopilot is the servers' only: see consulAgentConfig.
	Autopilot *consulAutopilot `json:"autopilot,omitempty"`
}

type consulAutopilot struct {
	CleanupDeadServers bool `json:"cleanup_dead_servers"`
}

type consulACLBlock struct {
	Enabled                bool              `json:"enabled"`
	DefaultPolicy          string            `json:"default_policy"`
	EnableTokenPersistence bool              `json:"enable_token_persistence"`
	Tokens                 map[string]string `json:"tokens"`
}

func consulAgentConfig(sec ClusterSecrets, server bool) ([]byte, error) {
	tokens := map[string]string{"agent": sec.AgentToken}
	if server {
		tokens["initial_management"] = sec.ManagementToken
	}
	f := consulAgentFile{
		Encrypt: sec.GossipKey,
		ACL:     consulACLBlock{Enabled: true, DefaultPolicy: "deny", EnableTokenPersistence: true, Tokens: tokens},
	}
	if server {
		// A server whose host is down keeps its place: autopilot would
		// otherwise reap it within seconds, and the catalog would forget
		// every instance on that host, which plan names as what the lost
		// host held. The host is expected back (or is taken out of the
		// stack file); two of three servers keep the quorum meanwhile.
		f.Autopilot = &consulAutopilot{CleanupDeadServers: false}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	return append(b, '\n'), nil
}
