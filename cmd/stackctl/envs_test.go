package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/spec"
)

// primesEnvs copies the reference stack with its dev, staging and prod
// overlays into a folder of the test's own.
func primesEnvs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"stack.yaml", "stack.dev.yaml", "stack.staging.yaml", "stack.prod.yaml", "nginx.ctmpl"} {
		b, err := os.ReadFile(filepath.Join("../../stacks/primes", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "stack.yaml")
}

func TestEveryStackCommandTakesAnEnvironment(t *testing.T) {
	root := newRootCmd()
	for _, name := range []string{"validate", "plan", "apply", "destroy", "status", "logs", "ui", "unlock", "stress"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		if f := cmd.Flags().Lookup("env"); f == nil || f.Shorthand != "e" {
			t.Errorf("%s has no -e/--env flag", name)
		}
	}
}

func TestValidateReadsTheEnvironmentsOverlay(t *testing.T) {
	file := primesEnvs(t)
	for env, want := range map[string]string{
		"dev":     `valid (stack "primes-dev": 1 service, 2 workers)`,
		"staging": `valid (stack "primes-staging": 1 service, 4 workers)`,
		"prod":    `valid (stack "primes-prod": 1 service, 8 workers)`,
		"":        `valid (stack "primes": 1 service, 20 workers)`,
	} {
		code, stdout, stderr := runCLI(t, "validate", "-f", file, "-e", env)
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("validate -e %q: exit %d, stdout %q, stderr %q; want %q", env, code, stdout, stderr, want)
		}
	}
	code, _, stderr := runCLI(t, "validate", "-f", file, "-e", "qa")
	if code != exitFailure || !strings.Contains(stderr, "environment qa has no overlay: "+spec.OverlayPath(file, "qa")+" does not exist") {
		t.Errorf("validate -e qa: exit %d, stderr %q", code, stderr)
	}
}

// A host port two environments both publish is refused before anything is
// read from Docker or Consul, with both places named.
func TestPlanRefusesAHostPortAnotherEnvironmentPublishes(t *testing.T) {
	file := primesEnvs(t)
	prod := filepath.Join(filepath.Dir(file), "stack.prod.yaml")
	b, _ := os.ReadFile(prod)
	if err := os.WriteFile(prod, []byte(strings.Replace(string(b), "127.0.0.1:8083:80", "127.0.0.1:8082:80", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock") // nothing may be read
	staging := filepath.Join(filepath.Dir(file), "stack.staging.yaml")
	for _, args := range [][]string{{"plan", "-e", "staging"}, {"apply", "-e", "staging", "--auto-approve"}, {"validate", "-e", "staging"}} {
		code, _, stderr := runCLI(t, append(args, "-f", file)...)
		want := staging + ":10:11: lb.ports[0] publishes host port 127.0.0.1:8082/tcp, which stack primes-prod also publishes at " + prod + ":12:11 (lb.ports[0])"
		if code != exitFailure || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant it to contain\n%s", args, code, stderr, want)
		}
	}
	// dev does not clash, and goes on to read Docker (which is not there).
	code, _, stderr := runCLI(t, "plan", "-f", file, "-e", "dev")
	if code != exitFailure || strings.Contains(stderr, "publishes host port") || !strings.Contains(stderr, "cannot read the live state of stack primes-dev") {
		t.Errorf("plan -e dev: exit %d, stderr %q", code, stderr)
	}
}

func TestDiffListsWhatDiffersBetweenTwoEnvironments(t *testing.T) {
	file := primesEnvs(t)
	code, stdout, stderr := runCLI(t, "diff", "-f", file, "-e", "staging", "-e", "prod")
	if code != exitOK {
		t.Fatalf("diff: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"primes-staging", "primes-prod",
		"services.web.image      stackctl.local/primes:v2",
		"stackctl.local/primes:v1",
		"services.web.replicas   4",
		"consul.ports", "127.0.0.1:8520:8500/tcp", "127.0.0.1:8530:8500/tcp",
		"lb.ports", "127.0.0.1:8082:80/tcp", "127.0.0.1:8083:80/tcp",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "services.web.env") {
		t.Errorf("diff shows env, which is the same:\n%s", stdout)
	}
	code, _, stderr = runCLI(t, "diff", "-f", file, "-e", "staging")
	if code != exitFailure || !strings.Contains(stderr, "give -e twice") {
		t.Errorf("diff with one -e: exit %d, %q", code, stderr)
	}
}

func TestPromoteWritesTheOverlayAndPrintsThePatch(t *testing.T) {
	file := primesEnvs(t)
	prod := filepath.Join(filepath.Dir(file), "stack.prod.yaml")
	before, _ := os.ReadFile(prod)

	code, stdout, stderr := runCLI(t, "promote", "-f", file, "staging", "prod", "--dry-run")
	if code != exitOK || !strings.Contains(stdout, "-    image: stackctl.local/primes:v1\n+    image: stackctl.local/primes:v2\n") {
		t.Fatalf("promote --dry-run: exit %d, stdout:\n%s\nstderr %s", code, stdout, stderr)
	}
	if after, _ := os.ReadFile(prod); string(after) != string(before) {
		t.Fatalf("--dry-run changed %s", prod)
	}

	code, stdout, stderr = runCLI(t, "promote", "-f", file, "staging", "prod")
	if code != exitOK || !strings.Contains(stdout, "+    image: stackctl.local/primes:v2\n") || !strings.Contains(stdout, "Wrote "+prod) {
		t.Fatalf("promote: exit %d, stdout:\n%s\nstderr %s", code, stdout, stderr)
	}
	st, _, err := spec.LoadEnv(file, "prod")
	if err != nil {
		t.Fatal(err)
	}
	if img := st.Service("web").Image; img != "stackctl.local/primes:v2" || st.Service("web").Replicas != 8 {
		t.Errorf("prod after promote runs %s ×%d, want staging's v2 on prod's 8", img, st.Service("web").Replicas)
	}
	after, _ := os.ReadFile(prod)
	if !strings.Contains(string(after), "# prod: the released version") {
		t.Errorf("promote lost the overlay's comments:\n%s", after)
	}
	code, stdout, _ = runCLI(t, "promote", "-f", file, "staging", "prod")
	if code != exitOK || !strings.Contains(stdout, "nothing to change") {
		t.Errorf("second promote: exit %d, %q", code, stdout)
	}
	// An overlay without the service gets it.
	dev := filepath.Join(filepath.Dir(file), "stack.dev.yaml")
	if err := os.WriteFile(dev, []byte("lb:\n  ports: [\"127.0.0.1:8081:80\"]\nconsul:\n  ports: [\"127.0.0.1:8510:8500\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI(t, "promote", "-f", file, "staging", "dev"); code != exitOK {
		t.Fatalf("promote to dev: exit %d\n%s%s", code, stdout, stderr)
	}
	if st, _, err := spec.LoadEnv(file, "dev"); err != nil || st.Service("web").Image != "stackctl.local/primes:v2" {
		t.Errorf("dev after promote: %v", err)
	}
}

func TestEnvsShowsOneLinePerEnvironment(t *testing.T) {
	var out strings.Builder
	err := printEnvs(&out, []envRow{
		{Env: "", Stack: "primes"},
		{Env: "dev", Stack: "primes-dev", Deployed: true, Images: []string{"primes:v1"}, Desired: 2, Passing: 1, LB: []string{"127.0.0.1:8081->80/tcp"}},
		{Env: "qa", Stack: "primes-qa", Error: "stack.qa.yaml:1:1: one\nstack.qa.yaml:2:1: two\nstack.qa.yaml:3:1: three"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "ENV      STACK        VERSION     HEALTH                                                                LB\n" +
		"(none)   primes       -           not deployed                                                          -\n" +
		"dev      primes-dev   primes:v1   1/2 passing                                                           127.0.0.1:8081->80/tcp\n" +
		"qa       primes-qa    -           error: stack.qa.yaml:1:1: one (and 2 more: stackctl validate -e qa)   -\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
