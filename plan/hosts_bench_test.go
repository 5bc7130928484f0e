package plan_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// fleet is a stack of workers (two services, a replicas field holds at most
// 1,000) over hosts, Consul servers on the first three.
func fleet(b testing.TB, hosts, workers int) *spec.Stack {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nginx.ctmpl"), []byte(templateV1), 0o644); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("version: 1\nname: fleet\nhosts:\n")
	for i := 1; i <= hosts; i++ {
		fmt.Fprintf(&sb, "  - {name: h%d, docker: tcp://10.9.%d.%d:2375, address: 10.9.%d.%d, insecure: true}\n", i, i/250, i%250+1, i/250, i%250+1)
	}
	fmt.Fprintf(&sb, "consul: {image: stackctl.local/consul:1.14.8, servers: [h1, h2, h3]}\n"+
		"services:\n  web: {image: stackctl.local/primes:v1, replicas: %d, port: 5000}\n"+
		"  api: {image: stackctl.local/primes:v1, replicas: %d, port: 5000}\n"+
		"lb: {image: stackctl.local/nginx:1.30, template: nginx.ctmpl, host: h1, ports: [\"10.9.0.2:8080:80\"]}\n", workers/2, workers-workers/2)
	st, err := spec.Parse("stack.yaml", []byte(sb.String()), nil, dir)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkComputeOverHosts is the pure part of a plan over hosts (placement
// of every slot, host ports, the diff), from nothing and once applied, at
// the sizes docs/SCALE.md discusses.
func BenchmarkComputeOverHosts(b *testing.B) {
	for _, size := range []struct{ hosts, workers int }{{3, 12}, {10, 200}, {50, 2000}} {
		st := fleet(b, size.hosts, size.workers)
		empty := emptyHosts(st)
		live := applied(st, plan.Compute(st, empty), empty)
		for name, state := range map[string]*plan.State{"first": empty, "no-op": live} {
			b.Run(fmt.Sprintf("hosts=%d/workers=%d/%s", size.hosts, size.workers, name), func(b *testing.B) {
				for b.Loop() {
					plan.Compute(st, state)
				}
			})
		}
	}
}
