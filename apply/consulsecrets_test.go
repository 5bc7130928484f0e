package apply

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestNewClusterSecretsAreFreshAndWellFormed(t *testing.T) {
	a, err := NewClusterSecrets(testSecrets.ManagementToken)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewClusterSecrets(testSecrets.ManagementToken)
	if err != nil {
		t.Fatal(err)
	}
	if key, err := base64.StdEncoding.DecodeString(a.GossipKey); err != nil || len(key) != 32 {
		t.Errorf("gossip key decodes to %d bytes (%v), want 32", len(key), err)
	}
	if a.ManagementToken != testSecrets.ManagementToken {
		t.Error("the management token is not the one given")
	}
	seen := map[string]bool{}
	for _, v := range append(a.values()[2:], b.values()[2:]...) {
		if !uuidPattern.MatchString(v) || v[14] != '4' {
			t.Errorf("token %q is not a version 4 UUID", v)
		}
		seen[v] = true
	}
	if len(seen) != 4 || a.GossipKey == b.GossipKey {
		t.Error("two clusters share a secret")
	}
}

func TestClusterSecretsNeverPrint(t *testing.T) {
	s := testSecrets
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		fmt.Fprintf(&out, verb+" ", s)
		fmt.Fprintf(&out, verb+" ", &s)
	}
	fmt.Fprint(&out, s, []ClusterSecrets{s}, map[string]any{"s": s}, struct{ S ClusterSecrets }{s})
	fmt.Fprintf(&out, "%+v", struct{ S *ClusterSecrets }{&s})
	js, err := json.Marshal(map[string]any{"s": s, "p": &s})
	if err != nil {
		t.Fatal(err)
	}
	out.Write(js)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("secrets", "s", s)
	slog.New(slog.NewTextHandler(&out, nil)).Info("secrets", "s", s)
	fmt.Fprint(&out, fmt.Errorf("wrapped: %v", s))
	for _, secret := range s.values() {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("a secret is printed:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "GossipKey:<hidden>") {
		t.Errorf("the output does not say which secrets are set:\n%s", out.String())
	}
	if got := (ClusterSecrets{}).String(); !strings.Contains(got, `LBToken:""`) {
		t.Errorf("an empty secret shows as %q, want it seen as empty", got)
	}
}

func TestClusterSecretsValidate(t *testing.T) {
	if err := testSecrets.Validate(); err != nil {
		t.Fatal(err)
	}
	upper := testSecrets
	upper.ManagementToken = strings.ToUpper("aaaaaaaa-1111-4111-8111-111111111111")
	if err := upper.Validate(); err != nil {
		t.Errorf("an uppercase UUID (uuidgen on macOS) is refused: %v", err)
	}
	for name, mutate := range map[string]func(*ClusterSecrets){
		"not base64":     func(s *ClusterSecrets) { s.GossipKey = "not base64!" },
		"16-byte key":    func(s *ClusterSecrets) { s.GossipKey = base64.StdEncoding.EncodeToString(make([]byte, 16)) },
		"token not UUID": func(s *ClusterSecrets) { s.LBToken = "lb-token-of-mine" },
		"empty token":    func(s *ClusterSecrets) { s.AgentToken = "" },
	} {
		s := testSecrets
		mutate(&s)
		err := s.Validate()
		if !errors.Is(err, ErrBadSecrets) {
			t.Errorf("%s: err = %v, want ErrBadSecrets", name, err)
		}
		if err != nil && s.LBToken != "" && strings.Contains(err.Error(), s.LBToken) {
			t.Errorf("%s: the error shows the value: %v", name, err)
		}
	}
}
