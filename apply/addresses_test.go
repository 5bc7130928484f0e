package apply

import (
	"context"
	"errors"
	"testing"
)

// fakeNetwork is a networkReader with one network's subnet and used addresses.
type fakeNetwork struct {
	subnet string
	used   []string
	err    error
}

func (n fakeNetwork) NetworkAddresses(context.Context, string) (string, []string, error) {
	return n.subnet, n.used, n.err
}

// Fixed addresses skip the network address, the gateway, the broadcast and
// every address in use; a network that cannot have them gives "" (Docker
// picks).
func TestAddressesHandOutFreeAddresses(t *testing.T) {
	tests := []struct {
		name string
		net  fakeNetwork
		want []string
	}{
		{"skips used", fakeNetwork{subnet: "10.9.0.0/29", used: []string{"10.9.0.3"}},
			[]string{"10.9.0.2", "10.9.0.4", "10.9.0.5", "10.9.0.6", ""}},
		{"unknown subnet", fakeNetwork{subnet: ""}, []string{""}},
		{"IPv6", fakeNetwork{subnet: "fd00::/64"}, []string{""}},
		{"Docker fails", fakeNetwork{subnet: "10.9.0.0/29", err: errors.New("down")}, []string{""}},
	}
	for _, tt := range tests {
		var a addresses
		for i, want := range tt.want {
			if got := a.next(context.Background(), tt.net, "unit"); got != want {
				t.Errorf("%s: address %d = %q, want %q", tt.name, i, got, want)
			}
		}
	}
}

func TestAddressesDisabledGiveNone(t *testing.T) {
	var a addresses
	n := fakeNetwork{subnet: "10.9.0.0/24"}
	if got := a.next(context.Background(), n, "unit"); got != "10.9.0.2" {
		t.Fatalf("first address %q", got)
	}
	a.disable()
	if got := a.next(context.Background(), n, "unit"); got != "" {
		t.Errorf("after disable: %q, want none", got)
	}
}
