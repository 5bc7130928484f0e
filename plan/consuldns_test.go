package plan

import "testing"

func TestConsulDNSAddressIsTheAgentHostAtPort8600(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://primes-consul:8500", "primes-consul:8600"},
		{"https://consul.internal:8501", "consul.internal:8600"},
		{"10.1.2.3:8500", "10.1.2.3:8600"},
		{"consul", "consul:8600"},
		{"", "127.0.0.1:8600"},
		{"http://[fd00::2]:8500", "[fd00::2]:8600"},
	} {
		if got := ConsulDNSAddress(tt.in); got != tt.want {
			t.Errorf("ConsulDNSAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
