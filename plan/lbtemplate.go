package plan

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/internal/tmpl"
	"github.com/stackctl/stackctl/spec"
)

// Where the LB container renders its template, by form: a piece of the
// http block that the image's nginx.conf includes, or nginx.conf itself.
const (
	LBIncludePath = "/etc/nginx/conf.d/stackctl.conf"
	LBWholePath   = "/etc/nginx/nginx.conf"
)

// LBConfigPath is the file the stack's LB renders its template to.
func LBConfigPath(lb *spec.LB) string {
	if lb.WholeConfig() {
		return LBWholePath
	}
	return LBIncludePath
}

// LBTemplate is what the stack's LB template renders to once every worker
// the stack declares passes: validate and plan show it, apply uses its
// instance count to tell a final rejection from one of an empty upstream.
type LBTemplate struct {
	// File is the template's path as the stack file's path was given.
	File string `json:"file"`
	// Config is lb.config as written (auto, include or whole); Form the
	// form in effect (include or whole), and Path where the LB renders it.
	Config string `json:"config"`
	Form   string `json:"form"`
	Path   string `json:"path"`
	// Services are the services the template reads, sorted by name, with
	// the instances it was given: each replica of a stack service, at its
	// container name and port.
	Services []LBTemplateService `json:"services"`
	// Instances counts the distinct instances the render read, as the LB's
	// status will once every worker passes.
	Instances int `json:"instances"`
	// ReadsKeys: the template reads Consul KV keys, rendered here as empty.
	ReadsKeys bool `json:"reads_keys,omitempty"`
	// Resolve is set when nginx resolves upstream servers at run time
	// (resolve mode), so membership changes need no render.
	Resolve *LBResolve `json:"resolve,omitempty"`
	// Error is why the template does not parse or render (FILE:LINE:COL:
	// message); the other counts are then zero.
	Error string `json:"error,omitempty"`
	Err   error  `json:"-"` // the same, for errors.As (a *tmpl.Error names the position)
}

// LBTemplateService is one service a template reads.
type LBTemplateService struct {
	Name      string `json:"name"`
	Instances int    `json:"instances"`
}

// CheckLBTemplate renders the stack's LB template against the instances the
// stack will have: every replica of every service passing, registered at
// its container name (its address is only known once it runs) and the
// service's port, with the meta apply gives it. It reads nothing live.
// Nil when the stack has no LB.
func CheckLBTemplate(s *spec.Stack) *LBTemplate {
	if s.LB == nil {
		return nil
	}
	out := &LBTemplate{File: templateFile(s), Config: s.LB.Config, Form: spec.LBConfigInclude, Path: LBConfigPath(s.LB)}
	if s.LB.WholeConfig() {
		out.Form = spec.LBConfigWhole
	}
	if out.Config == "" {
		out.Config = spec.LBConfigAuto
	}
	t, err := tmpl.Parse(out.File, s.LB.TemplateSource)
	if err != nil {
		out.Error, out.Err = err.Error(), err
		return out
	}
	data := expectedData{s: s}
	rendered, deps, err := t.Render(context.Background(), data)
	if err != nil {
		out.Error, out.Err = err.Error(), err
		return out
	}
	seen := map[string]bool{}
	for _, d := range deps.Services {
		if seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		n := data.count(d.Name, d.Tag)
		out.Services = append(out.Services, LBTemplateService{Name: d.Name, Instances: n})
		out.Instances += n
	}
	out.ReadsKeys = len(deps.Keys) > 0
	out.Resolve = scanResolve(string(rendered))
	return out
}

// RendersMembership reports whether the LB renders (and reloads nginx)
// when workers come and go: the template reads some service.
func (t *LBTemplate) RendersMembership() bool { return t != nil && len(t.Services) > 0 }

// templateFile is the template's path relative to where the stack file's
// path was given from, as errors in the stack file are named.
func templateFile(s *spec.Stack) string {
	rel, err := filepath.Rel(s.Dir, s.LB.Template)
	if err != nil {
		return s.LB.Template
	}
	return filepath.Join(filepath.Dir(s.File), rel)
}

// expectedData serves a template the stack's declared workers, all passing.
// It knows no tags; KV keys read as empty and the environment as unset
// (but for ConsulDNSEnv).
type expectedData struct{ s *spec.Stack }

var _ tmpl.EnvData = expectedData{}

func (d expectedData) Service(_ context.Context, name, tag string, _ bool) ([]tmpl.Instance, error) {
	if tag != "" {
		return nil, nil
	}
	var out []tmpl.Instance
	for _, svc := range d.s.Services {
		if d.s.ConsulServiceName(svc.Name) != name {
			continue
		}
		for slot := 1; slot <= svc.Replicas; slot++ {
			id := d.s.WorkerName(svc.Name, slot)
			out = append(out, tmpl.Instance{Node: d.node(), Address: id, Port: svc.Port, ID: id, Name: name,
				Status: tmpl.StatusPassing, ServiceMeta: RegistrationMeta(d.s, svc, slot)})
		}
	}
	return out, nil
}

func (d expectedData) count(name, tag string) int {
	insts, _ := d.Service(context.Background(), name, tag, true)
	return len(insts)
}

func (d expectedData) node() string {
	if d.s.Consul.Managed() {
		return d.s.ConsulContainerName()
	}
	return "consul"
}

func (d expectedData) Services(context.Context) ([]tmpl.CatalogService, error) {
	out := make([]tmpl.CatalogService, 0, len(d.s.Services))
	for _, svc := range d.s.Services {
		if svc.Replicas > 0 {
			out = append(out, tmpl.CatalogService{Name: d.s.ConsulServiceName(svc.Name)})
		}
	}
	return out, nil
}

func (d expectedData) Key(context.Context, string) (string, bool, error) { return "", true, nil }

// Env is unset but for what `stackctl lb run` sets itself: the address of
// the DNS its nginx resolves Consul services at (LBResolverAddress).
func (d expectedData) Env(name string) (string, bool) {
	if name != ConsulDNSEnv {
		return "", false
	}
	return LBResolverAddress(d.s), true
}

// LBConsulAddress is the Consul agent the stack's LB talks to: the
// managed server by its container name on the stack network, else the
// agent the stack names.
func LBConsulAddress(s *spec.Stack) string {
	if !s.Consul.Managed() {
		return s.Consul.Address
	}
	if h := s.Host(lbHost(s)); h != nil {
		// The LB's own host's agent, which listens on the host's address.
		return "http://" + h.Address + ":8500"
	}
	return "http://" + s.ConsulContainerName() + ":8500"
}

// Summary is the one-line account validate and plan print:
// `include form (/etc/nginx/conf.d/stackctl.conf), renders 20 instances of "web"`.
func (t *LBTemplate) Summary() string {
	how := "detected"
	if t.Config != spec.LBConfigAuto {
		how = "lb.config"
	}
	s := t.Form + " form (" + how + ", rendered to " + t.Path + ")"
	if t.Error != "" {
		return s + ", does not render: " + t.Error
	}
	if len(t.Services) == 0 {
		s += ", reads no service"
	}
	for i, svc := range t.Services {
		if i == 0 {
			s += ", renders "
		} else {
			s += ", "
		}
		s += strconv.Itoa(svc.Instances) + " instances of " + strconv.Quote(svc.Name)
	}
	if len(t.Services) > 0 {
		s += " (at their container names)"
	}
	if t.ReadsKeys {
		s += "; KV keys read as empty"
	}
	if r := t.Resolve; r != nil {
		s += "; nginx resolves upstream " + strings.Join(r.Upstreams, ", ") + " at run time"
		if r.Valid != "" {
			s += " (resolver valid=" + r.Valid + ")"
		}
		s += ": no reload when workers come and go"
	}
	return s
}

// lbHost is the host the LB runs on, "" without hosts or LB.
func lbHost(s *spec.Stack) string {
	if s.LB == nil {
		return ""
	}
	return s.LB.Host
}
