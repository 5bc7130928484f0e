package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScanTemplateDetectsTheForm(t *testing.T) {
	for _, tt := range []struct {
		name     string
		src      string
		form     string
		mainOnly string // "name@line:col" of the first main-context directive
		httpOnly string
		daemon   bool
	}{
		{name: "include: upstream and server", form: LBConfigInclude, httpOnly: "upstream@1:1",
			src: "upstream web {\n  {{range service \"web\"}}server {{.Address}}:{{.Port}};{{end}}\n}\nserver { listen 80; }\n"},
		{name: "whole: classic consul-template nginx.conf", form: LBConfigWhole, mainOnly: "worker_processes@1:1",
			src: "worker_processes 1;\nevents {}\nhttp {\n  upstream web { {{range service \"web\"}}server {{.Address}}:{{.Port}};{{end}} }\n  server { listen 80; }\n}\n"},
		{name: "whole: events block alone", form: LBConfigWhole, mainOnly: "events@2:3",
			src: "# no directives first\n  events { worker_connections 64; }\nhttp { }\n"},
		{name: "whole: http first", form: LBConfigWhole, mainOnly: "http@1:1", src: "http{server{listen 80;}}"},
		{name: "comment mentions http {", form: LBConfigInclude, httpOnly: "server@2:1",
			src: "# http { is what nginx.conf has around this file\nserver { listen 80; } # worker_processes 4;\n"},
		{name: "http { inside a string", form: LBConfigInclude, httpOnly: "server@1:1",
			src: "server {\n  return 200 \"}\nhttp {\";\n}\nmap $x $y { default 'events {'; }\n"},
		{name: "actions with braces and }} in strings", form: LBConfigInclude, httpOnly: "upstream@2:1",
			src: "{{ $x := \"}} http {\" }}{{/* events { */}}\nupstream u { {{ range service \"web\" }}server {{ .Address }};{{ else }}server 127.0.0.1:1 down;{{ end }} }\n{{ `}}{` }}\n"},
		{name: "main directive inside a block is not top level", form: LBConfigInclude, httpOnly: "server@1:1",
			src: "server { user nobody; events; }\n"},
		{name: "directive after an action at statement start", form: LBConfigWhole, mainOnly: "worker_processes@1:26",
			src: "{{ if true }}{{ end }}   worker_processes auto;\nevents {}\n"},
		{name: "a word built by an action is unknown", form: LBConfigInclude, src: "worker_{{ \"processes\" }} 2;\n"},
		{name: "error_log and include say nothing", form: LBConfigInclude, src: "error_log stderr;\ninclude /etc/nginx/x.conf;\n"},
		{name: "daemon", form: LBConfigWhole, mainOnly: "daemon@1:1", daemon: true, src: "daemon off;\nevents {}\nhttp {}\n"},
		{name: "comment with an action spanning lines", form: LBConfigWhole, mainOnly: "pid@3:1",
			src: "# {{ if true\n}} stays a comment\npid /run/nginx.pid;\n"},
		{name: "empty", form: LBConfigInclude, src: ""},
		{name: "unterminated action", form: LBConfigInclude, src: "{{ range service \"web\" \nhttp {"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			scan := ScanTemplate(tt.src)
			if got := scan.Form(); got != tt.form {
				t.Errorf("form = %s, want %s", got, tt.form)
			}
			if got := directiveAt(scan.MainOnly); got != tt.mainOnly {
				t.Errorf("main-context directive = %q, want %q", got, tt.mainOnly)
			}
			if got := directiveAt(scan.HTTPOnly); got != tt.httpOnly {
				t.Errorf("http-context block = %q, want %q", got, tt.httpOnly)
			}
			if got := scan.Daemon != nil; got != tt.daemon {
				t.Errorf("daemon found = %t, want %t", got, tt.daemon)
			}
		})
	}
}

func directiveAt(d *TemplateDirective) string {
	if d == nil {
		return ""
	}
	return fmt.Sprintf("%s@%d:%d", d.Name, d.Line, d.Column)
}

func TestLBConfigForm(t *testing.T) {
	const include = "upstream web { server 127.0.0.1:1; }\nserver { listen 80; }\n"
	const whole = "worker_processes 1;\nevents {}\nhttp {\n  server { listen 80; }\n}\n"
	for _, tt := range []struct {
		name, config, template string
		form                   string
		problem                string // prefix; empty: valid
	}{
		{name: "auto include", template: include, form: LBConfigInclude},
		{name: "auto whole", template: whole, form: LBConfigWhole},
		{name: "declared include", config: "include", template: include, form: LBConfigInclude},
		{name: "declared whole", config: "whole", template: whole, form: LBConfigWhole},
		{name: "declared whole overrides detection", config: "whole", template: "{{ keyOrDefault \"conf\" \"\" }}\n", form: LBConfigWhole},
		{name: "include with main directive", config: "include", template: whole,
			problem: `nginx.ctmpl:1:1: "worker_processes" is a main-context directive, but lb.config is include`},
		{name: "whole with upstream at top", config: "whole", template: include,
			problem: `nginx.ctmpl:1:1: "upstream" block at the top level, but lb.config is whole`},
		{name: "auto mixed", template: "upstream web { server 127.0.0.1:1; }\nworker_processes 2;\n",
			problem: `nginx.ctmpl:1:1: "upstream" block at the top level beside the main-context directive "worker_processes" (line 2)`},
		{name: "daemon", template: "  daemon off;\n" + whole,
			problem: `nginx.ctmpl:1:3: a whole-nginx.conf template may not set daemon`},
		{name: "unknown config", config: "full", template: whole,
			problem: `s.yaml:5:37: lb.config is "full" (expected auto or include or whole)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "nginx.ctmpl"), []byte(tt.template), 0o644); err != nil {
				t.Fatal(err)
			}
			config := ""
			if tt.config != "" {
				config = ", config: " + tt.config
			}
			src := "version: 1\nname: s\nservices:\n  web: {image: x, port: 1}\nlb: {template: nginx.ctmpl" + config + "}\n"
			st, err := Parse("s.yaml", []byte(src), nil, dir)
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if st.LB.Form != tt.form {
					t.Errorf("form = %q, want %q", st.LB.Form, tt.form)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.problem) {
				t.Fatalf("Parse error = %v, want one starting with %q", err, tt.problem)
			}
		})
	}
}
