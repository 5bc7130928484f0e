package main

import (
	"os"
	"strings"
	"testing"
)

// TestValidateInvalidFiles runs "stackctl validate" on each malformed stack
// file in spec/testdata/invalid and checks the exit status and the exact
// first line of the report: FILE:LINE:COL, what is wrong and what was
// expected. Each file holds one kind of mistake.
func TestValidateInvalidFiles(t *testing.T) {
	tests := []struct {
		file  string
		first string
	}{
		{"bad-indentation.yaml", `bad-indentation.yaml:7:4: YAML syntax error: did not find expected key (expected valid YAML: check indentation, quotes and brackets here)`},
		{"billion-laughs.yaml", `billion-laughs.yaml:3:8: YAML alias *a is not supported (expected every value written out; this file has 72 aliases, refused before any is expanded)`},
		{"build-dockerfile-missing.yaml", `build-dockerfile-missing.yaml:6:39: services.web.build.dockerfile "Containerfile" does not exist (expected a path inside the build context "app")`},
		{"build-escape.yaml", `build-escape.yaml:6:12: services.web.build "../../.." leaves the stack file's folder (expected a path inside it)`},
		{"build-missing.yaml", `build-missing.yaml:6:12: services.web.build "./nope" does not exist (expected a path inside the stack file's folder)`},
		{"check-http-relative.yaml", `check-http-relative.yaml:8:19: services.web.check.http "healthz" is not a URL path (expected a URL path starting with /, like /healthz)`},
		{"command-string.yaml", `command-string.yaml:8:14: services.web.command is "/primes -v" (expected a list of arguments, like ["/primes", "-v"])`},
		{"comments-only.yaml", `comments-only.yaml:1:1: file has only comments (expected a stack file: version: 1, name and services)`},
		{"consul-address.yaml", `consul-address.yaml:5:12: consul.address "consul.internal" is not HOST:PORT (expected HOST:PORT, like 127.0.0.1:8500)`},
		{"consul-loopback-with-lb.yaml", `consul-loopback-with-lb.yaml:5:12: consul.address "127.0.0.1:8500" is this host's loopback, which the LB container cannot reach (expected an address containers can reach, with Consul listening there, like the Docker bridge gateway 172.17.0.1:8500; or no address, for a Consul server run by stackctl)`},
		{"consul-image-and-address.yaml", `consul-image-and-address.yaml:6:3: consul has both image and address (expected one: image runs a Consul server in the stack, address uses an existing agent)`},
		{"container-name-too-long.yaml", `container-name-too-long.yaml:6:3: container name "primes-primes-primes-primes-primes-prime-web-frontend-service-1000" of service "web-frontend-service" is 66 characters (expected at most 63, a DNS label: shorten the stack or service name)`},
		{"control-character.yaml", `control-character.yaml:3:11: control character U+001B is not allowed (expected printable text; write it as an escape in a double-quoted string)`},
		{"cpus-too-many.yaml", `cpus-too-many.yaml:8:23: services.web.resources.cpus is 2048 (expected a number of CPUs from 0.01 to 1024, like 0.5)`},
		{"cpus-zero.yaml", `cpus-zero.yaml:8:23: services.web.resources.cpus is 0 (expected a number of CPUs from 0.01 to 1024, like 0.5)`},
		{"duplicate-key.yaml", `duplicate-key.yaml:8:5: duplicate key "port" in service "web" (already set at line 7; expected each key once)`},
		{"duration-bad.yaml", `duration-bad.yaml:8:23: services.web.check.interval is "5 secs", not a duration (expected a duration of at least 1s, like 5s or 1m30s)`},
		{"duration-negative.yaml", `duration-negative.yaml:8:36: services.web.check.timeout is "-2s" (expected a positive duration, like 2s, 500ms or 1m30s)`},
		{"duration-no-unit.yaml", `duration-no-unit.yaml:8:23: services.web.check.interval is the number 5 (expected a duration of at least 1s, like 5s or 1m30s)`},
		{"empty.yaml", `empty.yaml:1:1: file is empty (expected a stack file: version: 1, name and services)`},
		{"env-name.yaml", `env-name.yaml:9:7: variable name "1DIGITS" in services.web.env is not valid (expected letters, digits and _, not starting with a digit)`},
		{"env-secret-typo.yaml", `env-secret-typo.yaml:9:29: unknown field "secert" in services.web.env.API_KEY (did you mean "secret"?)`},
		{"env-value-empty.yaml", `env-value-empty.yaml:9:20: services.web.env.PRIME_DIGITS is empty (expected a string, number or boolean, or {value: ..., secret: true}; write "" for an empty value)`},
		{"env-value-list.yaml", `env-value-list.yaml:9:21: services.web.env.PRIME_DIGITS is a list (expected a string, number or boolean, or {value: ..., secret: true}; write "" for an empty value)`},
		{"image-invalid.yaml", `image-invalid.yaml:5:16: services.web.image "Stackctl/Primes:v1" is not a valid image reference (expected a Docker image reference like name:tag or host/name:tag, the name in lowercase)`},
		{"invalid-utf8.yaml", `invalid-utf8.yaml:3:19: byte 0xE9 is not valid UTF-8 (expected a UTF-8 text file)`},
		{"lb-no-template.yaml", `lb-no-template.yaml:6:1: missing required field "template" in lb (expected the path of a consul-template template for nginx, relative to the stack file)`},
		{"lb-template-absolute.yaml", `lb-template-absolute.yaml:7:13: lb.template "/etc/hostname" is an absolute path (expected a path relative to the stack file's folder)`},
		{"lb-template-escape.yaml", `lb-template-escape.yaml:7:13: lb.template "../outside.ctmpl" leaves the stack file's folder (expected a path inside it)`},
		{"lb-template-missing.yaml", `lb-template-missing.yaml:7:13: lb.template "missing.ctmpl" does not exist (expected a path inside the stack file's folder)`},
		{"lb-template-symlink.yaml", `lb-template-symlink.yaml:7:13: lb.template "link-out.ctmpl" is a symlink that leads out of the stack file's folder (expected a path inside it)`},
		{"memory-too-small.yaml", `memory-too-small.yaml:9:15: services.web.resources.memory is "4m", 4194304 bytes (expected a size like 128m, 512k or 1g, or a number of bytes; at least 6m, Docker's minimum)`},
		{"memory-unit.yaml", `memory-unit.yaml:9:15: services.web.resources.memory is "128q", not a size (expected a size like 128m, 512k or 1g, or a number of bytes; at least 6m, Docker's minimum)`},
		{"merge-key.yaml", `merge-key.yaml:6:5: YAML merge key << is not supported (expected the fields written out)`},
		{"name-missing.yaml", `name-missing.yaml:2:1: missing required field "name" at top level (expected name: followed by 1 to 40 lowercase letters, digits and dashes, starting with a letter and not ending with a dash)`},
		{"name-too-long.yaml", `name-too-long.yaml:3:7: name "primes-primes-primes-primes-primes-primes-primes" is not a valid name (expected 1 to 40 lowercase letters, digits and dashes, starting with a letter and not ending with a dash)`},
		{"name-uppercase.yaml", `name-uppercase.yaml:3:7: name "Primes" is not a valid name (expected 1 to 40 lowercase letters, digits and dashes, starting with a letter and not ending with a dash)`},
		{"not-a-mapping.yaml", `not-a-mapping.yaml:2:1: top level is a list (expected a mapping with version: 1, name and services)`},
		{"port-missing.yaml", `port-missing.yaml:5:3: missing required field "port" in service "web" (expected the container port the service listens on, 1 to 65535)`},
		{"port-out-of-range.yaml", `port-out-of-range.yaml:7:11: services.web.port is 70000 (expected a whole number from 1 to 65535)`},
		{"ports-bad-ip.yaml", `ports-bad-ip.yaml:8:11: lb.ports[0] "300.0.0.1:8080:80" has host address "300.0.0.1", not an IPv4 address (expected an IPv4 address, or an IPv6 one in brackets)`},
		{"ports-bad-protocol.yaml", `ports-bad-protocol.yaml:8:11: lb.ports[0] "127.0.0.1:8080:80/sctp" has protocol "sctp" (expected tcp or udp)`},
		{"ports-clash.yaml", `ports-clash.yaml:10:11: lb.ports[0] publishes host port 0.0.0.0:8080/tcp, already published by consul.ports[0] (expected each host port once)`},
		{"ports-range.yaml", `ports-range.yaml:8:11: lb.ports[0] "8080-8090:80" has host port range "8080-8090" (expected a single port: ranges are not supported)`},
		{"reconcile-env-without-environment.yaml", `reconcile-env-without-environment.yaml:9:8: reconcile.env is "prod" but the stack is loaded without an environment (expected no reconcile.env, or the stack loaded with -e prod: the agent applies the stack it belongs to)`},
		{"reconcile-interval-short.yaml", `reconcile-interval-short.yaml:9:13: reconcile.interval is "100ms" (expected a duration of at least 1s, like 5s or 1m30s)`},
		{"reconcile-path-missing.yaml", `reconcile-path-missing.yaml:6:1: missing required field "path" in reconcile (expected the stack file's path in the repository, like primes/stack.yaml)`},
		{"reconcile-path-outside.yaml", `reconcile-path-outside.yaml:8:9: reconcile.path "../stack.yaml" is not a path inside the repository (expected the stack file's path in the repository, like primes/stack.yaml)`},
		{"reconcile-repo-relative.yaml", `reconcile-repo-relative.yaml:7:9: reconcile.repo "../stacks.git" is a relative path, which the agent would resolve in its own checkout of the stack file (expected an absolute path or file:// URL on the Docker host, or an ssh:// or https:// URL, or git@host:org/repo.git)`},
		{"reconcile-ssh-key-relative.yaml", `reconcile-ssh-key-relative.yaml:9:12: reconcile.ssh_key "deploy_key" is not an absolute path (expected the absolute path of a file on the Docker host, mounted read-only into the agent's container at the same path)`},
		{"replicas-negative.yaml", `replicas-negative.yaml:7:15: services.web.replicas is -1 (expected a whole number from 0 to 1000)`},
		{"replicas-too-many.yaml", `replicas-too-many.yaml:7:15: services.web.replicas is 1001 (expected a whole number from 0 to 1000)`},
		{"replicas-word.yaml", `replicas-word.yaml:7:15: services.web.replicas is the string "twenty" (expected a whole number from 0 to 1000)`},
		{"service-name-invalid.yaml", `service-name-invalid.yaml:5:3: service name "web_app" is not valid (expected 1 to 40 lowercase letters, digits and dashes, starting with a letter and not ending with a dash)`},
		{"service-name-reserved.yaml", `service-name-reserved.yaml:5:3: service name "consul" is reserved (expected another name: the stack's own Consul server registers under it)`},
		{"service-no-image.yaml", `service-no-image.yaml:5:3: service "web" has neither image nor build (expected image: NAME:TAG, or build: FOLDER to build one)`},
		{"services-empty.yaml", `services-empty.yaml:4:11: services is empty (expected at least one service)`},
		{"services-list.yaml", `services-list.yaml:5:3: services is a list (expected a mapping of service names to services)`},
		{"syntax-error.yaml", `syntax-error.yaml:5:9: YAML syntax error: did not find expected ',' or '}' (expected valid YAML: check indentation, quotes and brackets here)`},
		{"tabs.yaml", `tabs.yaml:6:1: tab character in indentation (expected spaces: YAML does not allow tabs there)`},
		{"timeout-over-interval.yaml", `timeout-over-interval.yaml:10:16: services.web.check.timeout 3s is longer than the interval 2s (expected at most the interval)`},
		{"two-documents.yaml", `two-documents.yaml:6:1: a second YAML document starts here (expected one document per stack file)`},
		{"unknown-field.yaml", `unknown-field.yaml:7:5: unknown field "replica" in service "web" (did you mean "replicas"?)`},
		{"unknown-nested-field.yaml", `unknown-nested-field.yaml:9:7: unknown field "path" in services.web.check (expected one of: http, interval, timeout, deregister_after)`},
		{"unknown-top-level-field.yaml", `unknown-top-level-field.yaml:4:1: unknown field "servcies" at top level (did you mean "services"?)`},
		{"update-on-failure.yaml", `update-on-failure.yaml:9:19: services.web.update.on_failure is "retry" (expected rollback or pause)`},
		{"update-order.yaml", `update-order.yaml:9:14: services.web.update.order is "start_first" (expected start-first or stop-first; did you mean "start-first"?)`},
		{"update-parallelism-zero.yaml", `update-parallelism-zero.yaml:8:27: services.web.update.parallelism is 0 (expected a whole number from 1 to 1000)`},
		{"variable-no-braces.yaml", `variable-no-braces.yaml:8:23: services.web.command[2]: "$HOME" is not expanded (expected ${HOME}, or $$ for a literal $)`},
		{"variable-unclosed.yaml", `variable-unclosed.yaml:6:12: services.web.image: "${TAG" has no closing } (expected ${NAME} or ${NAME:-default}; write $$ for a literal $)`},
		{"variable-unset.yaml", `variable-unset.yaml:6:12: services.web.image: variable STACKCTL_TEST_SURELY_UNSET is not set (expected it in the environment, or a default: ${STACKCTL_TEST_SURELY_UNSET:-value})`},
		{"version-2.yaml", `version-2.yaml:2:10: version is 2 (expected version: 1, the only stack file format this stackctl reads)`},
		{"version-missing.yaml", `version-missing.yaml:2:1: missing required field "version" at top level (expected version: 1)`},
		{"version-string.yaml", `version-string.yaml:2:10: version is the string "1" (expected version: 1, the only stack file format this stackctl reads)`},
		{"yaml-tag.yaml", `yaml-tag.yaml:6:12: YAML tag "!!binary" is not supported (expected plain values without tags)`},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d cases", len(tests))
	}
	t.Chdir("../../spec/testdata/invalid")
	// variable-unset.yaml relies on this variable being unset.
	t.Setenv("STACKCTL_TEST_SURELY_UNSET", "")
	os.Unsetenv("STACKCTL_TEST_SURELY_UNSET")
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "validate", "-f", tt.file)
			if code != exitFailure {
				t.Errorf("exit status %d, want %d", code, exitFailure)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if lines[0] != tt.first {
				t.Errorf("first line of stderr:\n got %s\nwant %s", lines[0], tt.first)
			}
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "stackctl: "+tt.file+" is not valid: ") {
				t.Errorf("last line of stderr = %q, want the summary", last)
			}
		})
	}
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".yaml") && !seen[f.Name()] {
			t.Errorf("%s has no case in this test", f.Name())
		}
	}
}

func TestValidateValidFiles(t *testing.T) {
	t.Chdir("../..")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"validate", "-f", "stack.example.yaml"}, `stack.example.yaml: valid (stack "primes": 1 service, 20 workers)
lb template stacks/primes/nginx.ctmpl: include form (detected, rendered to /etc/nginx/conf.d/stackctl.conf), reads no service; nginx resolves upstream web at run time (resolver valid=1s): no reload when workers come and go`},
		{[]string{"validate", "--file=stacks/primes/stack.yaml"}, `stacks/primes/stack.yaml: valid (stack "primes": 1 service, 20 workers)
lb template stacks/primes/nginx.ctmpl: include form (detected, rendered to /etc/nginx/conf.d/stackctl.conf), reads no service; nginx resolves upstream web at run time (resolver valid=1s): no reload when workers come and go`},
		{[]string{"validate", "-f", "spec/testdata/valid/minimal.yaml"}, `spec/testdata/valid/minimal.yaml: valid (stack "minimal": 1 service, 1 worker)`},
		{[]string{"validate", "-f", "spec/testdata/valid/build.yaml"}, `spec/testdata/valid/build.yaml: valid (stack "built": 1 service, 1 worker)`},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, tt.args...)
		if code != exitOK || stdout != tt.want+"\n" || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

func TestValidateDefaultsToStackYAML(t *testing.T) {
	t.Chdir("../../stacks/primes")
	code, stdout, _ := runCLI(t, "validate")
	if code != exitOK || !strings.HasPrefix(stdout, "stack.yaml: valid") {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
}

func TestValidateMissingFile(t *testing.T) {
	t.Chdir(t.TempDir())
	code, stdout, stderr := runCLI(t, "validate")
	if code != exitFailure || stdout != "" ||
		stderr != "stackctl: read stack file: open stack.yaml: no such file or directory\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	src := "version: 2\nname: x\nservices:\n  web: {image: x, port: 0, replica: 1}\n"
	if err := os.WriteFile("stack.yaml", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, stderr := runCLI(t, "validate")
	want := `stack.yaml:1:10: version is 2 (expected version: 1, the only stack file format this stackctl reads)
stack.yaml:4:25: services.web.port is 0 (expected a whole number from 1 to 65535)
stack.yaml:4:28: unknown field "replica" in service "web" (did you mean "replicas"?)
stackctl: stack.yaml is not valid: 3 problems
`
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
}

// validate renders the LB template against the declared workers and says
// which form it found; a template that does not render is a problem at its
// own FILE:LINE:COL.
func TestValidateRendersTheLBTemplate(t *testing.T) {
	whole, err := os.ReadFile("../../stacks/primes/nginx-whole.ctmpl")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, template, config string
		code                   int
		stdout, stderr         string
	}{
		{name: "whole nginx.conf, detected", template: string(whole), code: exitOK,
			stdout: `s/stack.yaml: valid (stack "s": 1 service, 3 workers)
lb template s/nginx.ctmpl: whole form (detected, rendered to /etc/nginx/nginx.conf), renders 3 instances of "web" (at their container names)
`},
		{name: "declared include", template: "server { listen 80; }\n", config: "include", code: exitOK,
			stdout: `s/stack.yaml: valid (stack "s": 1 service, 3 workers)
lb template s/nginx.ctmpl: include form (lb.config, rendered to /etc/nginx/conf.d/stackctl.conf), reads no service
`},
		{name: "does not render", template: "upstream web {\n  {{ range service \"web\" }}server {{ .Adress }};{{ end }}\n}\n", code: exitFailure,
			stderr: `s/nginx.ctmpl:2:38: lb template does not render against the stack's workers: at <.Adress>: can't evaluate field Adress in type tmpl.Instance
stackctl: s/nginx.ctmpl is not valid: 1 problem
`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			config := ""
			if tt.config != "" {
				config = ", config: " + tt.config
			}
			stack := "version: 1\nname: s\nservices:\n  web: {image: x, port: 5000, replicas: 3}\nlb: {template: nginx.ctmpl" + config + "}\n"
			if err := os.Mkdir("s", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile("s/stack.yaml", []byte(stack), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile("s/nginx.ctmpl", []byte(tt.template), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, "validate", "-f", "s/stack.yaml")
			if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("exit %d\nstdout %s\nstderr %s\nwant exit %d\nstdout %s\nstderr %s", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
