package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/spec"
)

// runCLI runs stackctl in-process, as main does.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSchemaCommandPrintsTheEmbeddedSchema(t *testing.T) {
	code, stdout, stderr := runCLI(t, "schema")
	if code != exitOK || stderr != "" || stdout != string(spec.Schema()) {
		t.Fatalf("exit %d, stderr %q, stdout %.80q", code, stderr, stdout)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", doc["$schema"])
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, _ := runCLI(t, args...)
		if code != exitOK || !strings.HasPrefix(stdout, "stackctl dev (commit ") || !strings.Contains(stdout, "go1.") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
}

// TestCompletion: cobra's default completion command is real for every shell
// the README names, and logs completes the stack's services.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, stdout, stderr := runCLI(t, "completion", shell)
		if code != exitOK || len(stdout) < 100 || !strings.Contains(stdout, "stackctl") || stderr != "" {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, len(stdout), stderr)
		}
	}
	file := filepath.Join(t.TempDir(), "stack.yaml")
	src := "version: 1\nname: s\nservices:\n  web: {image: x, port: 1}\n  api: {image: x, port: 1}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCLI(t, "__complete", "logs", "--file", file, "")
	for _, want := range []string{"lb\n", "consul\n", "web\n", "api\n"} {
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("logs completion: exit %d, %q lacks %q", code, stdout, want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "stackctl: unknown command \"frobnicate\" for \"stackctl\"\nRun 'stackctl --help' for usage.\n"},
		{[]string{"validate", "--bogus"}, "stackctl: unknown flag: --bogus\nRun 'stackctl validate --help' for usage.\n"},
		{[]string{"validate", "extra"}, "stackctl: unknown command \"extra\" for \"stackctl validate\"\nRun 'stackctl validate --help' for usage.\n"},
		{[]string{"schema", "-f", "x"}, "stackctl: unknown shorthand flag: 'f' in -f\nRun 'stackctl schema --help' for usage.\n"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, tt.args...)
		if code != exitFailure || stdout != "" || stderr != tt.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

// TestEveryCommandHasHelpAndExamples also pins the flags DESIGN.md documents,
// which the commands that replace today's placeholders must keep.
func TestEveryCommandHasHelpAndExamples(t *testing.T) {
	root := newRootCmd()
	flags := map[string][]string{
		"validate": {"file"},
		"plan":     {"file", "out", "json", "format", "detailed-exitcode"},
		"apply":    {"file", "auto-approve", "lock", "lock-timeout", "json"},
		"destroy":  {"file", "auto-approve", "json"},
		"status":   {"file", "json"},
		"logs":     {"file", "follow", "since", "tail", "timestamps"},
		"ui":       {"file", "open"},
		"unlock":   {"file", "force"},
		"stress":   {"file", "rate", "connections", "duration", "path", "no-keepalive", "chaos", "seed", "apply", "heal", "json", "plot", "find-max", "undo"},
	}
	for _, cmd := range root.Commands() {
		if cmd.Short == "" || cmd.Long == "" || cmd.Example == "" {
			t.Errorf("%s: Short, Long and Example must all be set", cmd.Name())
		}
		for _, name := range flags[cmd.Name()] {
			if cmd.Flags().Lookup(name) == nil {
				t.Errorf("%s has no --%s flag", cmd.Name(), name)
			}
		}
		// logs is the one exception: there -f is --follow, as in docker logs.
		wantShort := "f"
		if cmd.Name() == "logs" {
			wantShort = ""
			if f := cmd.Flags().Lookup("follow"); f == nil || f.Shorthand != "f" {
				t.Errorf("logs: -f is not --follow")
			}
		}
		if f := cmd.Flags().Lookup("file"); f != nil && (f.Shorthand != wantShort || f.DefValue != "stack.yaml") {
			t.Errorf("%s: --file is -%s with default %q, want -%s and stack.yaml", cmd.Name(), f.Shorthand, f.DefValue, wantShort)
		}
		delete(flags, cmd.Name())
	}
	for name := range flags {
		t.Errorf("no %q command", name)
	}
	if root.Example == "" {
		t.Error("the root command has no examples")
	}
}

func TestLongFlagsWithOneDash(t *testing.T) {
	root := newRootCmd()
	in := []string{"plan", "-out", "p.plan", "-f", "s.yaml", "-json", "-detailed-exitcode", "-fx.yaml",
		"-lock=false", "-lock-timeout=5s", "-nope", "--", "-out"}
	want := []string{"plan", "--out", "p.plan", "-f", "s.yaml", "--json", "--detailed-exitcode", "-fx.yaml",
		"--lock=false", "--lock-timeout=5s", "-nope", "--", "-out"}
	if got := longFlagsWithOneDash(root, in); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestStackProblemsFromAnyCommand: a command that fails on an invalid stack
// file reports it the way validate does.
func TestStackProblemsFromAnyCommand(t *testing.T) {
	var buf bytes.Buffer
	problems := &spec.Errors{Problems: []*spec.Problem{
		{Pos: spec.Position{File: "s.yaml", Line: 2, Column: 7}, Msg: "name is wrong (expected right)"},
		{Pos: spec.Position{File: "s.yaml", Line: 9, Column: 1}, Msg: "so is this (expected that)"},
	}}
	reportError(&buf, exitWith(exitFailure, problems))
	want := "s.yaml:2:7: name is wrong (expected right)\ns.yaml:9:1: so is this (expected that)\nstackctl: s.yaml is not valid: 2 problems\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	reportError(&buf, errors.New("boom"))
	if buf.String() != "stackctl: boom\n" {
		t.Errorf("got %q", buf.String())
	}
}

func TestNoColor(t *testing.T) {
	if s := styleFor(&bytes.Buffer{}); s.on {
		t.Error("colour on for a buffer, want it only on terminals")
	}
	t.Setenv("NO_COLOR", "1")
	if s := styleFor(os.Stdout); s.on {
		t.Error("colour on with NO_COLOR set")
	}
	if got := (style{on: true}).green("valid"); got != "\x1b[32mvalid\x1b[0m" {
		t.Errorf("green = %q", got)
	}
	if got := (style{}).green("valid"); got != "valid" {
		t.Errorf("green without colour = %q", got)
	}
}

// A stack with hosts: validates; the commands that work on one engine
// refuse it before touching Docker (one engine would get every worker of
// several machines), and plan, apply and destroy, which place it over its
// hosts, refuse it without the Consul cluster's management token.
func TestHostsAreRefusedWhereNotBuiltAndWithoutAToken(t *testing.T) {
	file, err := filepath.Abs("../../spec/testdata/valid/hosts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONSUL_HTTP_TOKEN", "")
	t.Setenv("CONSUL_HTTP_TOKEN_FILE", "")
	if code, _, stderr := runCLI(t, "validate", "-f", file); code != exitOK {
		t.Fatalf("validate: exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "-f"}, "needs its management token in CONSUL_HTTP_TOKEN"},
		{[]string{"logs", "--file"}, "hosts.yaml: this command does not work on a stack with hosts yet"},
		{[]string{"plan", "-f"}, "hosts.yaml: a stack with hosts runs Consul with ACLs on, and needs its management token in CONSUL_HTTP_TOKEN"},
		{[]string{"apply", "--auto-approve", "-f"}, "needs its management token in CONSUL_HTTP_TOKEN"},
		{[]string{"destroy", "--auto-approve", "-f"}, "needs its management token in CONSUL_HTTP_TOKEN"},
	} {
		code, stdout, stderr := runCLI(t, append(c.args, file)...)
		if code == exitOK || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, stdout, stderr, c.want)
		}
	}
}
