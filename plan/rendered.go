package plan

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// renderedDiff renders the live and the desired LB template over the
// instances Consul holds now and diffs the two configs: what nginx would
// serve differently once the new template is in, all else equal. It gives
// up ("") when a template reads what the plan did not observe (KV keys,
// the whole catalog, the environment), as the LB's render could differ.
// A desired template that fails to parse or render is a warning: the LB
// would refuse it and keep its config.
func renderedDiff(name, live, desired string, o *State) (string, *Warning) {
	data := stateData{regs: o.Consul.Registrations}
	want, ok, err := render(name, desired, data)
	if err != nil {
		return "", &Warning{
			Summary: name + " does not parse or render, so the LB would refuse it and keep its config.",
			Detail:  []string{err.Error()},
		}
	}
	if !ok {
		return "", nil
	}
	have, ok, err := render(name+" (live)", live, data)
	if err != nil || !ok {
		return "", nil
	}
	return UnifiedDiff("nginx config (live template)", "nginx config ("+name+")", string(have), string(want)), nil
}

// render reports ok=false when the template read something stateData does
// not really know.
func render(name, src string, data stateData) ([]byte, bool, error) {
	t, err := tmpl.Parse(name, src)
	if err != nil {
		return nil, false, err
	}
	out, deps, err := t.Render(context.Background(), data)
	if err != nil {
		return nil, false, err
	}
	return out, !deps.Catalog && len(deps.Keys) == 0 && len(deps.Env) == 0, nil
}

// stateData serves templates the stack's registrations as observed. It
// knows no tags, keys or environment: renders that use them are not shown.
type stateData struct{ regs []Registration }

var _ tmpl.EnvData = stateData{}

func (d stateData) Service(_ context.Context, name, tag string, passingOnly bool) ([]tmpl.Instance, error) {
	var out []tmpl.Instance
	for _, r := range d.regs {
		status := r.Status
		if status == CheckNone {
			status = tmpl.StatusPassing // an instance without checks passes
		}
		if r.Service != name || tag != "" || (passingOnly && status != tmpl.StatusPassing) {
			continue
		}
		out = append(out, tmpl.Instance{ID: r.ID, Name: r.Service, Address: r.Address, Port: r.Port,
			Status: status, ServiceMeta: r.Meta})
	}
	return out, nil
}

func (d stateData) Services(context.Context) ([]tmpl.CatalogService, error) {
	seen := map[string]bool{}
	var out []tmpl.CatalogService
	for _, r := range d.regs {
		if !seen[r.Service] {
			seen[r.Service] = true
			out = append(out, tmpl.CatalogService{Name: r.Service})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (d stateData) Key(context.Context, string) (string, bool, error) { return "", false, nil }

// Env keeps the renderer off the planning host's environment.
func (d stateData) Env(string) (string, bool) { return "", false }

// lbStatusWarning reads the status the LB writes after every render and
// warns when its last render was rejected.
func lbStatusWarning(key, raw string) *Warning {
	var st struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(raw), &st) != nil || st.OK {
		return nil
	}
	w := &Warning{Summary: "The load balancer rejected its last render and serves the config it last accepted (" + key + ")."}
	if st.Error != "" {
		w.Detail = []string{st.Error}
	}
	return w
}
