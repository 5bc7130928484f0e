package spec

import (
	"sort"

	"gopkg.in/yaml.v3"
)

var envValueFields = []string{"value", "secret"}

const (
	envRule      = "a mapping of variable names to values"
	envValueRule = `a string, number or boolean, or {value: ..., secret: true}; write "" for an empty value`
	envNameRule  = "letters, digits and _, not starting with a digit"
)

// env decodes a service's environment, sorted by name. A value is secret
// when the file says so, or when it comes from a variable named like a
// secret (see isSecretName); "secret: false" overrides the latter.
func (d *decoder) env(n *yaml.Node, path string) []EnvVar {
	if n.Kind != yaml.MappingNode {
		d.addf(n, "%s is %s (expected %s)", path, kindName(n), envRule)
		return nil
	}
	var vars []EnvVar
	for _, e := range d.entries(n, "in "+path) {
		name := e.key.Value
		if !isEnvName(name) {
			d.addf(e.key, "variable name %s in %s is not valid (expected %s)", quote(name), path, envNameRule)
			continue
		}
		if v, ok := d.envValue(name, e.val, path+"."+pathKey(name)); ok {
			vars = append(vars, v)
		}
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name < vars[j].Name })
	return vars
}

func (d *decoder) envValue(name string, n *yaml.Node, path string) (EnvVar, bool) {
	v := EnvVar{Name: name}
	if n.Kind != yaml.MappingNode {
		s, ok := d.text(n, path, envValueRule)
		v.Value, v.Secret = s.text, refersToSecret(s.vars)
		return v, ok
	}
	fields, ok := d.mapping(n, path, "in "+path, envValueFields)
	if !ok {
		return v, false
	}
	f, ok := d.require(fields, "value", n, "in "+path, "the variable's value")
	if !ok {
		return v, false
	}
	s, ok := d.text(f.val, path+".value", envValueRule)
	if !ok {
		return v, false
	}
	v.Value, v.Secret = s.text, refersToSecret(s.vars)
	if f, ok := fields["secret"]; ok {
		if secret, ok := d.boolean(f.val, path+".secret"); ok {
			v.Secret = secret
		}
	}
	return v, true
}

func refersToSecret(names []string) bool {
	for _, name := range names {
		if isSecretName(name) {
			return true
		}
	}
	return false
}
