package spec

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := env(map[string]string{"TAG": "v2", "EMPTY": "", "API_TOKEN": "s3cr3t"})
	tests := []struct {
		in, want, wantErr string
		names             []string
	}{
		{in: "plain", want: "plain"},
		{in: "x:${TAG}", want: "x:v2", names: []string{"TAG"}},
		{in: "${TAG}-${TAG}", want: "v2-v2", names: []string{"TAG", "TAG"}},
		{in: "${MISSING:-d}", want: "d", names: []string{"MISSING"}},
		{in: "${EMPTY:-d}", want: "d", names: []string{"EMPTY"}},
		{in: "${EMPTY}", want: "", names: []string{"EMPTY"}},
		{in: "${MISSING:-}", want: "", names: []string{"MISSING"}},
		{in: "${MISSING:-a:-b}", want: "a:-b", names: []string{"MISSING"}},
		{in: "$$TAG costs $$5", want: "$TAG costs $5"},
		{in: "$5 and $ and trailing $", want: "$5 and $ and trailing $"},
		{in: "$${TAG}", want: "${TAG}"},
		{in: "${MISSING}", wantErr: "variable MISSING is not set (expected it in the environment, or a default: ${MISSING:-value})"},
		{in: "${TAG", wantErr: `"${TAG" has no closing }`},
		{in: "${}", wantErr: `"${}" is not a variable reference`},
		{in: "${1X}", wantErr: `"${1X}" is not a variable reference`},
		{in: "${A B}", wantErr: `"${A B}" is not a variable reference`},
		{in: "echo $HOME/x", wantErr: `"$HOME" is not expanded (expected ${HOME}, or $$ for a literal $)`},
	}
	for _, tt := range tests {
		got, names, err := expand(tt.in, vars)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
		case err != nil || got != tt.want || strings.Join(names, ",") != strings.Join(tt.names, ","):
			t.Errorf("expand(%q) = %q, %v, %v; want %q, %v", tt.in, got, names, err, tt.want, tt.names)
		}
	}
}

func TestSecretEnvValues(t *testing.T) {
	src := `version: 1
name: s
services:
  web:
    image: x
    port: 1
    env:
      A: ${API_TOKEN}
      B: "prefix-${DB_PASSWORD:-x}"
      C: ${SIGNING_KEY}
      D: ${CLIENT_SECRET}
      E: ${TAG}
      F: {value: "${API_TOKEN}", secret: false}
      G: {value: literal, secret: true}
      API_TOKEN: literal-in-git
`
	st, err := Parse("s.yaml", []byte(src), env(map[string]string{
		"API_TOKEN": "t", "SIGNING_KEY": "k", "CLIENT_SECRET": "c", "TAG": "v",
	}), ".")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"A": true, "B": true, "C": true, "D": true, "E": false, "F": false, "G": true, "API_TOKEN": false}
	for _, v := range st.Services[0].Env {
		if v.Secret != want[v.Name] {
			t.Errorf("%s: Secret = %t, want %t", v.Name, v.Secret, want[v.Name])
		}
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want PortMapping
		err  string
	}{
		{in: "80", want: PortMapping{"127.0.0.1", 0, 80, "tcp"}},
		{in: "8080:80", want: PortMapping{"127.0.0.1", 8080, 80, "tcp"}},
		{in: "8080:80/udp", want: PortMapping{"127.0.0.1", 8080, 80, "udp"}},
		{in: "0.0.0.0:8080:80", want: PortMapping{"0.0.0.0", 8080, 80, "tcp"}},
		{in: "10.1.2.3::80", want: PortMapping{"10.1.2.3", 0, 80, "tcp"}},
		{in: "[::1]:8080:80", want: PortMapping{"::1", 8080, 80, "tcp"}},
		{in: "[0:0::1]::53/udp", want: PortMapping{"::1", 0, 53, "udp"}},
		{in: "65535:1", want: PortMapping{"127.0.0.1", 65535, 1, "tcp"}},
		{in: "", err: `has no container port`},
		{in: "0", err: `has container port "0" out of range`},
		{in: "65536", err: `has container port "65536" out of range`},
		{in: ":80", err: "has an empty host port"},
		{in: "80/", err: `has protocol ""`},
		{in: "80/TCP", err: `has protocol "TCP"`},
		{in: "http", err: `has container port "http", not a number`},
		{in: "+80", err: `has container port "+80", not a number`},
		{in: "8000-8001:80", err: `has host port range "8000-8001"`},
		{in: "1.2.3:80:80", err: `has host address "1.2.3", not an IPv4 address`},
		{in: "::1:80:80", err: "has too many colons"},
		{in: "[1.2.3.4]:80:80", err: `has host address "1.2.3.4", not an IPv6 address`},
		{in: "[::1:80:80", err: "has no closing ]:"},
		{in: "[::1]:80", err: "is not [IPV6]:HOST_PORT:CONTAINER_PORT"},
		{in: "localhost:80:80", err: `has host address "localhost"`},
	}
	for _, tt := range tests {
		got, reason := parsePort(tt.in)
		if tt.err != "" {
			if !strings.HasPrefix(reason, tt.err) {
				t.Errorf("parsePort(%q) reason = %q, want %q...", tt.in, reason, tt.err)
			}
			continue
		}
		if reason != "" || got != tt.want {
			t.Errorf("parsePort(%q) = %+v, %q; want %+v", tt.in, got, reason, tt.want)
		}
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"128m", 128 << 20, true},
		{"128M", 128 << 20, true},
		{"128mb", 128 << 20, true},
		{"128MiB", 128 << 20, true},
		{"512k", 512 << 10, true},
		{"1g", 1 << 30, true},
		{"1.5g", 3 << 29, true},
		{"2t", 2 << 40, true},
		{"7340032", 7340032, true},
		{"7340032b", 7340032, true},
		{"64 m", 64 << 20, true},
		{"128q", 0, false},
		{"m", 0, false},
		{"-1m", 0, false},
		{"1e9", 0, false},
		{"128ib", 0, false},
		{"99999999999999999999t", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseMemory(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseMemory(%q) = %d, %t; want %d, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"image", "build", "replicas", "port", "command", "env", "check", "update", "resources"}
	tests := map[string]string{
		"replica":     "replicas",
		"Replicas":    "replicas",
		"imgae":       "image",
		"ports":       "port",
		"enviroment":  "",
		"x":           "",
		"comand":      "command",
		"resource":    "resources",
		"healthcheck": "",
	}
	for in, want := range tests {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{{"kitten", "sitting", 3}, {"", "abc", 3}, {"abc", "", 3}, {"imgae", "image", 1}, {"ca", "abc", 3}, {"same", "same", 0}} {
		if d := levenshtein(tt.a, tt.b); d != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, s := range []string{"a", "primes", "web-2", "a1", strings.Repeat("a", 40)} {
		if !isName(s) {
			t.Errorf("isName(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "1a", "-a", "a-", "A", "web_1", "we.b", "wéb", strings.Repeat("a", 41)} {
		if isName(s) {
			t.Errorf("isName(%q) = true, want false", s)
		}
	}
	for _, s := range []string{"primes", "primes:v1", "stackctl.local/primes:v1", "localhost:5000/a/b-c__d:1.0",
		"a@sha256:" + strings.Repeat("0", 64), "[::1]:5000/x:y", "a.b.c/d"} {
		if !isImage(s) {
			t.Errorf("isImage(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "Primes", "a:", ":v1", "a b", "a//b", "-a", "a:" + strings.Repeat("t", 129), "a@sha256:xyz"} {
		if isImage(s) {
			t.Errorf("isImage(%q) = true, want false", s)
		}
	}
}

func TestHostPortClashes(t *testing.T) {
	tests := []struct {
		ports string
		want  string // "" for no clash
	}{
		{`["127.0.0.1:8080:80", "127.0.0.2:8080:80", "8081:80", "8080:80/udp", "127.0.0.1::81", "127.0.0.1::81"]`, ""},
		{`["8080:80", "127.0.0.1:8080:81"]`, "lb.ports[1] publishes host port 127.0.0.1:8080/tcp, already published by lb.ports[0]"},
		{`["10.0.0.1:8080:80", "0.0.0.0:8080:80"]`, "lb.ports[1] publishes host port 0.0.0.0:8080/tcp, already published by lb.ports[0]"},
		{`["[::]:8080:80", "10.0.0.1:8080:80"]`, "lb.ports[1] publishes host port 10.0.0.1:8080/tcp, already published by lb.ports[0]"},
		{`["[::1]:53:53/udp", "[0::1]:53:53/udp"]`, "lb.ports[1] publishes host port [::1]:53/udp, already published by lb.ports[0]"},
	}
	for _, tt := range tests {
		src := "version: 1\nname: s\nservices:\n  web: {image: x, port: 1}\nlb:\n  template: nginx.ctmpl\n  ports: " + tt.ports + "\n"
		_, err := Parse("s.yaml", []byte(src), nil, "testdata/valid")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.ports, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want %s", tt.ports, err, tt.want)
		}
	}
}
