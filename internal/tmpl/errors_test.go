package tmpl_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stackctl/stackctl/internal/tmpl"
	"github.com/stackctl/stackctl/internal/tmpl/tmpltest"
)

func TestParseErrorPositions(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown function", "upstream web {\n  {{range servise \"web\"}}{{end}}\n}", `nginx.ctmpl:2:3: function "servise" not defined`},
		{"second action on the line", "a\nx {{.A}} {{ nope }}", `nginx.ctmpl:2:10: function "nope" not defined`},
		{"stray end", "a\n\n    {{end}}", `nginx.ctmpl:3:5: unexpected {{end}}`},
		{"stray else", "{{.A}}{{else}}", `nginx.ctmpl:1:7: unexpected {{else}}`},
		{"unclosed range", "a\n  {{range service \"web\"}}", `nginx.ctmpl:2:3: unexpected EOF`},
		{"unterminated string", "a\n  {{ service \"web }}", `nginx.ctmpl:2:3: unterminated quoted string`},
		{"missing if value", "{{if}}{{end}}", `nginx.ctmpl:1:1: missing value for if`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tmpl.Parse("nginx.ctmpl", tt.src)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			var te *tmpl.Error
			if !errors.As(err, &te) || te.File != "nginx.ctmpl" || te.Line == 0 || te.Col == 0 {
				t.Errorf("want a *tmpl.Error with a position, got %#v", err)
			}
		})
	}
}

func TestExecErrorPositions(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown field", "upstream web {\n  {{range service \"web\"}}{{.Adress}}{{end}}\n}", `nginx.ctmpl:2:28: at <.Adress>: can't evaluate field Adress in type tmpl.Instance`},
		{"builtin function", "\n\n {{len 3}}", `nginx.ctmpl:3:4: at <len 3>: error calling len: len of type int`},
		{"key in a defined template", "{{define \"k\"}}\n  {{key \"x\"}}{{end}}{{template \"k\"}}", `nginx.ctmpl:2:5: key "x": key does not exist (use keyOrDefault for an optional key)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := tmpl.Parse("nginx.ctmpl", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = tp.Render(context.Background(), mixedData())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestFileNameWithColons(t *testing.T) {
	tp, err := tmpl.Parse("stackctl/primes/lb/template", "{{key \"nope\"}}")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = tp.Render(context.Background(), &tmpltest.Data{})
	if want := `stackctl/primes/lb/template:1:3: key "nope": key does not exist (use keyOrDefault for an optional key)`; err == nil || err.Error() != want {
		t.Errorf("got %v", err)
	}
	_, err = tmpl.Parse("C:x.ctmpl", "{{end}}")
	if want := `C:x.ctmpl:1:1: unexpected {{end}}`; err == nil || err.Error() != want {
		t.Errorf("got %v", err)
	}
}
