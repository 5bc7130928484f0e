package spec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// env returns a lookup over vars, standing in for the environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func abs(t testing.TB, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func parseFile(t *testing.T, path string, vars map[string]string) (*Stack, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(path, data, env(vars), abs(t, filepath.Dir(path)))
}

func mustParse(t *testing.T, path string, vars map[string]string) *Stack {
	t.Helper()
	st, err := parseFile(t, path, vars)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st
}

func TestParseMinimalAppliesDefaults(t *testing.T) {
	st := mustParse(t, "testdata/valid/minimal.yaml", nil)
	want := &Stack{
		Version: 1,
		Name:    "minimal",
		File:    "testdata/valid/minimal.yaml",
		Dir:     abs(t, "testdata/valid"),
		Consul:  Consul{Image: DefaultConsulImage, Pos: Position{"testdata/valid/minimal.yaml", 2, 1}},
		Services: []*Service{{
			Name:     "web",
			Image:    "primes:v1",
			Replicas: 1,
			Port:     5000,
			Check:    Check{HTTP: "/healthz", Interval: 5 * time.Second, Timeout: 2 * time.Second},
			Update: Update{Parallelism: 1, Order: OrderStartFirst, HealthyDeadline: 60 * time.Second,
				OnFailure: OnFailureRollback},
			Pos: Position{"testdata/valid/minimal.yaml", 5, 3},
		}},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("got\n%#v\nwant\n%#v", st, want)
		for i := range min(len(st.Services), len(want.Services)) {
			t.Errorf("service %d: got %+v want %+v", i, *st.Services[i], *want.Services[i])
		}
	}
	if !st.Consul.Managed() {
		t.Error("Consul.Managed() = false, want the default managed server")
	}
}

func TestParseFullReadsEveryField(t *testing.T) {
	const file = "testdata/valid/full.yaml"
	st := mustParse(t, file, map[string]string{"API_TOKEN": "t0k3n", "PUBLIC_KEY": "ssh-ed25519 AAA"})
	dir := abs(t, "testdata/valid")
	tmpl, err := os.ReadFile("testdata/valid/nginx.ctmpl")
	if err != nil {
		t.Fatal(err)
	}
	want := &Stack{
		Version: 1,
		Name:    "full",
		File:    file,
		Dir:     dir,
		Consul: Consul{
			Image: "stackctl.local/consul:1.14.8",
			Ports: []PortMapping{
				{HostIP: "127.0.0.1", HostPort: 8500, ContainerPort: 8500, Protocol: "tcp"},
				{HostIP: "::1", HostPort: 8600, ContainerPort: 8600, Protocol: "udp"},
			},
			Pos: Position{file, 5, 1},
		},
		Services: []*Service{
			{
				Name:     "web",
				Image:    "stackctl.local/primes:v1",
				Replicas: 3,
				Port:     5000,
				Command:  []string{"/primes", "-digits", "8", "true"},
				Env: []EnvVar{
					{Name: "API_TOKEN", Value: "t0k3n", Secret: true},
					{Name: "DB_PASS", Value: "hunter2", Secret: true},
					{Name: "EMPTY", Value: ""},
					{Name: "GREETING", Value: "hello $USER"},
					{Name: "PRIME_DIGITS", Value: "8"},
					{Name: "PUBLIC_KEY", Value: "ssh-ed25519 AAA"},
				},
				Check: Check{HTTP: "/healthz?deep=1", Interval: 10 * time.Second, Timeout: 3 * time.Second,
					DeregisterAfter: 5 * time.Minute},
				Update: Update{Parallelism: 2, Order: OrderStopFirst, HealthyDeadline: 2 * time.Minute,
					OnFailure: OnFailurePause},
				Resources: Resources{MemoryBytes: 3 << 29, NanoCPUs: 2e9},
				Pos:       Position{file, 12, 3},
			},
			{
				Name:     "worker",
				Image:    "full-worker:dev",
				Build:    &Build{Context: filepath.Join(dir, "app"), Dockerfile: "Dockerfile"},
				Replicas: 0,
				Port:     8080,
				Check:    Check{HTTP: "/healthz", Interval: 5 * time.Second, Timeout: 2 * time.Second},
				Update: Update{Parallelism: 1, Order: OrderStartFirst, HealthyDeadline: time.Minute,
					OnFailure: OnFailureRollback},
				Resources: Resources{MemoryBytes: 256 << 20},
				Pos:       Position{file, 37, 3},
			},
		},
		LB: &LB{
			Image:          "stackctl.local/nginx:1.22",
			Template:       filepath.Join(dir, "nginx.ctmpl"),
			TemplateSource: string(tmpl),
			Config:         LBConfigAuto,
			Form:           LBConfigInclude,
			Ports: []PortMapping{
				{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
				{HostIP: "127.0.0.1", HostPort: 8443, ContainerPort: 443, Protocol: "tcp"},
				{HostIP: "127.0.0.1", HostPort: 0, ContainerPort: 9000, Protocol: "tcp"},
				{HostIP: "0.0.0.0", HostPort: 0, ContainerPort: 81, Protocol: "tcp"},
			},
			Pos: Position{file, 44, 1},
		},
	}
	want.Published = []Published{
		{"consul.ports[0]", Position{file, 8, 7}, want.Consul.Ports[0]},
		{"consul.ports[1]", Position{file, 9, 7}, want.Consul.Ports[1]},
		{"lb.ports[0]", Position{file, 48, 11}, want.LB.Ports[0]},
		{"lb.ports[1]", Position{file, 48, 32}, want.LB.Ports[1]},
		{"lb.ports[2]", Position{file, 48, 44}, want.LB.Ports[2]},
		{"lb.ports[3]", Position{file, 48, 50}, want.LB.Ports[3]},
	}
	if !reflect.DeepEqual(st.Consul, want.Consul) {
		t.Errorf("Consul:\n got %+v\nwant %+v", st.Consul, want.Consul)
	}
	if len(st.Services) != len(want.Services) {
		t.Fatalf("got %d services, want %d", len(st.Services), len(want.Services))
	}
	for i := range want.Services {
		if !reflect.DeepEqual(st.Services[i], want.Services[i]) {
			t.Errorf("service %d:\n got %+v\nwant %+v", i, *st.Services[i], *want.Services[i])
		}
	}
	if !reflect.DeepEqual(st.LB, want.LB) {
		t.Errorf("LB:\n got %+v\nwant %+v", *st.LB, *want.LB)
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stack differs beyond the parts compared above:\n got %+v\nwant %+v", st, want)
	}
}

func TestParseBuildDefaultsImageTag(t *testing.T) {
	st := mustParse(t, "testdata/valid/build.yaml", nil)
	svc := st.Service("app")
	if svc == nil {
		t.Fatal(`no service "app"`)
	}
	if svc.Image != "built-app:latest" {
		t.Errorf("Image = %q, want built-app:latest", svc.Image)
	}
	want := &Build{Context: abs(t, "testdata/valid/app"), Dockerfile: "Dockerfile"}
	if !reflect.DeepEqual(svc.Build, want) {
		t.Errorf("Build = %+v, want %+v", svc.Build, want)
	}
}

func TestParseExternalConsulAndInterpolatedNumbers(t *testing.T) {
	st := mustParse(t, "testdata/valid/external-consul.yaml", map[string]string{"CPUS": "0.25", "INTERVAL": ""})
	if st.Consul.Managed() || st.Consul.Address != "consul.service.internal:8500" || st.Consul.Image != "" {
		t.Errorf("Consul = %+v, want the external agent only", st.Consul)
	}
	svc := st.Service("web")
	if svc.Replicas != 2 || svc.Check.Interval != time.Second || svc.Check.Timeout != time.Second || svc.Resources.NanoCPUs != 25e7 {
		t.Errorf("got replicas %d, interval %s, timeout %s, nano cpus %d; want 2, 1s, 1s (the interval), 25e7",
			svc.Replicas, svc.Check.Interval, svc.Check.Timeout, svc.Resources.NanoCPUs)
	}
	if _, err := parseFile(t, "testdata/valid/external-consul.yaml", nil); err == nil ||
		!strings.Contains(err.Error(), "variable CPUS is not set") {
		t.Errorf("without CPUS set: err = %v, want variable CPUS is not set", err)
	}
}

// TestExampleStacks loads the example at the repository root and every
// ready-made stack, from their own folders as the CLI would.
func TestExampleStacks(t *testing.T) {
	files, err := filepath.Glob("../stacks/*/stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../stack.example.yaml")
	for _, file := range files {
		st, err := Load(file)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		// Template mode reads the service, resolve mode names it to nginx.
		if st.LB == nil || !strings.Contains(st.LB.TemplateSource, `service "web"`) && !strings.Contains(st.LB.TemplateSource, `service=web resolve`) {
			t.Errorf("%s: LB template not read: %+v", file, st.LB)
		}
		envs, err := Environments(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, env := range envs {
			if st, _, err := LoadEnv(file, env); err != nil || st.Name != "primes-"+env {
				t.Errorf("%s -e %s: %v", file, env, err)
			}
		}
	}
	// The reference stack comes with dev, staging and prod.
	if envs, _ := Environments("../stacks/primes/stack.yaml"); strings.Join(envs, " ") != "dev prod staging" {
		t.Errorf("stacks/primes environments: %v, want dev, prod and staging", envs)
	}
}

func TestLoadExampleIsTheReferenceStack(t *testing.T) {
	st, err := Load("../stack.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	web := st.Service("web")
	if st.Name != "primes" || web == nil || web.Replicas != 20 || web.Port != 5000 || web.Image != "stackctl.local/primes:v1" ||
		web.Update.Parallelism != 4 || web.Resources.MemoryBytes != 64<<20 || web.Resources.NanoCPUs != 25e7 ||
		st.LB.Ports[0] != (PortMapping{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}) {
		t.Errorf("stack.example.yaml is not the reference stack: %+v %+v", st, web)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-stack.yaml")
	var problems *Errors
	if err == nil || errors.As(err, &problems) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a plain not-exist error", err)
	}
}

var problemLine = regexp.MustCompile(`^(.+):([0-9]+):([0-9]+): (.+)$`)

// checkProblems checks what every error from Parse must be: *Errors with at
// least one problem, each one line "FILE:LINE:COL: message" within the file,
// in order.
func checkProblems(t testing.TB, file string, data []byte, err error) *Errors {
	t.Helper()
	var problems *Errors
	if !errors.As(err, &problems) || len(problems.Problems) == 0 {
		t.Fatalf("error is %T %v, want *Errors with problems", err, err)
	}
	lines := strings.Count(string(data), "\n") + 1 + strings.Count(string(data), "\r")
	prev := Position{}
	for _, p := range problems.Problems {
		m := problemLine.FindStringSubmatch(p.String())
		if m == nil || m[1] != file || strings.ContainsAny(p.Msg, "\n\r") {
			t.Fatalf("problem %q is not one line of the form %s:LINE:COL: message", p.String(), file)
		}
		if p.Pos.Line < 1 || p.Pos.Column < 1 || p.Pos.Line > lines+1 {
			t.Fatalf("problem %q: position outside the file (%d lines)", p, lines)
		}
		if p.Pos.Line < prev.Line || p.Pos.Line == prev.Line && p.Pos.Column < prev.Column {
			t.Fatalf("problems out of order: %s after %s", p.Pos, prev)
		}
		prev = p.Pos
	}
	if err.Error() != joinProblems(problems) {
		t.Fatalf("Error() = %q, want the problems one per line", err.Error())
	}
	return problems
}

func joinProblems(e *Errors) string {
	var lines []string
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

// TestInvalidFilesFail checks each malformed file is refused with well-formed
// problems. The exact first message of each is checked by the validate
// command's test in cmd/stackctl.
func TestInvalidFilesFail(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) < 30 {
		t.Fatalf("found %d invalid files (%v), want at least 30", len(files), err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			st, err := Parse(file, data, env(nil), abs(t, "testdata/invalid"))
			if st != nil {
				t.Errorf("got a stack, want none")
			}
			checkProblems(t, file, data, err)
		})
	}
}

func TestEveryProblemIsReportedInOrder(t *testing.T) {
	src := `version: 3
name: Bad
services:
  web:
    image: x:1
    replica: 2
    port: 0
    check: {interval: 10ms}
  db:
    port: 5432
lb:
  template: nope.ctmpl
`
	_, err := Parse("s.yaml", []byte(src), nil, "testdata/valid")
	problems := checkProblems(t, "s.yaml", []byte(src), err)
	var got []string
	for _, p := range problems.Problems {
		got = append(got, p.String())
	}
	wantPrefixes := []string{
		`s.yaml:1:10: version is 3 `,
		`s.yaml:2:7: name "Bad" is not a valid name `,
		`s.yaml:6:5: unknown field "replica" in service "web" (did you mean "replicas"?)`,
		`s.yaml:7:11: services.web.port is 0 `,
		`s.yaml:8:23: services.web.check.interval is "10ms" `,
		`s.yaml:9:3: service "db" has neither image nor build `,
		`s.yaml:12:13: lb.template "nope.ctmpl" does not exist `,
	}
	if len(got) != len(wantPrefixes) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(wantPrefixes), strings.Join(got, "\n"))
	}
	for i := range got {
		if !strings.HasPrefix(got[i], wantPrefixes[i]) {
			t.Errorf("problem %d = %q, want it to start with %q", i, got[i], wantPrefixes[i])
		}
	}
}

func TestFileTooLarge(t *testing.T) {
	data := []byte("version: 1\n# " + strings.Repeat("x", MaxFileSize) + "\n")
	_, err := Parse("big.yaml", data, nil, ".")
	if err == nil || !strings.HasPrefix(err.Error(), "big.yaml:1:1: file is ") {
		t.Errorf("err = %v, want big.yaml:1:1: file is ... bytes", err)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), ":1:1: file is ") {
		t.Errorf("Load: err = %v, want file too large", err)
	}
}

// TestSyntaxErrorPositions checks that YAML syntax errors point at the
// character where the parser gave up, not where yaml.v3 says (often the line
// an enclosing block began on, or none at all).
func TestSyntaxErrorPositions(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"a: b: c\n", "s.yaml:1:5: YAML syntax error: mapping values are not allowed in this context"},
		{"x:\n  y: 1\n z: 2\n", "s.yaml:3:2: YAML syntax error: did not find expected key"},
		{"a: 1\nb: [\n", "s.yaml:2:4: YAML syntax error: did not find expected node content"},
		{"a: \"open\nb: 2\n", "s.yaml:1:4: YAML syntax error: found unexpected end of stream"},
		{"a: 1\n  b: 2\n", "s.yaml:2:4: YAML syntax error: mapping values are not allowed in this context"},
		{"a:\n\t- b\n", "s.yaml:2:1: tab character in indentation"},
		{"a: 1\r\nb: 2\r\n  c: 3\r\n", "s.yaml:3:4: YAML syntax error: mapping values are not allowed in this context"},
		{"é: ü\n  x: y\n", "s.yaml:2:4: YAML syntax error: mapping values are not allowed in this context"},
		{"a: 1\nb: \xc3\x28\n", "s.yaml:2:4: byte 0xC3 is not valid UTF-8"},
		{"a: 1\nb: x\x00\n", "s.yaml:2:5: control character U+0000 is not allowed"},
		{"---\na: 1\n---\n", "s.yaml:3:1: a second YAML document starts here"},
		{"a: !custom x\n", `s.yaml:1:4: YAML tag "!custom" is not supported`},
	}
	for _, tt := range tests {
		_, err := Parse("s.yaml", []byte(tt.src), nil, ".")
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q:\n got %v\nwant %s...", tt.src, err, tt.want)
		}
	}
}

func TestEmptyFiles(t *testing.T) {
	for _, src := range []string{"", "\n\n  \n", "# just a comment\n", "---\n", "--- # c\n...\n"} {
		_, err := Parse("s.yaml", []byte(src), nil, ".")
		if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:1:1: file ") && !strings.HasPrefix(err.Error(), "s.yaml:2:1: file ") {
			t.Errorf("%q: err = %v, want file is empty / has only comments / has no content", src, err)
		}
	}
}

func TestNilEnvMeansNothingIsSet(t *testing.T) {
	src := "version: 1\nname: ${NAME:-dflt}\nservices:\n  web: {image: \"x:${TAG}\", port: 1}\n"
	_, err := Parse("s.yaml", []byte(src), nil, ".")
	if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:4:16: services.web.image: variable TAG is not set") {
		t.Errorf("err = %v", err)
	}
	st, err := Parse("s.yaml", []byte(src), env(map[string]string{"TAG": "v2"}), ".")
	if err != nil || st.Name != "dflt" || st.Services[0].Image != "x:v2" {
		t.Errorf("got %+v, %v", st, err)
	}
}

func TestTemplateSymlinkInsideFolderIsAllowed(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "real.ctmpl"), []byte("upstream web {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.ctmpl", filepath.Join(dir, "nginx.ctmpl")); err != nil {
		t.Fatal(err)
	}
	src := "version: 1\nname: s\nservices:\n  web: {image: x, port: 1}\nlb: {template: nginx.ctmpl}\n"
	st, err := Parse("s.yaml", []byte(src), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.LB.TemplateSource != "upstream web {}\n" || st.LB.Template != filepath.Join(dir, "nginx.ctmpl") {
		t.Errorf("LB = %+v", st.LB)
	}
}
