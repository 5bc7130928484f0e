package apply

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
)

// ClusterSecrets are the secrets of a multi-host stack's Consul cluster.
// They are made once, at the first apply (NewClusterSecrets), kept in
// Consul KV (consulapi.StoreSecrets) and read back by later applies, so
// that every agent, including one on a host added later, shares them.
//
// Every way of printing the type (fmt's verbs, JSON, slog) masks the
// values, so that a stray %v in an error or a log line cannot leak them;
// code that needs a value reads the field.
type ClusterSecrets struct {
	// GossipKey encrypts the agents' gossip: 32 random bytes, base64.
	GossipKey string
	// ManagementToken is the servers' initial management token: the
	// user's CONSUL_HTTP_TOKEN, which stackctl works with. Not stored in
	// KV, since whoever reads KV's secrets holds it already.
	ManagementToken string
	// AgentToken is every agent's own token (acl.tokens.agent).
	AgentToken string
	// LBToken is the load balancer's token.
	LBToken string
}

// gossipKeyBytes is the size of the gossip key: AES-256.
const gossipKeyBytes = 32

// NewClusterSecrets makes the secrets of a new cluster: a random gossip
// key, and random UUIDs as the agents' and the LB's token secret IDs
// (Consul accepts a chosen SecretID). The management token is the user's.
func NewClusterSecrets(managementToken string) (ClusterSecrets, error) {
	key := make([]byte, gossipKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return ClusterSecrets{}, fmt.Errorf("gossip key: %w", err)
	}
	s := ClusterSecrets{GossipKey: base64.StdEncoding.EncodeToString(key), ManagementToken: managementToken,
		AgentToken: newUUID(), LBToken: newUUID()}
	return s, s.Validate()
}

// ErrBadSecrets is wrapped by Validate's errors.
var ErrBadSecrets = errors.New("bad Consul cluster secrets")

var uuidPattern = regexp.MustCompile(`(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Validate checks the form of every secret, naming the faulty one but
// never its value. Consul takes only UUIDs as secret IDs.
func (s ClusterSecrets) Validate() error {
	if k, err := base64.StdEncoding.DecodeString(s.GossipKey); err != nil || len(k) != gossipKeyBytes {
		return fmt.Errorf("%w: the gossip key is not %d bytes in base64", ErrBadSecrets, gossipKeyBytes)
	}
	for _, t := range []struct{ name, value string }{
		{"management token (CONSUL_HTTP_TOKEN)", s.ManagementToken},
		{"agent token", s.AgentToken}, {"LB token", s.LBToken},
	} {
		if !uuidPattern.MatchString(t.value) {
			return fmt.Errorf("%w: the %s is not a UUID; make one with `uuidgen`", ErrBadSecrets, t.name)
		}
	}
	return nil
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails; see crypto/rand.Read
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

const masked = "<hidden>"

// String shows which secrets are set, never their values.
func (s ClusterSecrets) String() string {
	return fmt.Sprintf("ClusterSecrets{GossipKey:%s ManagementToken:%s AgentToken:%s LBToken:%s}",
		mask(s.GossipKey), mask(s.ManagementToken), mask(s.AgentToken), mask(s.LBToken))
}

// GoString is String, for %#v.
func (s ClusterSecrets) GoString() string { return s.String() }

// Format prints String for every verb, %d and %x included, which would
// otherwise print the fields.
func (s ClusterSecrets) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, s.String()) }

// MarshalJSON masks every value.
func (s ClusterSecrets) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"gossip_key": mask(s.GossipKey), "management_token": mask(s.ManagementToken),
		"agent_token": mask(s.AgentToken), "lb_token": mask(s.LBToken)})
}

// LogValue masks every value in slog's output.
func (s ClusterSecrets) LogValue() slog.Value { return slog.StringValue(s.String()) }

func mask(v string) string {
	if v == "" {
		return `""`
	}
	return masked
}
