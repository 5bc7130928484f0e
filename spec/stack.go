package spec

import (
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

var topFields = []string{"version", "name", "consul", "services", "lb", "hosts", "reconcile"}

const topWhere = "at top level"

// stack decodes the top-level mapping.
func (d *decoder) stack(root *yaml.Node) *Stack {
	st := &Stack{Version: Version, File: d.file, Dir: d.dir}
	fields, _ := d.mapping(root, "the stack file", topWhere, topFields)

	if f, ok := d.require(fields, "version", root, topWhere, "version: 1"); ok {
		d.version(f.val)
	}
	nameOK := false
	if f, ok := d.require(fields, "name", root, topWhere, "name: followed by "+nameRule); ok {
		st.Name, nameOK = d.name(f.val, "name")
		if nameOK && d.environment != "" {
			st.Name, nameOK = d.envName(f.val, st.Name)
			st.Env = d.environment
		}
	}
	// Hosts first: placement, lb.host and consul.servers refer to them.
	if f, ok := fields["hosts"]; ok {
		st.Hosts = d.hostsField(f)
	}
	var pubs []published
	st.Consul, pubs = d.consul(fields, root)
	if st.Consul.Managed() && st.Consul.Servers == nil {
		st.Consul.Servers = defaultConsulServers(st.Hosts)
	}
	if f, ok := d.require(fields, "services", root, topWhere, "a mapping of service names to services"); ok {
		st.Services = d.services(f, st.Name)
	}
	if f, ok := fields["lb"]; ok {
		var lbPubs []published
		st.LB, lbPubs = d.lb(f)
		pubs = append(pubs, lbPubs...)
	}
	if f, ok := fields["reconcile"]; ok {
		st.Reconcile = d.reconcile(f)
	}
	if nameOK {
		d.checkContainerNames(st)
	}
	d.checkConsulReachable(st)
	d.checkHostPorts(pubs)
	for _, p := range pubs {
		st.Published = append(st.Published, Published{Path: p.path, Pos: d.at(p.node), Port: p.port})
	}
	return st
}

// envName is the name of environment d.environment of the stack called name.
func (d *decoder) envName(n *yaml.Node, name string) (string, bool) {
	full := StackName(name, d.environment)
	if !isName(full) {
		d.addf(n, "name %s with environment %s makes the stack name %s, %d characters (expected at most 40: shorten the name or the environment)",
			quote(name), quote(d.environment), quote(full), len(full))
		return "", false
	}
	return full, true
}

// name reads a stack or service name.
func (d *decoder) name(n *yaml.Node, path string) (string, bool) {
	s, ok := d.str(n, path, nameRule)
	if !ok {
		return "", false
	}
	if !isName(s) {
		d.addf(n, "%s %s is not a valid name (expected %s)", path, quote(s), nameRule)
		return "", false
	}
	return s, true
}

// services decodes the services mapping, sorted by name.
func (d *decoder) services(f field, stack string) []*Service {
	if f.val.Kind != yaml.MappingNode {
		d.addf(f.val, "services is %s (expected a mapping of service names to services)", kindName(f.val))
		return nil
	}
	entries := d.entries(f.val, "in services")
	if len(entries) == 0 {
		d.addf(f.val, "services is empty (expected at least one service)")
		return nil
	}
	var out []*Service
	for _, e := range entries {
		if svc := d.service(e, stack); svc != nil {
			out = append(out, svc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// checkContainerNames checks the names of the containers a stack will run.
// Worker names grow with the slot number, so the longest is the last slot's.
func (d *decoder) checkContainerNames(st *Stack) {
	for _, svc := range st.Services {
		name := st.WorkerName(svc.Name, max(svc.Replicas, 1))
		if len(name) > maxContainerName {
			d.addPos(svc.Pos, "container name %q of service %q is %d characters (expected at most %d, a DNS label: shorten the stack or service name)",
				name, svc.Name, len(name), maxContainerName)
		}
	}
}

// version checks the format version; only 1 exists.
func (d *decoder) version(n *yaml.Node) {
	const expected = "version: 1, the only stack file format this stackctl reads"
	s, ok := d.scalar(n, "version", expected)
	if !ok {
		return
	}
	if n.Tag != "!!int" && !s.interpolated {
		d.typeMismatch(n, "version", expected)
		return
	}
	if strings.TrimSpace(s.text) != "1" {
		d.addf(n, "version is %s (expected %s)", bare(s.text), expected)
	}
}
