//go:build e2e

package consulapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// clusterStack is the name of everything these tests make, on the local
// engine (the boxes) and in the boxes (the agents, their volume).
const clusterStack = "h2consul"

// clusterReadyTimeout bounds the first election: agents on three boxes of
// a shared two-core machine, with Consul's default raft timing.
const clusterReadyTimeout = 3 * time.Minute

// Three servers, one per box: a leader, three raft voters, gossip
// encrypted with the generated key, nothing answered without a token, the
// LB's token held to what the LB needs, and no secret in docker inspect,
// in the agents' logs or in anything printed.
func TestConsulClusterOfThreeServersIsSecuredAcrossBoxes(t *testing.T) {
	cl := startCluster(t, "[box1, box2, box3]")
	cl.assertRaft(3)
	cl.assertKeyring(3)
	cl.assertTokenlessRefused()
	cl.assertLBToken()
	cl.assertAgentToken()
	cl.assertIdempotentSetup()
	cl.assertDataVolume()
	cl.assertNoSecretShown()
}

// One server on box1 and client agents on boxes 2 and 3: the clients join
// it, answer API calls by forwarding to it, and refuse tokenless ones.
func TestConsulClusterOfOneServerAndTwoClients(t *testing.T) {
	cl := startCluster(t, "[box1]")
	cl.assertRaft(1)
	cl.assertKeyring(3)
	cl.assertTokenlessRefused()
	cl.assertLBToken()
	cl.assertAgentToken()
	cl.assertNoSecretShown()
}

// cluster is a running Consul cluster on boxes, with what the test saw.
type cluster struct {
	t      *testing.T
	e      *e2e.Env
	ctx    context.Context
	stack  *spec.Stack
	sec    apply.ClusterSecrets
	boxes  []e2e.Box
	docker map[string]*dockerapi.Client // by host name
	mgmt   *consulapi.Client            // the management token, at box1
	// out is everything the test printed of what the functions under test
	// returned (specs, statuses, errors): no secret may be in it.
	out bytes.Buffer
}

func (cl *cluster) logf(format string, args ...any) {
	cl.t.Helper()
	fmt.Fprintf(&cl.out, format+"\n", args...)
	cl.t.Logf(format, args...)
}

// startCluster starts three boxes, copies the Consul image into each,
// runs every host's agent from apply.ConsulAgentSpecs through dockerapi,
// waits for the cluster and sets its ACLs up as an apply would.
func startCluster(t *testing.T, servers string) *cluster {
	e := e2e.NewForApply(t)
	// The brief's one name for everything made: the boxes are
	// h2consul-box1..3, labelled h2consul, and removed with it.
	e.Stack, e.Network = clusterStack, clusterStack
	boxes := e.StartBoxes(3)
	for _, b := range boxes {
		e.CopyImage(b, images.Consul)
	}
	cl := &cluster{t: t, e: e, ctx: t.Context(), boxes: boxes, docker: map[string]*dockerapi.Client{}}
	cl.stack = stackOnBoxes(t, boxes, servers)
	sec, err := apply.NewClusterSecrets(newUUID(t))
	if err != nil {
		t.Fatal(err)
	}
	cl.sec = sec
	cl.logf("secrets made: %v", sec)
	specs, err := apply.ConsulAgentSpecs(cl.stack, sec)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range boxes {
		host := cl.stack.Hosts[i].Name
		cl.docker[host] = dockerAt(t, b)
		cl.runAgent(host, specs[host])
	}
	mgmt, err := consulapi.NewWithToken(httpAddr(boxes[0]), sec.ManagementToken)
	if err != nil {
		t.Fatal(err)
	}
	cl.mgmt = mgmt
	start := time.Now()
	err = mgmt.WaitCluster(cl.ctx, len(cl.stack.Consul.Servers), clusterReadyTimeout)
	cl.logf("cluster ready after %.1f s: %v", time.Since(start).Seconds(), err)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgmt.StoreSecrets(cl.ctx, cl.stack, sec); err != nil {
		t.Fatal(err)
	}
	// Until SetupACL makes the agents' token, ACLs refuse their node syncs.
	if n := cl.nodesWithTaggedAddresses(); n != 0 {
		t.Errorf("%d agents synced their node before their token existed", n)
	}
	if err := mgmt.SetupACL(cl.ctx, cl.stack, sec); err != nil {
		cl.logf("setup ACL: %v", err)
		t.Fatal(err)
	}
	return cl
}

func stackOnBoxes(t *testing.T, boxes []e2e.Box, servers string) *spec.Stack {
	t.Helper()
	var hosts strings.Builder
	for i, b := range boxes {
		fmt.Fprintf(&hosts, "  - {name: box%d, docker: %q, address: %s, insecure: true}\n", i+1, b.DockerHost, b.Address)
	}
	yaml := "version: 1\nname: " + clusterStack + "\nhosts:\n" + hosts.String() +
		"consul:\n  image: " + images.Consul + "\n  servers: " + servers + "\n" +
		"services:\n  web: {image: " + images.PrimesV1 + ", port: 5000}\n"
	st, err := spec.Parse("h2consul.yaml", []byte(yaml), nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// dockerAt is stackctl's Docker adapter for a box's engine, made as the
// CLI makes it: from DOCKER_HOST.
func dockerAt(t *testing.T, b e2e.Box) *dockerapi.Client {
	t.Helper()
	t.Setenv("DOCKER_HOST", b.DockerHost)
	c, err := dockerapi.New()
	t.Setenv("DOCKER_HOST", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// runAgent creates and starts host's agent, after removing one a run
// killed before its cleanup left behind (boxes that still run are kept).
func (cl *cluster) runAgent(host string, cs apply.ContainerSpec) {
	cl.t.Helper()
	d := cl.docker[host]
	if err := d.RemoveContainer(cl.ctx, cs.Name); err != nil {
		cl.t.Fatal(err)
	}
	if err := d.RemoveVolume(cl.ctx, cl.stack.ConsulDataVolume()); err != nil {
		cl.t.Fatal(err)
	}
	cl.logf("%s: %v", host, cs)
	id, err := d.CreateContainer(cl.ctx, cs)
	if err == nil {
		err = d.StartContainer(cl.ctx, id)
	}
	if err != nil {
		cl.logf("run %s on %s: %v", cs.Name, host, err)
		cl.t.Fatal(err)
	}
}

func (cl *cluster) assertRaft(servers int) {
	cl.t.Helper()
	st, err := cl.mgmt.ClusterStatus(cl.ctx)
	if err != nil {
		cl.t.Fatal(err)
	}
	js, _ := json.Marshal(st)
	cl.logf("cluster status: %s", js)
	leaders := 0
	for _, p := range st.Peers {
		if !p.Voter {
			cl.t.Errorf("peer %s is not a voter", p.Node)
		}
		if p.Leader {
			leaders++
			if p.Address != st.Leader {
				cl.t.Errorf("peer %s leads at %s, the leader is %s", p.Node, p.Address, st.Leader)
			}
		}
	}
	if len(st.Peers) != servers || leaders != 1 || st.Leader == "" {
		cl.t.Errorf("%d raft peers with %d leaders (leader %q), want %d with one", len(st.Peers), leaders, st.Leader, servers)
	}
	for _, p := range st.Peers {
		if !cl.stack.ConsulServer(p.Node) {
			cl.t.Errorf("raft peer %s is not one of consul.servers %v", p.Node, cl.stack.Consul.Servers)
		}
	}
}

// assertKeyring: every ring has exactly one key, the generated one, in use
// on all its nodes; the LAN ring has every agent.
func (cl *cluster) assertKeyring(agents int) {
	cl.t.Helper()
	st, err := cl.mgmt.ClusterStatus(cl.ctx)
	if err != nil {
		cl.t.Fatal(err)
	}
	want := plan.KeyFingerprint(cl.sec.GossipKey)
	rings := map[string]bool{}
	for _, r := range st.Keys {
		rings[r.Ring] = true
		if len(r.Keys) != 1 || r.Keys[0].Fingerprint != want || !r.Keys[0].Primary || r.Keys[0].Nodes != r.Nodes {
			cl.t.Errorf("%s ring: keys %+v on %d nodes, want only %s, primary, on all", r.Ring, r.Keys, r.Nodes, want)
		}
		if r.Ring == "lan" && r.Nodes != agents {
			cl.t.Errorf("LAN ring has %d nodes, want every agent: %d", r.Nodes, agents)
		}
	}
	if !rings["lan"] || !rings["wan"] {
		cl.t.Errorf("keyring lists rings %v, want lan and wan", rings)
	}
}

// assertTokenlessRefused asks every agent, server or client, at its host
// address as anyone on the network could.
func (cl *cluster) assertTokenlessRefused() {
	cl.t.Helper()
	secretKey := cl.stack.KVPrefix() + plan.KVSecrets + "gossip_key"
	for _, b := range cl.boxes {
		for _, path := range []string{"/v1/kv/" + secretKey, "/v1/agent/self", "/v1/acl/tokens", "/v1/operator/keyring"} {
			if code, body := cl.get(b, path, ""); code != http.StatusForbidden {
				cl.t.Errorf("GET %s on %s without a token: %d %s, want 403", path, b.Name, code, body)
			}
		}
		// Listings are filtered rather than refused: nothing shows.
		if code, body := cl.get(b, "/v1/catalog/services", ""); code != http.StatusOK || strings.TrimSpace(body) != "{}" {
			cl.t.Errorf("catalog services on %s without a token: %d %s, want 200 and none", b.Name, code, body)
		}
	}
}

// assertLBToken: the LB's token reads health and its template folder,
// writes its status, and nothing else: no other key, no secret.
func (cl *cluster) assertLBToken() {
	cl.t.Helper()
	last := cl.boxes[len(cl.boxes)-1] // a client in the one-server variant
	code, body := cl.get(last, "/v1/health/service/consul?passing", cl.sec.LBToken)
	var entries []json.RawMessage
	if err := json.Unmarshal([]byte(body), &entries); code != http.StatusOK || err != nil || len(entries) != len(cl.stack.Consul.Servers) {
		cl.t.Errorf("LB token reading consul's health on %s: %d, %d entries (%v), want 200 and %d", last.Name, code, len(entries), err, len(cl.stack.Consul.Servers))
	}
	lb, err := consulapi.NewWithToken(httpAddr(last), cl.sec.LBToken)
	if err != nil {
		cl.t.Fatal(err)
	}
	if err := lb.KVPut(cl.ctx, cl.stack.KVPrefix()+plan.KVLBStatus, []byte(`{}`)); err != nil {
		cl.t.Errorf("LB token writing its status: %v", err)
	}
	for _, key := range []string{"anything", cl.stack.KVPrefix() + plan.KVLBTemplate, cl.stack.KVPrefix() + plan.KVJournal} {
		err := lb.KVPut(cl.ctx, key, []byte("x"))
		cl.logf("LB token writing %s: %v", key, err)
		if !consulapi.IsPermissionDenied(err) {
			cl.t.Errorf("LB token writing %s: %v, want permission denied", key, err)
		}
	}
	_, err = lb.ReadSecrets(cl.ctx, cl.stack)
	cl.logf("LB token reading the secrets: %v", err)
	if !consulapi.IsPermissionDenied(err) {
		cl.t.Errorf("LB token reading the secrets: %v, want permission denied", err)
	}
}

// assertAgentToken: the agents' token exists with its policy, and the
// agents use it: each syncs its own node entry (the tagged addresses only
// its anti-entropy writes, with that token), which ACLs refused until
// SetupACL made it.
func (cl *cluster) assertAgentToken() {
	cl.t.Helper()
	code, body := cl.get(cl.boxes[0], "/v1/acl/token/self", cl.sec.AgentToken)
	if code != http.StatusOK || !strings.Contains(body, `"Name":"`+consulapi.AgentPolicyName(cl.stack)+`"`) {
		cl.t.Errorf("agent token: %d, want 200 with policy %s", code, consulapi.AgentPolicyName(cl.stack))
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		synced := cl.nodesWithTaggedAddresses()
		if synced == len(cl.boxes) {
			return
		}
		if time.Now().After(deadline) {
			cl.t.Errorf("%d of %d agents synced their node with the agent token in 2 min", synced, len(cl.boxes))
			return
		}
		time.Sleep(2 * time.Second)
	}
}

func (cl *cluster) nodesWithTaggedAddresses() int {
	_, body := cl.get(cl.boxes[0], "/v1/catalog/nodes", cl.sec.ManagementToken)
	var nodes []struct{ TaggedAddresses map[string]string }
	_ = json.Unmarshal([]byte(body), &nodes)
	n := 0
	for _, node := range nodes {
		if node.TaggedAddresses["lan"] != "" {
			n++
		}
	}
	return n
}

// assertIdempotentSetup: a second apply's setup changes nothing, reads the
// same secrets back, and other secrets are refused, not stored.
func (cl *cluster) assertIdempotentSetup() {
	cl.t.Helper()
	if err := cl.mgmt.SetupACL(cl.ctx, cl.stack, cl.sec); err != nil {
		cl.t.Errorf("setup ACL again: %v", err)
	}
	if err := cl.mgmt.StoreSecrets(cl.ctx, cl.stack, cl.sec); err != nil {
		cl.t.Errorf("store the same secrets again: %v", err)
	}
	got, err := cl.mgmt.ReadSecrets(cl.ctx, cl.stack)
	if err != nil || got == nil || *got != cl.sec {
		cl.t.Errorf("secrets read back: %v (%v), want the ones made", got, err)
	}
	other, _ := apply.NewClusterSecrets(cl.sec.ManagementToken)
	err = cl.mgmt.StoreSecrets(cl.ctx, cl.stack, other)
	cl.logf("store other secrets: %v", err)
	if !errors.Is(err, consulapi.ErrSecretsDiffer) {
		cl.t.Errorf("store other secrets: %v, want ErrSecretsDiffer", err)
	}
	if got, _ := cl.mgmt.ReadSecrets(cl.ctx, cl.stack); got == nil || *got != cl.sec {
		cl.t.Error("the stored secrets changed")
	}
}

func (cl *cluster) assertDataVolume() {
	cl.t.Helper()
	for host, d := range cl.docker {
		vols, err := d.StackVolumes(cl.ctx, clusterStack)
		if err != nil || len(vols) != 1 || vols[0] != cl.stack.ConsulDataVolume() {
			cl.t.Errorf("%s: stack volumes %v (%v), want %s", host, vols, err, cl.stack.ConsulDataVolume())
		}
	}
}

// assertNoSecretShown looks for every secret in each agent's docker
// inspect (all of it, not only Cmd and Env) and logs, and in what the test
// printed; and checks that the config file is the agent's own.
func (cl *cluster) assertNoSecretShown() {
	cl.t.Helper()
	for i, b := range cl.boxes {
		host := cl.stack.Hosts[i].Name
		name := cl.stack.ConsulAgentName(host)
		engine := cl.e.BoxClient(b)
		info, raw, err := engine.ContainerInspectWithRaw(cl.ctx, name, false)
		if err != nil {
			cl.t.Fatal(err)
		}
		if info.HostConfig.NetworkMode != "host" {
			cl.t.Errorf("%s runs on network %q, want host", name, info.HostConfig.NetworkMode)
		}
		cl.assertNone(name+"'s Cmd and Env", strings.Join(append(info.Config.Cmd, info.Config.Env...), "\n"))
		cl.assertNone(name+"'s docker inspect", string(raw))
		cl.assertNone(name+"'s logs", cl.logs(engine, name))
		stat, err := engine.ContainerStatPath(cl.ctx, name, apply.ConsulConfigFile)
		if err != nil || stat.Mode.Perm() != 0o600 {
			cl.t.Errorf("%s: config file mode %v (%v), want 0600", name, stat.Mode, err)
		}
	}
	cl.assertNone("the test's output", cl.out.String())
}

func (cl *cluster) assertNone(where, text string) {
	cl.t.Helper()
	for _, s := range []string{cl.sec.GossipKey, cl.sec.ManagementToken, cl.sec.AgentToken, cl.sec.LBToken} {
		if strings.Contains(text, s) {
			cl.t.Errorf("a secret shows in %s", where)
		}
	}
}

func (cl *cluster) logs(engine *client.Client, name string) string {
	cl.t.Helper()
	rc, err := engine.ContainerLogs(cl.ctx, name, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		cl.t.Fatal(err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		cl.t.Fatal(err)
	}
	return out.String()
}

func (cl *cluster) get(b e2e.Box, path, token string) (int, string) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(cl.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr(b)+path, nil)
	if err != nil {
		cl.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cl.t.Fatalf("GET %s on %s: %v", path, b.Name, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func httpAddr(b e2e.Box) string { return net.JoinHostPort(b.Address, "8500") }

func newUUID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
