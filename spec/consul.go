package spec

import (
	"net"

	"gopkg.in/yaml.v3"
)

var consulFields = []string{"image", "address", "ports", "servers"}

// consul decodes the consul section: a managed server container (image,
// the default) or an existing agent (address), never both.
func (d *decoder) consul(top map[string]field, root *yaml.Node) (Consul, []published) {
	c := Consul{Image: DefaultConsulImage, Pos: d.at(root)}
	f, ok := top["consul"]
	if !ok {
		return c, nil
	}
	c.Pos = d.at(f.key)
	fields, ok := d.mapping(f.val, "consul", "in consul", consulFields)
	if !ok {
		return c, nil
	}
	image, hasImage := fields["image"]
	address, hasAddress := fields["address"]
	if hasImage && hasAddress {
		d.addf(address.key, "consul has both image and address (expected one: image runs a Consul server in the stack, address uses an existing agent)")
	}
	if hasImage {
		c.Image = d.image(image.val, "consul.image")
	}
	if hasAddress {
		c.Image = ""
		if s, ok := d.str(address.val, "consul.address", "HOST:PORT, like 127.0.0.1:8500"); ok {
			if reason := checkAddress(s); reason != "" {
				d.addf(address.val, "consul.address %s %s (expected HOST:PORT, like 127.0.0.1:8500)", quote(s), reason)
			} else {
				c.Address = s
				d.consulAddress = address.val
			}
		}
	}
	var pubs []published
	if f, ok := fields["ports"]; ok {
		if hasAddress {
			d.addf(f.key, "consul.ports is set with consul.address (expected no ports: they publish a managed server's, and an existing agent is not managed)")
		} else {
			c.Ports, pubs = d.ports(f.val, "consul.ports")
		}
	}
	if f, ok := fields["servers"]; ok {
		c.Servers = d.consulServers(f, hasAddress)
	}
	return c, pubs
}

// image reads an image reference.
func (d *decoder) image(n *yaml.Node, path string) string {
	s, ok := d.str(n, path, imageRule)
	if !ok {
		return ""
	}
	if !isImage(s) {
		d.addf(n, "%s %s is not a valid image reference (expected %s)", path, quote(s), imageRule)
		return ""
	}
	return s
}

// checkConsulReachable refuses an existing agent on this host's loopback
// for a stack with an LB: the LB runs in a container, where 127.0.0.1 is the
// container itself, so it could never read the template or the instances.
func (d *decoder) checkConsulReachable(st *Stack) {
	if st.LB == nil || d.consulAddress == nil {
		return
	}
	host, _, err := net.SplitHostPort(st.Consul.Address)
	if err != nil {
		return
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return
	}
	d.addf(d.consulAddress, "consul.address %s is this host's loopback, which the LB container cannot reach "+
		"(expected an address containers can reach, with Consul listening there, like the Docker bridge gateway 172.17.0.1:8500; "+
		"or no address, for a Consul server run by stackctl)", quote(st.Consul.Address))
}
