package plan

import (
	"crypto/sha256"
	"encoding/hex"
)

// ConsulCluster is what `status` shows of a multi-host stack's Consul
// cluster: the raft peers, the leader, and the gossip keys in use. The keys
// appear by fingerprint only: a status is printed, the key is a secret.
type ConsulCluster struct {
	// Leader is the leader's raft address (ip:8300), "" without one.
	Leader string       `json:"leader"`
	Peers  []RaftPeer   `json:"peers"`
	Keys   []GossipKeys `json:"keys"`
}

// RaftPeer is one server in the raft configuration.
type RaftPeer struct {
	Node    string `json:"node"`
	Address string `json:"address"`
	Leader  bool   `json:"leader,omitempty"`
	Voter   bool   `json:"voter"`
}

// GossipKeys is one gossip ring's keyring: the LAN ring of the datacenter,
// or the servers' WAN ring.
type GossipKeys struct {
	Ring  string   `json:"ring"` // "lan" or "wan"
	Nodes int      `json:"nodes"`
	Keys  []KeyUse `json:"keys"`
}

// KeyUse is one installed gossip key: its fingerprint, on how many of the
// ring's nodes, and whether it is the one they encrypt with.
type KeyUse struct {
	Fingerprint string `json:"fingerprint"`
	Nodes       int    `json:"nodes"`
	Primary     bool   `json:"primary"`
}

// KeyFingerprint names a gossip key without revealing it: the first 8 bytes
// of its SHA-256, enough to tell keys apart and to match the one stackctl
// made. The key has 256 random bits, so the hash gives nothing away.
func KeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
