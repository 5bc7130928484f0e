package consulapi

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/plan"
)

// clusterPoll is how often WaitCluster asks again.
const clusterPoll = 500 * time.Millisecond

// serfAlive is a member's status while it answers gossip (serf.StatusAlive).
const serfAlive = 1

// WaitCluster waits, up to timeout, until the cluster has a leader and at
// least servers raft voters alive in gossip: all of them on a new cluster,
// those not excluded from the run (a server's host may be down, and the
// raft configuration still counts it) on a running one. The
// client needs a token that reads the raft configuration and the members
// (the management token): until the first leader has made the initial
// management token, it is refused, and that too is waited out. The error
// says what was last seen.
func (c *Client) WaitCluster(ctx context.Context, servers int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(clusterPoll)
	defer tick.Stop()
	for {
		seen, ready := c.clusterReady(ctx, servers)
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("consul cluster at %s not ready after %s: %s", c.addr, timeout, seen)
		case <-tick.C:
		}
	}
}

// clusterReady reports whether the cluster is ready, and what it saw.
func (c *Client) clusterReady(ctx context.Context, servers int) (string, bool) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	leader, err := c.api.Status().LeaderWithQueryOptions(q)
	if err != nil || leader == "" {
		return fmt.Sprintf("no leader (%v)", orNone(err)), false
	}
	raft, err := c.api.Operator().RaftGetConfiguration(q)
	if err != nil {
		return fmt.Sprintf("leader %s; raft configuration: %v", leader, err), false
	}
	voters := 0
	for _, s := range raft.Servers {
		if s.Voter {
			voters++
		}
	}
	// Agent().Members takes no context: a hung agent would hang the wait.
	var members []*api.AgentMember
	if _, err := c.api.Raw().Query("/v1/agent/members", &members, q); err != nil {
		return fmt.Sprintf("leader %s; members: %v", leader, err), false
	}
	alive := 0
	for _, m := range members {
		if m.Tags["role"] == "consul" && m.Status == serfAlive {
			alive++
		}
	}
	seen := fmt.Sprintf("leader %s, %d raft voters, %d servers alive, want %d", leader, voters, alive, servers)
	return seen, voters >= servers && alive >= servers
}

func orNone(err error) any {
	if err == nil {
		return "none elected yet"
	}
	return err
}

// ClusterStatus reads the raft peers, the leader and the gossip keyring, as
// `stackctl status` shows them. Keys appear by fingerprint only
// (plan.KeyFingerprint). The client needs the management token.
func (c *Client) ClusterStatus(ctx context.Context) (*plan.ConsulCluster, error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	out := &plan.ConsulCluster{}
	leader, err := c.api.Status().LeaderWithQueryOptions(q)
	if err != nil {
		return nil, fmt.Errorf("consul leader: %w", err)
	}
	out.Leader = leader
	raft, err := c.api.Operator().RaftGetConfiguration(q)
	if err != nil {
		return nil, fmt.Errorf("consul raft peers: %w", err)
	}
	for _, s := range raft.Servers {
		out.Peers = append(out.Peers, plan.RaftPeer{Node: s.Node, Address: s.Address, Leader: s.Leader, Voter: s.Voter})
	}
	rings, err := c.api.Operator().KeyringList(q)
	if err != nil {
		return nil, fmt.Errorf("consul keyring: %w", err)
	}
	for _, r := range rings {
		out.Keys = append(out.Keys, gossipKeys(r))
	}
	sort.Slice(out.Keys, func(i, j int) bool { return out.Keys[i].Ring < out.Keys[j].Ring })
	return out, nil
}

func gossipKeys(r *api.KeyringResponse) plan.GossipKeys {
	ring := plan.GossipKeys{Ring: "lan", Nodes: r.NumNodes}
	if r.WAN {
		ring.Ring = "wan"
	}
	for key, n := range r.Keys {
		_, primary := r.PrimaryKeys[key]
		ring.Keys = append(ring.Keys, plan.KeyUse{Fingerprint: plan.KeyFingerprint(key), Nodes: n, Primary: primary})
	}
	sort.Slice(ring.Keys, func(i, j int) bool { return ring.Keys[i].Fingerprint < ring.Keys[j].Fingerprint })
	return ring
}
