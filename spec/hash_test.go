package spec

import (
	"strings"
	"testing"
	"time"
)

// hashStack is the reference stack without files, so it parses the same
// anywhere.
const hashStack = `version: 1
name: primes
consul:
  image: stackctl.local/consul:1.14.8
  ports: ["127.0.0.1:8500:8500"]
services:
  web:
    image: stackctl.local/primes:v1
    replicas: 20
    port: 5000
    command: ["/primes"]
    env: {PRIME_DIGITS: "8", API_TOKEN: "${API_TOKEN}"}
    check: {http: /healthz, interval: 1s, timeout: 1s}
    update: {parallelism: 4, order: start-first, healthy_deadline: 60s, on_failure: rollback}
    resources: {memory: 64m, cpus: 0.25}
`

func hashTestStack(t testing.TB) *Stack {
	t.Helper()
	st, err := Parse("stack.yaml", []byte(hashStack), env(map[string]string{"API_TOKEN": "t0k3n"}), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestHashGolden pins the hashes of one stack. They are stored in the labels
// of running containers: if they change, every container of every stack is
// replaced on the next apply. A change here must be deliberate (bump the
// "/v1" kind in hash.go) and never the by-product of a refactoring.
func TestHashGolden(t *testing.T) {
	st := hashTestStack(t)
	web := st.Service("web")
	got := map[string]string{
		"worker":       st.WorkerHash(web),
		"registration": st.RegistrationHash(web),
		"consul":       st.ConsulHash(),
	}
	want := map[string]string{
		"worker":       "97e17b2a30bf9e59",
		"registration": "1b74d31fd4d57092",
		"consul":       "6d40b94e79f9e000",
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s hash = %q, want %q", k, got[k], want[k])
		}
	}
	if h := st.LBHash(); h != "" {
		t.Errorf("LBHash of a stack without lb = %q, want empty", h)
	}
	// The image is spelt out: the golden pins the hash, not the default.
	st.LB = &LB{Image: "stackctl.local/nginx:1.22", Ports: []PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}}
	if h := st.LBHash(); h != "27e91d130bdd2748" {
		t.Errorf("lb hash = %q, want %q", h, "27e91d130bdd2748")
	}
}

func TestHashIsStableAcrossLoads(t *testing.T) {
	a, b := hashTestStack(t), hashTestStack(t)
	if a.WorkerHash(a.Services[0]) != b.WorkerHash(b.Services[0]) ||
		a.RegistrationHash(a.Services[0]) != b.RegistrationHash(b.Services[0]) ||
		a.ConsulHash() != b.ConsulHash() {
		t.Error("two loads of one file hash differently")
	}
}

// TestWorkerHashCoversTheContainer changes one thing at a time: what the
// container runs must change the worker hash; how many run and how they are
// rolled out or checked must not.
func TestWorkerHashCoversTheContainer(t *testing.T) {
	changes := []struct {
		name        string
		change      func(*Stack, *Service)
		recreate    bool // WorkerHash changes
		reregister  bool // RegistrationHash changes
		consulMoved bool // ConsulHash changes
	}{
		{"image", func(_ *Stack, s *Service) { s.Image = "stackctl.local/primes:v2" }, true, false, false},
		{"command", func(_ *Stack, s *Service) { s.Command = []string{"/primes", "-v"} }, true, false, false},
		{"no command", func(_ *Stack, s *Service) { s.Command = nil }, true, false, false},
		{"env value", func(_ *Stack, s *Service) { s.Env[1].Value = "9" }, true, false, false},
		{"env name", func(_ *Stack, s *Service) { s.Env[1].Name = "PRIME_DIGIT" }, true, false, false},
		{"env added", func(_ *Stack, s *Service) { s.Env = append(s.Env, EnvVar{Name: "X", Value: "1"}) }, true, false, false},
		{"env secret", func(_ *Stack, s *Service) { s.Env[0].Value = "rotated" }, true, false, false},
		{"port", func(_ *Stack, s *Service) { s.Port = 5001 }, true, true, false},
		{"memory", func(_ *Stack, s *Service) { s.Resources.MemoryBytes = 128 << 20 }, true, false, false},
		{"cpus", func(_ *Stack, s *Service) { s.Resources.NanoCPUs = 5e8 }, true, false, false},
		{"stack name", func(st *Stack, _ *Service) { st.Name = "primes2" }, true, false, true},
		{"service name", func(_ *Stack, s *Service) { s.Name = "api" }, true, false, false},
		{"replicas", func(_ *Stack, s *Service) { s.Replicas = 3 }, false, false, false},
		{"parallelism", func(_ *Stack, s *Service) { s.Update.Parallelism = 1 }, false, false, false},
		{"order", func(_ *Stack, s *Service) { s.Update.Order = OrderStopFirst }, false, false, false},
		{"deadline", func(_ *Stack, s *Service) { s.Update.HealthyDeadline = time.Minute * 5 }, false, false, false},
		{"on failure", func(_ *Stack, s *Service) { s.Update.OnFailure = OnFailurePause }, false, false, false},
		{"check path", func(_ *Stack, s *Service) { s.Check.HTTP = "/ready" }, false, true, false},
		{"check interval", func(_ *Stack, s *Service) { s.Check.Interval = 10 * time.Second }, false, true, false},
		{"check timeout", func(_ *Stack, s *Service) { s.Check.Timeout = 500 * time.Millisecond }, false, true, false},
		{"deregister", func(_ *Stack, s *Service) { s.Check.DeregisterAfter = time.Hour }, false, true, false},
		{"consul image", func(st *Stack, _ *Service) { st.Consul.Image = "stackctl.local/consul:1.15" }, false, false, true},
		{"consul ports", func(st *Stack, _ *Service) { st.Consul.Ports = nil }, false, false, true},
	}
	for _, tt := range changes {
		t.Run(tt.name, func(t *testing.T) {
			before := hashTestStack(t)
			after := hashTestStack(t)
			tt.change(after, after.Services[0])
			b, a := before.Services[0], after.Services[0]
			if changed := before.WorkerHash(b) != after.WorkerHash(a); changed != tt.recreate {
				t.Errorf("WorkerHash changed = %t, want %t", changed, tt.recreate)
			}
			if changed := before.RegistrationHash(b) != after.RegistrationHash(a); changed != tt.reregister {
				t.Errorf("RegistrationHash changed = %t, want %t", changed, tt.reregister)
			}
			if changed := before.ConsulHash() != after.ConsulHash(); changed != tt.consulMoved {
				t.Errorf("ConsulHash changed = %t, want %t", changed, tt.consulMoved)
			}
		})
	}
}

func TestLBHash(t *testing.T) {
	base := func() *Stack {
		st := hashTestStack(t)
		st.LB = &LB{Image: DefaultLBImage, Template: "/a/nginx.ctmpl", TemplateSource: "v1",
			Ports: []PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}}
		return st
	}
	ref := base().LBHash()
	for name, change := range map[string]func(*Stack){
		"image":          func(st *Stack) { st.LB.Image = "stackctl.local/nginx:1.23" },
		"ports":          func(st *Stack) { st.LB.Ports[0].HostPort = 8081 },
		"consul address": func(st *Stack) { st.Consul.Address = "10.0.0.1:8500" },
		"stack name":     func(st *Stack) { st.Name = "other" },
	} {
		st := base()
		change(st)
		if st.LBHash() == ref {
			t.Errorf("%s: LBHash unchanged, want a new LB container", name)
		}
	}
	// The template is re-rendered in place: no new container for it, nor
	// for a stated include form (the default's hash is that of LBs made
	// before forms existed).
	st := base()
	st.LB.TemplateSource, st.LB.Template = "v2", "/b/nginx.ctmpl"
	st.LB.Config, st.LB.Form = LBConfigInclude, LBConfigInclude
	if st.LBHash() != ref {
		t.Error("template change: LBHash changed, want it kept")
	}
	// A whole nginx.conf is rendered to another file: a new container.
	st.LB.Form = LBConfigWhole
	if st.LBHash() == ref {
		t.Error("form change to whole: LBHash unchanged, want a new LB container")
	}
}

// TestHashesIgnoreHostsAndPlacement: where a container runs is placement,
// not its configuration (see WorkerHash). The same stack on hosts, with
// any placement, an LB host or Consul servers, hashes as it does without
// them, so neither adding hosts nor changing a placement recreates a
// container that stays where it is.
func TestHashesIgnoreHostsAndPlacement(t *testing.T) {
	lb := func(host string) string {
		return `lb: {template: nginx.ctmpl, ports: ["127.0.0.1:8080:80"]` + host + "}\n"
	}
	hosts := `hosts:
  - {name: node-1, docker: "ssh://node-1", address: 10.0.0.1, labels: {zone: a}}
  - {name: node-2, docker: "ssh://node-2", address: 10.0.0.2}
  - {name: node-3, docker: "ssh://node-3", address: 10.0.0.3}
`
	// hashStack ends inside service web: a placement line lands in it.
	variants := map[string]string{
		"hosts":            hashStack + hosts + lb(""),
		"placement hosts":  hashStack + "    placement: {hosts: [node-2]}\n" + hosts + lb(", host: node-3"),
		"placement labels": hashStack + "    placement: {labels: {zone: a}}\n" + hosts + lb(", host: node-2"),
		"consul servers":   strings.Replace(hashStack, "consul:\n", "consul:\n  servers: [node-3]\n", 1) + hosts + lb(""),
	}
	ref := parseHashStack(t, hashStack+lb(""))
	for name, src := range variants {
		st := parseHashStack(t, src)
		if !st.MultiHost() || strings.HasPrefix(name, "placement") && st.Service("web").Placement == nil {
			t.Fatalf("%s: no hosts or placement read", name)
		}
		a, b := ref.Service("web"), st.Service("web")
		if ref.WorkerHash(a) != st.WorkerHash(b) || ref.RegistrationHash(a) != st.RegistrationHash(b) ||
			ref.ConsulHash() != st.ConsulHash() || ref.LBHash() != st.LBHash() {
			t.Errorf("%s: a hash changed, want every hash as without hosts", name)
		}
	}
}

func parseHashStack(t *testing.T, src string) *Stack {
	t.Helper()
	st, err := Parse("stack.yaml", []byte(src), env(map[string]string{"API_TOKEN": "t0k3n"}), abs(t, "testdata/valid"))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return st
}
