package apply

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// clusterStack is a stack on three hosts whose servers are servers.
func clusterStack(t *testing.T, servers string) *spec.Stack {
	t.Helper()
	yaml := `version: 1
name: fleet
hosts:
  - {name: box1, docker: "tcp://10.9.0.2:2375", address: 10.9.0.2, insecure: true}
  - {name: box2, docker: "tcp://10.9.0.3:2375", address: 10.9.0.3, insecure: true}
  - {name: box3, docker: "tcp://10.9.0.4:2375", address: 10.9.0.4, insecure: true}
consul:
  image: stackctl.local/consul:1.14.8
  servers: ` + servers + `
services:
  web: {image: stackctl.local/primes:v1, port: 5000}
`
	s, err := spec.Parse("fleet.yaml", []byte(yaml), nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testSecrets are fixed secrets, so that golden files are stable.
var testSecrets = ClusterSecrets{
	GossipKey:       "c2VjcmV0LWdvc3NpcC1rZXktb2YtMzItYnl0ZXMhISE=",
	ManagementToken: "11111111-1111-4111-8111-111111111111",
	AgentToken:      "22222222-2222-4222-8222-222222222222",
	LBToken:         "33333333-3333-4333-8333-333333333333",
}

func (s ClusterSecrets) values() []string {
	return []string{s.GossipKey, s.ManagementToken, s.AgentToken, s.LBToken}
}

func TestConsulAgentSpecIsAServerOnServersAndAClientElsewhere(t *testing.T) {
	join := []string{"-retry-join=10.9.0.2", "-retry-join=10.9.0.3", "-retry-join=10.9.0.4"}
	for _, tc := range []struct {
		name, servers, host string
		wantTail            []string
	}{
		{"three servers, a server", "[box1, box2, box3]", "box2",
			append(join, "-server", "-bootstrap-expect=3", "-ui")},
		{"one server, the server", "[box1]", "box1",
			[]string{"-retry-join=10.9.0.2", "-server", "-bootstrap-expect=1", "-ui"}},
		{"one server, a client", "[box1]", "box3", []string{"-retry-join=10.9.0.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := clusterStack(t, tc.servers)
			cs, err := ConsulAgentSpec(s, tc.host, testSecrets)
			if err != nil {
				t.Fatal(err)
			}
			addr := s.Host(tc.host).Address
			wantCmd := append([]string{"agent", "-node=" + tc.host, "-bind=" + addr, "-advertise=" + addr,
				"-client=127.0.0.1 " + addr, "-data-dir=/consul/data", "-config-dir=/consul/config"}, tc.wantTail...)
			if !reflect.DeepEqual(cs.Cmd, wantCmd) {
				t.Errorf("Cmd =\n  %q\nwant\n  %q", cs.Cmd, wantCmd)
			}
			if cs.Name != "fleet-consul-"+tc.host || cs.Image != "stackctl.local/consul:1.14.8" || !cs.HostNetwork ||
				cs.Network != "" || len(cs.Ports) != 0 || cs.Restart != "unless-stopped" {
				t.Errorf("spec = %+v, want fleet-consul-%s of the stack's image on the host's network", cs, tc.host)
			}
			wantVol := []VolumeMount{{Name: "fleet-consul-data", Target: "/consul/data", Labels: map[string]string{spec.LabelStack: "fleet"}}}
			if !reflect.DeepEqual(cs.Volumes, wantVol) {
				t.Errorf("Volumes = %+v, want %+v", cs.Volumes, wantVol)
			}
			if cs.Labels[spec.LabelStack] != "fleet" || cs.Labels[spec.LabelRole] != plan.RoleConsul ||
				cs.Labels[spec.LabelHash] != s.ConsulAgentHash(tc.host) {
				t.Errorf("Labels = %v, want the stack's, role consul and the agent's hash", cs.Labels)
			}
		})
	}
}

func TestConsulAgentSecretsAreInItsFileOnly(t *testing.T) {
	s := clusterStack(t, "[box1]")
	specs, err := ConsulAgentSpecs(s, testSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 3 {
		t.Fatalf("%d specs, want one per host", len(specs))
	}
	for host, cs := range specs {
		if len(cs.Files) != 1 || cs.Files[0].Path != "/consul/config/stackctl.json" ||
			cs.Files[0].Mode != 0o600 || cs.Files[0].UID != 65534 || cs.Files[0].GID != 65534 {
			t.Fatalf("%s: Files = %v, want the config file, nobody's, mode 0600", host, cs.Files)
		}
		var cfg consulAgentFile
		if err := json.Unmarshal(cs.Files[0].Content, &cfg); err != nil {
			t.Fatalf("%s: config file: %v", host, err)
		}
		want := map[string]string{"agent": testSecrets.AgentToken}
		if s.ConsulServer(host) {
			want["initial_management"] = testSecrets.ManagementToken
		}
		if cfg.Encrypt != testSecrets.GossipKey || !cfg.ACL.Enabled || cfg.ACL.DefaultPolicy != "deny" ||
			!cfg.ACL.EnableTokenPersistence || !reflect.DeepEqual(cfg.ACL.Tokens, want) {
			t.Errorf("%s: config %s, want the gossip key, ACLs default deny, tokens %v", host, cs.Files[0].Content, want)
		}
		// Everything docker inspect and stackctl's output could show.
		shown, _ := json.Marshal(cs)
		text := fmt.Sprintf("%v %+v %#v %s %x %d %q", cs, cs, cs, cs.Files[0], cs.Files[0], cs.Files[0], cs.Files) + string(shown) +
			strings.Join(cs.Cmd, " ") + strings.Join(cs.Env, " ") + fmt.Sprint(cs.Labels)
		for _, secret := range testSecrets.values() {
			if strings.Contains(text, secret) {
				t.Errorf("%s: a secret shows outside the config file:\n%s", host, text)
			}
		}
	}
}

func TestConsulAgentConfigFiles(t *testing.T) {
	s := clusterStack(t, "[box1]")
	for host, name := range map[string]string{"box1": "consul-agent-server.golden", "box2": "consul-agent-client.golden"} {
		cs, err := ConsulAgentSpec(s, host, testSecrets)
		if err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, name, cs.Files[0].Content)
	}
}

func TestConsulAgentSpecRefuses(t *testing.T) {
	s := clusterStack(t, "[box1]")
	bad := testSecrets
	bad.GossipKey = "c2hvcnQ=" // 5 bytes
	for _, tc := range []struct {
		name, host string
		sec        ClusterSecrets
		want       string
	}{
		{"an unknown host", "box9", testSecrets, "box9 is not a host"},
		{"a short gossip key", "box1", bad, "gossip key is not 32 bytes"},
		{"no management token", "box1", ClusterSecrets{GossipKey: testSecrets.GossipKey, AgentToken: testSecrets.AgentToken,
			LBToken: testSecrets.LBToken}, "management token (CONSUL_HTTP_TOKEN) is not a UUID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ConsulAgentSpec(s, tc.host, tc.sec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			for _, secret := range tc.sec.values() {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestConsulAgentHashFollowsWhatTheCommandIsMadeOf(t *testing.T) {
	one, three := clusterStack(t, "[box1]"), clusterStack(t, "[box1, box2, box3]")
	if one.ConsulAgentHash("box1") == one.ConsulAgentHash("box2") {
		t.Error("a server and a client hash the same")
	}
	if one.ConsulAgentHash("box2") == one.ConsulAgentHash("box3") {
		t.Error("two hosts' agents hash the same")
	}
	if one.ConsulAgentHash("box1") == three.ConsulAgentHash("box1") {
		t.Error("a server whose peers changed hashes the same")
	}
	if again := clusterStack(t, "[box1]"); again.ConsulAgentHash("box2") != one.ConsulAgentHash("box2") {
		t.Error("the same stack hashes differently")
	}
}
