package spec

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

var placementFields = []string{"hosts", "labels"}

const (
	placementRule = "hosts: [NAMES] or labels: {NAME: VALUE}"
	hostRefRule   = "the name of one of the stack's hosts"
)

// defaultConsulServers is how many of the first hosts run a managed Consul
// server when consul.servers is left out: three survive the loss of one.
// With fewer hosts, one: two servers need both for a majority, so they
// would fail more often than one, never less.
func defaultConsulServers(hosts []*Host) []string {
	n := 1
	if len(hosts) >= 3 {
		n = 3
	}
	if len(hosts) < n {
		return nil
	}
	names := make([]string, n)
	for i := range names {
		names[i] = hosts[i].Name
	}
	return names
}

// EligibleHosts returns the names of the hosts svc's workers may run on, in
// the order of the hosts list: the ones its placement names or selects by
// label, or every host without a placement. It is nil for a stack without
// hosts, where every worker runs on the one engine.
func (s *Stack) EligibleHosts(svc *Service) []string {
	var names []string
	for _, h := range s.Hosts {
		if svc.Placement.admits(h) {
			names = append(names, h.Name)
		}
	}
	return names
}

// admits reports whether the placement lets a worker run on h; a nil
// placement admits every host.
func (p *Placement) admits(h *Host) bool {
	switch {
	case p == nil:
		return true
	case p.Hosts != nil:
		return contains(p.Hosts, h.Name)
	}
	return h.hasLabels(p.Labels)
}

// hasLabels reports whether h carries every one of labels.
func (h *Host) hasLabels(labels map[string]string) bool {
	for k, v := range labels {
		if got, ok := h.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// needsHosts reports a placement field in a stack without hosts: there is
// nothing to place on, and saying so beats ignoring what the file asks.
func (d *decoder) needsHosts(k *yaml.Node, path, field string) {
	d.addf(k, "%s needs hosts: (expected a top-level hosts: list of the machines to place on; or no %s, "+
		"for the one engine DOCKER_HOST names)", path, field)
}

// placement decodes services.NAME.placement.
func (d *decoder) placement(f field, path string) *Placement {
	if !d.hostIdx.given {
		d.needsHosts(f.key, path, "placement")
		return nil
	}
	where := "in " + path
	fields, ok := d.mapping(f.val, path, where, placementFields)
	if !ok {
		return nil
	}
	hosts, hasHosts := fields["hosts"]
	labels, hasLabels := fields["labels"]
	switch {
	case hasHosts && hasLabels:
		d.addf(labels.key, "%s has both hosts and labels (expected one: hosts names the hosts, labels selects them by their labels)", path)
		return nil
	case !hasHosts && !hasLabels:
		if len(d.suggested[where]) == 0 {
			d.addf(f.val, "%s is empty (expected %s)", path, placementRule)
		}
		return nil
	}
	p := &Placement{Pos: d.at(f.key)}
	if hasHosts {
		p.Hosts, _ = d.hostList(hosts.val, path+".hosts")
		return p
	}
	p.Labels = d.placementLabels(labels.val, path+".labels")
	return p
}

// placementLabels reads placement.labels and checks that some host carries
// them all: a placement that selects no host can run no worker.
func (d *decoder) placementLabels(n *yaml.Node, path string) map[string]string {
	labels, ok := d.labels(n, path)
	if !ok {
		return labels
	}
	if len(labels) == 0 {
		d.addf(n, "%s is empty (expected at least one NAME: VALUE that the chosen hosts carry)", path)
		return nil
	}
	if !d.hostIdx.namesRead || !d.hostIdx.labelsRead {
		return labels
	}
	p := &Placement{Labels: labels}
	for _, h := range d.hostIdx.hosts {
		if p.admits(h) {
			return labels
		}
	}
	d.addf(n, "%s %s selects no host (expected labels that at least one host carries in its hosts[N].labels)", path, formatLabels(labels))
	return labels
}

// hostList reads a list of host names, each a host of the stack and each
// once, in the order written. It reports whether every item was read.
func (d *decoder) hostList(n *yaml.Node, path string) ([]string, bool) {
	expected := "a list of host names, like [node-1, node-2]"
	items, ok := d.list(n, path, expected)
	if !ok {
		return nil, false
	}
	if len(items) == 0 {
		d.addf(n, "%s is empty (expected %s)", path, expected)
		return nil, false
	}
	seen := map[string]int{}
	var names []string
	for i, item := range items {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		name, ok := d.hostRef(item, itemPath)
		if !ok {
			continue
		}
		if j, dup := seen[name]; dup {
			d.addf(item, "%s %s is already listed at %s[%d] (expected each host once)", itemPath, quote(name), path, j)
			continue
		}
		seen[name] = i
		names = append(names, name)
	}
	return names, len(names) == len(items)
}

// hostRef reads the name of a host and checks that the stack has it, when
// the hosts list was read well enough to tell.
func (d *decoder) hostRef(n *yaml.Node, path string) (string, bool) {
	name, ok := d.str(n, path, hostRefRule)
	if !ok {
		return "", false
	}
	if d.hostIdx.namesRead && d.hostIdx.byName[name] == nil {
		d.addf(n, "%s %s is not one of the hosts (expected one of: %s)", path, quote(name), d.hostIdx.names())
		return "", false
	}
	return name, true
}

// lbHost decodes lb.host; without it the LB runs on the first host.
func (d *decoder) lbHost(fields map[string]field) string {
	f, ok := fields["host"]
	if !ok {
		if len(d.hostIdx.hosts) > 0 {
			return d.hostIdx.hosts[0].Name
		}
		return ""
	}
	if !d.hostIdx.given {
		d.needsHosts(f.key, "lb.host", "host")
		return ""
	}
	name, _ := d.hostRef(f.val, "lb.host")
	return name
}

// consulServers decodes consul.servers, the hosts that run a managed Consul
// server; the others will run a client agent.
func (d *decoder) consulServers(f field, hasAddress bool) []string {
	switch {
	case !d.hostIdx.given:
		d.needsHosts(f.key, "consul.servers", "servers")
		return nil
	case hasAddress:
		d.addf(f.key, "consul.servers is set with consul.address (expected no servers: they place a managed server's containers, and an existing agent is not managed)")
		return nil
	}
	names, ok := d.hostList(f.val, "consul.servers")
	if !ok {
		return nil
	}
	if len(names)%2 == 0 || len(names) > MaxConsulServers {
		d.addf(f.val, "consul.servers has %d hosts (expected 1, 3 or 5: the servers need a majority of them up, "+
			"so an even count survives no more failures than one fewer, and more than 5 only slow every write)", len(names))
		return nil
	}
	return names
}
