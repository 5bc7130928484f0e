package spec

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/env")

// TestEnvironmentOverlays loads every testdata/env/CASE/stack.yaml for
// environment staging, and compares what came out (the merged stack's
// values, or the problems with their FILE:LINE:COL) with CASE/want.golden.
// `go test ./spec -run TestEnvironmentOverlays -update` rewrites them.
func TestEnvironmentOverlays(t *testing.T) {
	cases, err := filepath.Glob("testdata/env/*/stack.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range cases {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			st, sources, err := LoadEnv(path, "staging")
			var got string
			if err != nil {
				got = "error:\n" + err.Error() + "\n"
			} else {
				got = describeStack(st)
				if len(sources) != 2 || sources[1].Path != filepath.Join(dir, "stack.staging.yaml") {
					t.Errorf("sources = %v, want the stack file and its overlay", sources)
				}
			}
			golden := filepath.Join(dir, "want.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// describeStack prints what an overlay can change, one value per line.
func describeStack(st *Stack) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nenv: %s\n", st.Name, st.Env)
	fmt.Fprintf(&b, "consul.ports: %v\n", st.Consul.Ports)
	for _, svc := range st.Services {
		fmt.Fprintf(&b, "services.%s.image: %s\n", svc.Name, svc.Image)
		fmt.Fprintf(&b, "services.%s.replicas: %d\n", svc.Name, svc.Replicas)
		var env []string
		for _, e := range svc.Env {
			env = append(env, e.Name+"="+e.Value)
		}
		sort.Strings(env)
		fmt.Fprintf(&b, "services.%s.env: %v\n", svc.Name, env)
		fmt.Fprintf(&b, "services.%s.resources: %+v\n", svc.Name, svc.Resources)
	}
	if st.LB == nil {
		b.WriteString("lb: none\n")
	} else {
		fmt.Fprintf(&b, "lb.ports: %v\n", st.LB.Ports)
	}
	for _, p := range st.Published {
		fmt.Fprintf(&b, "published %s at %s\n", p.Path, p.Pos)
	}
	return b.String()
}

func TestOverlayPath(t *testing.T) {
	for _, c := range []struct{ path, env, want string }{
		{"stack.yaml", "staging", "stack.staging.yaml"},
		{"stack.example.yaml", "staging", "stack.example.staging.yaml"},
		{"deploy/shop.yml", "prod", "deploy/shop.prod.yml"},
		{"stackfile", "dev", "stackfile.dev"},
	} {
		if got := OverlayPath(c.path, c.env); got != c.want {
			t.Errorf("OverlayPath(%q, %q) = %q, want %q", c.path, c.env, got, c.want)
		}
	}
}

func TestLoadEnvRefusesBadAndMissingEnvironments(t *testing.T) {
	path := "testdata/env/merge/stack.yaml"
	for env, want := range map[string]string{
		"Staging":                 "environment \"Staging\" is not a valid name",
		"prod-":                   "environment \"prod-\" is not a valid name",
		"a-very-long-environment": "is not a valid name",
		"qa":                      "environment qa has no overlay: testdata/env/merge/stack.qa.yaml does not exist",
	} {
		if _, _, err := LoadEnv(path, env); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadEnv(%q): %v, want an error containing %q", env, err, want)
		}
	}
	st, sources, err := LoadEnv(path, "")
	if err != nil || st.Name != "shop" || st.Env != "" || len(sources) != 1 {
		t.Errorf("LoadEnv without environment: %v, name %q, %d sources", err, st.Name, len(sources))
	}
}

func TestEnvironmentsAreTheOverlaysBesideTheStackFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stack.yaml", "version: 1\nname: shop\n")
	write("stack.prod.yaml", "services: {web: {replicas: 8}}\n")
	write("stack.dev.yaml", "")
	write("stack.example.yaml", "version: 1\nname: other\n") // a stack file of its own
	write("stack.Bad.yaml", "{}\n")                          // not an environment name
	write("stack.staging.yml", "{}\n")                       // another extension
	write("other.qa.yaml", "{}\n")
	envs, err := Environments(filepath.Join(dir, "stack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(envs, " "); got != "dev prod" {
		t.Errorf("Environments = %q, want \"dev prod\"", got)
	}
}

func TestPortClashesAcrossEnvironments(t *testing.T) {
	load := func(env string, overlay string) *Stack {
		t.Helper()
		base := []byte("version: 1\nname: shop\nconsul:\n  ports: [\"127.0.0.1:8500:8500\"]\nservices:\n  web: {image: primes:v1, port: 5000, check: {http: /healthz}}\n")
		st, err := ParseEnv("stack.yaml", base, &Overlay{Env: env, File: "stack." + env + ".yaml", Data: []byte(overlay)}, nil, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	prod := load("prod", "consul:\n  ports: [\"0.0.0.0:8510:8500\", \"127.0.0.1::8300\"]\n")
	staging := load("staging", "consul:\n  ports: [\"127.0.0.1:8510:8500\", \"127.0.0.1::8300\"]\n")
	dev := load("dev", "consul:\n  ports: [\"127.0.0.2:8510:8500\", \"127.0.0.1:8510:8500/udp\"]\n")
	got := PortClashes(staging, prod)
	if len(got) != 1 {
		t.Fatalf("staging vs prod: %v, want one clash (8510 on loopback and on all addresses; ports Docker picks never clash)", got)
	}
	want := "stack.staging.yaml:2:11: consul.ports[0] publishes host port 127.0.0.1:8510/tcp, which stack shop-prod also publishes at stack.prod.yaml:2:11 (consul.ports[0])"
	if !strings.HasPrefix(got[0].String(), want) {
		t.Errorf("clash:\n got %s\nwant %s...", got[0], want)
	}
	if got := PortClashes(staging, dev); len(got) != 0 {
		t.Errorf("staging vs dev: %v, want none (another address, another protocol)", got)
	}
	if got := PortClashes(dev, prod); len(got) != 1 {
		t.Errorf("dev vs prod: %v, want one (prod publishes on all addresses)", got)
	}
}
