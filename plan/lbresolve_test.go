package plan

import (
	"reflect"
	"testing"
	"time"

	"github.com/stackctl/stackctl/spec"
)

func TestScanResolveFindsUpstreamServersNginxResolves(t *testing.T) {
	for _, tt := range []struct {
		name, conf string
		want       *LBResolve
	}{
		{"resolve mode", `resolver primes-consul:8600 valid=1s ipv6=off;
upstream web { zone web 64k; server service.consul service=web resolve max_fails=1; keepalive 8; }
server { listen 80; location / { proxy_pass http://web; } }`,
			&LBResolve{Upstreams: []string{"web"}, Valid: "1s"}},
		{"resolver in the upstream, no valid", `upstream "api" {
    resolver 10.0.0.2:8600;   # valid= from the answers' TTL
    zone api 64k;
    server api.service.consul:8080 resolve;
}`, &LBResolve{Upstreams: []string{"api"}}},
		{"whole nginx.conf", `events {} http { resolver c:8600 valid=2s; upstream a { zone a 64k; server x resolve; } upstream b { server 10.0.0.1:5000; } }`,
			&LBResolve{Upstreams: []string{"a"}, Valid: "2s"}},
		{"template mode", `upstream web { server 10.0.0.5:5000; server 10.0.0.6:5000; }`, nil},
		{"resolve outside an upstream", `server { listen 80; server_name resolve; }`, nil},
		{"commented out", `upstream web { zone web 64k; # server x resolve;
server 10.0.0.5:5000; }`, nil},
		{"a server named resolve", `upstream web { server resolve; }`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := scanResolve(tt.conf); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("scanResolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestResolveLagIsValidPlusNginxsSecondPlusAMargin(t *testing.T) {
	for valid, want := range map[string]time.Duration{
		"": 2 * time.Second, "1s": 3 * time.Second, "500ms": 2500 * time.Millisecond,
		"10": 12 * time.Second, "nonsense": 7 * time.Second,
	} {
		if got := (&LBResolve{Valid: valid}).Lag(); got != want {
			t.Errorf("Lag with valid=%q = %s, want %s", valid, got, want)
		}
	}
}

func TestReferenceTemplatesModes(t *testing.T) {
	for file, resolves := range map[string]bool{"../stack.example.yaml": true, "../stacks/primes/stack.yaml": true} {
		st, err := spec.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		c := CheckLBTemplate(st)
		if c.Error != "" || (c.Resolve != nil) != resolves || c.RendersMembership() == resolves {
			t.Errorf("%s: %+v (resolve %+v), want resolve mode %t", file, c, c.Resolve, resolves)
		}
		if resolves && c.Resolve.Valid != "1s" {
			t.Errorf("%s: resolver valid=%q, want 1s", file, c.Resolve.Valid)
		}
	}
}
