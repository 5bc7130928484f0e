package plan_test

import (
	"strings"
	"testing"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

func TestCheckLBTemplate(t *testing.T) {
	for _, tt := range []struct {
		name      string
		template  string
		form      string
		instances int
		summary   string
	}{
		{name: "include", template: templateV1, form: spec.LBConfigInclude, instances: 3,
			summary: `include form (detected, rendered to /etc/nginx/conf.d/stackctl.conf), renders 3 instances of "web" (at their container names)`},
		{name: "whole", template: "events {}\nhttp { upstream web { {{ range service \"web\" }}server {{ .Address }}:{{ .Port }};{{ end }} } }\n",
			form: spec.LBConfigWhole, instances: 3,
			summary: `whole form (detected, rendered to /etc/nginx/nginx.conf), renders 3 instances of "web" (at their container names)`},
		{name: "a service the stack does not run", template: `{{ range service "api" }}{{ .Address }}{{ end }}`, form: spec.LBConfigInclude,
			summary: `include form (detected, rendered to /etc/nginx/conf.d/stackctl.conf), renders 0 instances of "api" (at their container names)`},
		{name: "keys read as empty", template: `{{ key "x" }}{{ keyOrDefault "y" "z" }}`, form: spec.LBConfigInclude,
			summary: `include form (detected, rendered to /etc/nginx/conf.d/stackctl.conf), reads no service; KV keys read as empty`},
		{name: "does not render", template: `{{ range service "web" }}{{ .Adress }}{{ end }}`, form: spec.LBConfigInclude,
			summary: `include form (detected, rendered to /etc/nginx/conf.d/stackctl.conf), does not render: stacks/primes/nginx.ctmpl:1:29: at <.Adress>: can't evaluate field Adress`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := primes(3, func(s *spec.Stack) {
				s.LB.TemplateSource = tt.template
				s.LB.Form = spec.ScanTemplate(tt.template).Form()
			})
			got := plan.CheckLBTemplate(s)
			if got.Form != tt.form || got.Instances != tt.instances || !strings.HasPrefix(got.Summary(), tt.summary) {
				t.Errorf("got form %s, %d instances, %q\nwant form %s, %d instances, %q", got.Form, got.Instances, got.Summary(), tt.form, tt.instances, tt.summary)
			}
		})
	}
	if plan.CheckLBTemplate(primes(1, func(s *spec.Stack) { s.LB = nil })) != nil {
		t.Error("a stack without lb has an LB template check")
	}
}
