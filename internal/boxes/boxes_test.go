package boxes

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBoxesGetFixedAddressesAfterTheGateway(t *testing.T) {
	subnet := candidateSubnet(3)
	if got := subnet.String(); got != "10.213.3.0/24" {
		t.Fatalf("candidate 3 is %s", got)
	}
	tests := []struct {
		i    int
		want string
	}{{1, "10.213.3.2"}, {2, "10.213.3.3"}, {MaxBoxes, "10.213.3.21"}}
	for _, tt := range tests {
		b := newBox("b", boxIP(subnet, tt.i))
		if b.Address != tt.want || b.DockerHost != "tcp://"+tt.want+":2375" {
			t.Errorf("box %d: %+v, want address %s", tt.i, b, tt.want)
		}
	}
	if subnet.IP.String() != "10.213.3.0" {
		t.Errorf("boxIP changed the subnet to %s", subnet.IP)
	}
}

func TestBoxNumberReadsOnlyTheSetsNames(t *testing.T) {
	set := Default("img")
	tests := []struct {
		name string
		want int
		ok   bool
	}{
		{"stackctl-box1", 1, true},
		{"stackctl-box12", 12, true},
		{"stackctl-boxes", 0, false},
		{"other-box1", 0, false},
	}
	for _, tt := range tests {
		got, ok := boxNumber(set, tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("boxNumber(%q) = %d, %t; want %d, %t", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// systempaths=unconfined exists only in the CLI; the API needs the two lists
// sent empty, since null means Docker's defaults.
func TestHostConfigUnmasksSystemPaths(t *testing.T) {
	raw, err := json.Marshal(hostConfig("net"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"MaskedPaths":[]`, `"ReadonlyPaths":[]`, `"seccomp=unconfined"`, `"/sys/fs/cgroup:/sys/fs/cgroup:rw"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("host config lacks %s: %s", want, raw)
		}
	}
}
