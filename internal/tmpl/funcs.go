package tmpl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// ErrKeyNotFound is returned by `key` for a path that does not exist.
// consul-template blocks the render until the key appears; a load balancer
// cannot wait, so the render fails and the last good config keeps serving.
var ErrKeyNotFound = errors.New("key does not exist (use keyOrDefault for an optional key)")

// ErrEnvForbidden is returned by `env` for the sync loop's own Consul
// settings: CONSUL_HTTP_TOKEN and its kin must never end up in an nginx
// config.
var ErrEnvForbidden = errors.New("CONSUL_* variables hold the load balancer's Consul credentials and are not available to templates")

// funcNames are the functions a template may call; Parse needs them before
// Render binds them to a Data.
var funcNames = template.FuncMap{
	"service": noop, "services": noop, "key": noop, "keyOrDefault": noop, "env": noop,
}

func noop(...any) (string, error) { return "", errors.New("template function called outside Render") }

// pureFuncs touch nothing outside their arguments.
var pureFuncs = template.FuncMap{
	"toLower":    strings.ToLower,
	"toUpper":    strings.ToUpper,
	"trimSpace":  strings.TrimSpace,
	"replaceAll": func(from, to, s string) string { return strings.ReplaceAll(s, from, to) },
	"split":      func(sep, s string) []string { return strings.Split(s, sep) },
	"join":       func(sep string, a []string) string { return strings.Join(a, sep) },
}

// renderFuncs binds the Consul functions to one render's Data, context and
// dependency recorder.
func renderFuncs(ctx context.Context, d Data, rec *recorder) template.FuncMap {
	return template.FuncMap{
		"service": func(args ...string) ([]Instance, error) {
			q, err := parseServiceQuery(args...)
			if err != nil {
				return nil, err
			}
			dep := ServiceDep{Name: q.name, Tag: q.tag, PassingOnly: q.statuses == nil}
			rec.service(dep)
			insts, err := d.Service(ctx, q.name, q.tag, dep.PassingOnly)
			if err != nil {
				return nil, fmt.Errorf("service %q: %w", q.raw, err)
			}
			return sortInstances(q.filter(insts)), nil
		},
		"services": func() ([]CatalogService, error) {
			rec.catalogRead()
			svcs, err := d.Services(ctx)
			if err != nil {
				return nil, fmt.Errorf("services: %w", err)
			}
			return sortCatalog(svcs), nil
		},
		"key": func(path string) (string, error) {
			rec.key(path)
			v, ok, err := d.Key(ctx, path)
			switch {
			case err != nil:
				return "", fmt.Errorf("key %q: %w", path, err)
			case !ok:
				return "", fmt.Errorf("key %q: %w", path, ErrKeyNotFound)
			}
			return v, nil
		},
		"keyOrDefault": func(path, def string) (string, error) {
			rec.key(path)
			v, ok, err := d.Key(ctx, path)
			switch {
			case err != nil:
				return "", fmt.Errorf("keyOrDefault %q: %w", path, err)
			case !ok:
				return def, nil
			}
			return v, nil
		},
		"env": func(name string) (string, error) {
			if strings.HasPrefix(name, "CONSUL_") {
				return "", fmt.Errorf("env %q: %w", name, ErrEnvForbidden)
			}
			rec.envVar(name)
			v, _ := lookupEnv(d, name)
			return v, nil
		},
	}
}

func lookupEnv(d Data, name string) (string, bool) {
	if e, ok := d.(EnvData); ok {
		return e.Env(name)
	}
	return os.LookupEnv(name)
}

// serviceQuery is the argument of `service`, in consul-template's syntax:
// "[tag.]name[|status,...]" or "[tag.]name" "status,...". No status means
// passing only; "any" means every instance.
type serviceQuery struct {
	raw      string
	tag      string
	name     string
	statuses []string // nil: passing only (filtered by Consul); ["any"]: all
}

var serviceQueryRE = regexp.MustCompile(`\A((?P<tag>[[:word:]\-.]+)\.)?(?P<name>[[:word:]\-/_]+)(@(?P<dc>[[:word:].\-]+))?\z`)

var knownStatuses = []string{"any", StatusPassing, StatusWarning, StatusCritical, StatusUnknown}

func parseServiceQuery(args ...string) (serviceQuery, error) {
	var raw, filter string
	switch len(args) {
	case 1:
		raw = args[0]
		if i := strings.IndexByte(raw, '|'); i >= 0 {
			raw, filter = raw[:i], raw[i+1:]
		}
	case 2:
		raw, filter = args[0], args[1]
	default:
		return serviceQuery{}, fmt.Errorf("service: expected 1 or 2 arguments, got %d", len(args))
	}
	m := serviceQueryRE.FindStringSubmatch(raw)
	if m == nil {
		return serviceQuery{}, fmt.Errorf("service %q: want [tag.]name[|status,...]", raw)
	}
	if m[serviceQueryRE.SubexpIndex("dc")] != "" {
		return serviceQuery{}, fmt.Errorf("service %q: selecting a datacenter is not supported", raw)
	}
	q := serviceQuery{raw: raw, tag: m[serviceQueryRE.SubexpIndex("tag")], name: m[serviceQueryRE.SubexpIndex("name")]}
	statuses, err := parseStatusFilter(filter)
	if err != nil {
		return serviceQuery{}, fmt.Errorf("service %q: %w", raw, err)
	}
	q.statuses = statuses
	return q, nil
}

func parseStatusFilter(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(knownStatuses, f) {
			return nil, fmt.Errorf("unknown status filter %q, want one of %s", f, strings.Join(knownStatuses, ", "))
		}
		out = append(out, f)
	}
	if slices.Contains(out, "any") && len(out) > 1 {
		return nil, errors.New(`status filter "any" cannot be combined with others`)
	}
	if slices.Equal(out, []string{StatusPassing}) {
		return nil, nil // the default: let Consul filter
	}
	return out, nil
}

// filter applies an explicit status filter to instances fetched unfiltered.
func (q serviceQuery) filter(insts []Instance) []Instance {
	if q.statuses == nil || q.statuses[0] == "any" {
		return insts
	}
	var out []Instance
	for _, inst := range insts {
		if slices.Contains(q.statuses, inst.Status) {
			out = append(out, inst)
		}
	}
	return out
}
