//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/images"
)

func TestConsulImagePrintsItsVersion(t *testing.T) {
	e := New(t)
	c := e.Start(ContainerSpec{Name: "consul-version", Image: images.Consul, Cmd: []string{"version"}})
	if code := e.Wait(c); code != 0 {
		t.Fatalf("consul version exited %d:\n%s", code, e.Logs(c))
	}
	if logs := e.Logs(c); !strings.Contains(logs, "Consul v1.14.8\n") {
		t.Errorf("consul version printed %q, want Consul v1.14.8", logs)
	}
}

func TestConsulServerElectsLeader(t *testing.T) {
	e := New(t)
	consul := e.StartConsul()
	// StartConsul returned, so there is a leader; it must be this server.
	leader, err := consul.Client.Status().Leader()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(leader, consul.IP+":") {
		t.Errorf("leader %q is not the server at %s", leader, consul.IP)
	}
}

func TestNginxBalancesAcrossAppsFromRenderedConfig(t *testing.T) {
	e := New(t)
	apps := []*Container{
		e.StartApp("web-1", images.PrimesV1, "PRIME_DIGITS=8"),
		e.StartApp("web-2", images.PrimesV1, "PRIME_DIGITS=8"),
	}
	lb := e.Start(ContainerSpec{
		Name:  "lb",
		Image: images.Nginx,
		Files: map[string]string{"/etc/nginx/conf.d/primes.conf": upstreamConf(apps)},
		Ports: []string{"80"},
	})
	e.WaitHTTP(lb, "80", "/", http.StatusOK)

	answeredBy := map[string]int{}
	for range 10 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		res, err := Get(ctx, lb, "80", "/")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d, body %q", res.StatusCode, res.Body)
		}
		assertPrime(t, res.Body, 8)
		if v := res.Header.Get("X-Version"); v != "v1" {
			t.Errorf("X-Version %q, want v1", v)
		}
		answeredBy[res.Header.Get("X-Hostname")]++
	}
	for _, app := range apps {
		// Docker sets a container's hostname to its short ID.
		if answeredBy[app.ID[:12]] == 0 {
			t.Errorf("%s never answered through nginx; answers by hostname: %v", app.Name, answeredBy)
		}
	}
}

func TestNginxConfigTest(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		wantOK bool
	}{
		{"valid", "server { listen 80; return 204; }\n", true},
		{"unbalanced brace", "server { listen 80; location / { return 204; }\n", false},
		{"unknown directive", "server { listen 80; proxy_pass_everything on; }\n", false},
	}
	e := New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.Start(ContainerSpec{
				Name:  "nginx-t-" + strings.ReplaceAll(tt.name, " ", "-"),
				Image: images.Nginx,
				Cmd:   []string{"nginx", "-t"},
				Files: map[string]string{"/etc/nginx/conf.d/site.conf": tt.conf},
			})
			code := e.Wait(c)
			if ok := code == 0; ok != tt.wantOK {
				t.Errorf("nginx -t exited %d, want success=%t; output:\n%s", code, tt.wantOK, e.Logs(c))
			}
		})
	}
}

func upstreamConf(apps []*Container) string {
	var b strings.Builder
	b.WriteString("upstream primes {\n")
	for _, app := range apps {
		fmt.Fprintf(&b, "    server %s:%s;\n", app.IP, AppPort)
	}
	b.WriteString("}\nserver {\n    listen 80;\n    location / { proxy_pass http://primes; }\n}\n")
	return b.String()
}

func assertPrime(t *testing.T, body string, digits int) {
	t.Helper()
	s := strings.TrimSpace(body)
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || len(s) != digits || !n.ProbablyPrime(20) {
		t.Errorf("body %q is not a %d-digit prime", body, digits)
	}
}
