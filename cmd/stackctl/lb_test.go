package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseWait(t *testing.T) {
	tests := []struct {
		in       string
		min, max time.Duration
		bad      bool
	}{
		{in: "250ms:2s", min: 250 * time.Millisecond, max: 2 * time.Second},
		{in: "1s", min: time.Second, max: 4 * time.Second},
		{in: "0", min: 0, max: 0},
		{in: "2s:1s", bad: true},
		{in: "soon", bad: true},
		{in: "-1s", bad: true},
		{in: "1s:", bad: true},
	}
	for _, tt := range tests {
		min, max, err := parseWait(tt.in)
		if (err != nil) != tt.bad || min != tt.min || max != tt.max {
			t.Errorf("parseWait(%q) = %s, %s, %v", tt.in, min, max, err)
		}
	}
}

// consulWithWeb is a real HTTP listener answering Consul's health endpoint
// with two passing web instances and the KV endpoint with a template.
func consulWithWeb(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Index", "7")
		switch r.URL.Path {
		case "/v1/health/service/web":
			io.WriteString(w, `[
				{"Node":{"Node":"n"},"Service":{"ID":"b","Service":"web","Address":"10.0.0.2","Port":5000}},
				{"Node":{"Node":"n"},"Service":{"ID":"a","Service":"web","Address":"10.0.0.1","Port":5000}}]`)
		case "/v1/kv/stackctl/s/lb/template":
			io.WriteString(w, `[{"Key":"stackctl/s/lb/template","Value":"`+base64.StdEncoding.EncodeToString([]byte(`kv:{{range service "web"}} {{.ID}}{{end}}`))+`"}]`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLBRenderPrintsTheRenderedTemplate(t *testing.T) {
	addr := consulWithWeb(t)
	file := filepath.Join(t.TempDir(), "nginx.ctmpl")
	src := "upstream web { {{range service \"web\"}}server {{.Address}}:{{.Port}};{{else}}server 127.0.0.1:65535 down;{{end}} }\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "lb", "render", "-f", file, "--consul", addr)
	if want := "upstream web { server 10.0.0.1:5000;server 10.0.0.2:5000; }\n"; code != exitOK || stdout != want || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, stdout, stderr, want)
	}

	code, stdout, _ = runCLI(t, "lb", "render", "--template-key", "stackctl/s/lb/template", "--consul", addr)
	if code != exitOK || stdout != "kv: a b" {
		t.Errorf("from KV: exit %d, stdout %q", code, stdout)
	}
}

func TestLBRenderReportsTemplatePositions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nginx.ctmpl")
	if err := os.WriteFile(file, []byte("upstream web {\n  {{range servise \"web\"}}{{end}}\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "lb", "render", "-f", file, "--consul", consulWithWeb(t))
	if want := "stackctl: " + file + `:2:3: function "servise" not defined` + "\n"; code != exitFailure || stderr != want {
		t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
	}
}

func TestLBRunUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"lb", "run", "--", "nginx"}, "no template: give --template-key or --template"},
		{[]string{"lb", "run", "--template", "x", "nginx"}, `unexpected argument "nginx": put the command to run after --`},
		{[]string{"lb", "run", "--template", "x", "--wait", "2s:1s", "--", "nginx"}, `--wait: "2s:1s": want MIN[:MAX] durations with MAX >= MIN`},
		{[]string{"lb", "run", "--template", "x", "--dns", "8600", "--", "nginx"}, `--dns "8600": want host:port, such as 127.0.0.1:8600`},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitFailure || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "Run 'stackctl lb run --help'") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error saying %q", tt.args, code, stderr, tt.want)
		}
	}
}
