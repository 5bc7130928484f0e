package spec

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var hostFields = []string{"name", "docker", "address", "labels", "tls", "insecure"}

const (
	hostsRule   = "a list of hosts, each with name, docker and address"
	dockerRule  = "unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it"
	addressRule = "the IP address the other hosts and the LB reach this host on, like 10.0.0.11"
	tlsRule     = "a folder with ca.pem, cert.pem and key.pem, relative to the stack file or absolute"
	labelsRule  = "a mapping of label names to values, like {zone: eu-1}"
	labelRule   = "1 to 63 letters, digits, '.', '_', '-' and '/', starting and ending with a letter or digit"
)

// tlsFiles are the files a TLS folder holds, named as DOCKER_CERT_PATH has them.
var tlsFiles = []string{"ca.pem", "cert.pem", "key.pem"}

var labelPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)

// hostIndex is what the rest of the file may refer to in hosts. Placement,
// lb.host and consul.servers are checked against it as they are decoded,
// but only as far as hosts itself was read cleanly: a name that failed to
// read is no reason to call every reference to it unknown.
type hostIndex struct {
	given      bool // the file has a hosts field
	namesRead  bool // every host's name was read
	labelsRead bool // and every host's labels
	hosts      []*Host
	byName     map[string]*Host // so that long lists of names cost linear time
}

// names lists the host names for a message, the first eight at most.
func (x *hostIndex) names() string {
	var names []string
	for i, h := range x.hosts {
		if i == 8 {
			names = append(names, "...")
			break
		}
		names = append(names, h.Name)
	}
	return strings.Join(names, ", ")
}

// hostsField decodes the top-level hosts list, in file order.
func (d *decoder) hostsField(f field) []*Host {
	d.hostIdx.given = true
	items, ok := d.list(f.val, "hosts", hostsRule)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.addf(f.val, "hosts is empty (expected %s; or no hosts field, for the one engine DOCKER_HOST names)", hostsRule)
		return nil
	}
	d.hostIdx.namesRead, d.hostIdx.labelsRead = true, true
	firstName := map[string]string{}
	firstAddress := map[string]string{}
	firstDocker := map[string]string{}
	var out []*Host
	for i, item := range items {
		path := fmt.Sprintf("hosts[%d]", i)
		h, nodes := d.host(item, path)
		if h == nil {
			continue
		}
		if prev, dup := firstName[h.Name]; dup && h.Name != "" {
			d.addf(nodes.name, "%s.name %s is already the name of %s (expected each host's own name)", path, quote(h.Name), prev)
		} else if h.Name != "" {
			firstName[h.Name] = path
			out = append(out, h)
		}
		if h.Address != "" {
			if prev, dup := firstAddress[h.Address]; dup {
				written := quote(nodes.addressText)
				if nodes.addressText != h.Address {
					written += " (" + h.Address + ")"
				}
				d.addf(nodes.address, "%s.address %s is already the address of %s (expected each host's own address)", path, written, prev)
			} else {
				firstAddress[h.Address] = path
			}
		}
		if h.Docker != "" {
			if prev, dup := firstDocker[h.Docker]; dup {
				d.addf(nodes.docker, "%s.docker %s is already the engine of %s (expected each host's own engine)", path, quote(h.Docker), prev)
			} else {
				firstDocker[h.Docker] = path
			}
		}
	}
	d.hostIdx.hosts = out
	d.hostIdx.byName = make(map[string]*Host, len(out))
	for _, h := range out {
		d.hostIdx.byName[h.Name] = h
	}
	return out
}

// hostNodes are the value nodes of a host's fields that later checks point at.
type hostNodes struct {
	name, docker, address *yaml.Node
	addressText           string // as written, after ${VAR}
}

// host decodes one entry of hosts. A host whose name cannot be read is
// still checked, but left out of the result.
func (d *decoder) host(n *yaml.Node, path string) (*Host, hostNodes) {
	var nodes hostNodes
	where := "in " + path
	fields, ok := d.mapping(n, path, where, hostFields)
	if !ok {
		d.hostIdx.namesRead = false
		return nil, nodes
	}
	h := &Host{Pos: d.at(n)}
	if f, ok := d.require(fields, "name", n, where, "name: followed by "+nameRule); ok {
		nodes.name = f.val
		h.Name, _ = d.name(f.val, path+".name")
	}
	if h.Name == "" {
		d.hostIdx.namesRead = false
	}
	scheme := ""
	if f, ok := d.require(fields, "docker", n, where, "docker: followed by "+dockerRule); ok {
		nodes.docker = f.val
		h.Docker, scheme = d.dockerHost(f.val, path+".docker")
	}
	if f, ok := d.require(fields, "address", n, where, "address: followed by "+addressRule); ok {
		nodes.address = f.val
		h.Address, nodes.addressText = d.hostAddress(f.val, path+".address")
	}
	if f, ok := fields["labels"]; ok {
		var labelsOK bool
		h.Labels, labelsOK = d.labels(f.val, path+".labels")
		d.hostIdx.labelsRead = d.hostIdx.labelsRead && labelsOK
	}
	if f, ok := fields["tls"]; ok {
		h.TLS = d.tlsFolder(f.val, path+".tls")
	}
	insecureRead := true
	if f, ok := fields["insecure"]; ok {
		h.Insecure, insecureRead = d.boolean(f.val, path+".insecure")
	}
	if scheme != "" && insecureRead {
		d.checkTransport(fields, path, scheme, h)
	}
	return h, nodes
}

// checkTransport refuses a tcp:// engine without TLS unless the file says
// insecure: true, and TLS settings on an engine they cannot apply to.
func (d *decoder) checkTransport(fields map[string]field, path, scheme string, h *Host) {
	tls, hasTLS := fields["tls"]
	insecure := fields["insecure"]
	switch {
	case scheme == "tcp" && !hasTLS && !h.Insecure:
		d.addf(fields["docker"].val, "%s.docker %s is plain TCP without TLS: anyone who can reach that port controls the engine "+
			"(expected tls: FOLDER with ca.pem, cert.pem and key.pem; or insecure: true to accept that on a network you trust)", path, quote(h.Docker))
	case scheme == "tcp" && hasTLS && h.Insecure:
		d.addf(insecure.key, "%s.insecure is true with %s.tls set (expected one: tls secures the connection, insecure: true goes without)", path, path)
	case scheme != "tcp" && hasTLS:
		d.addf(tls.key, "%s.tls is set for %s engine (expected tls only with tcp://: a unix socket or ssh needs none)", path, schemeName(scheme))
	case scheme != "tcp" && h.Insecure:
		d.addf(insecure.key, "%s.insecure is set for %s engine (expected insecure only with tcp://: a unix socket or ssh is not plain TCP)", path, schemeName(scheme))
	}
}

func schemeName(scheme string) string {
	if scheme == "ssh" {
		return "an ssh://"
	}
	return "a " + scheme + "://"
}

// dockerHost reads an engine address and returns it with its scheme.
func (d *decoder) dockerHost(n *yaml.Node, path string) (string, string) {
	s, ok := d.str(n, path, dockerRule)
	if !ok {
		return "", ""
	}
	scheme, reason := checkDockerHost(s)
	if reason != "" {
		d.addf(n, "%s %s %s (expected %s)", path, quote(s), reason, dockerRule)
		return "", ""
	}
	return s, scheme
}

// checkDockerHost checks a DOCKER_HOST-style address the way the docker CLI
// reads it, returning its scheme or why it is not one. It is stricter in
// two places: tcp:// needs its port (whether 2375 or 2376 is meant depends
// on TLS, so the file says it), and nothing may follow the host, since
// stackctl passes no path on.
func checkDockerHost(s string) (scheme, reason string) {
	scheme, rest, found := strings.Cut(s, "://")
	switch {
	case !found:
		return "", "has no scheme://"
	case scheme != "unix" && scheme != "tcp" && scheme != "ssh":
		return "", fmt.Sprintf("has scheme %s, which stackctl does not take", quote(scheme))
	case scheme == "unix":
		return scheme, checkUnixSocket(rest)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", "is not a URL"
	case u.RawQuery != "" || u.ForceQuery:
		return "", "has a query"
	case strings.Contains(s, "#"):
		return "", "has a fragment"
	case u.Path != "" && u.Path != "/":
		return "", fmt.Sprintf("has a path %s after the host", quote(u.Path))
	}
	if reason := checkHostPort(u); reason != "" {
		return "", reason
	}
	if scheme == "tcp" {
		switch {
		case u.User != nil:
			return "", "has a user, which tcp:// does not take"
		case u.Port() == "":
			return "", "has no port"
		}
		return scheme, ""
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return "", "has a password, which the docker CLI refuses in ssh://: log in with a key"
	}
	if u.User != nil && u.User.Username() == "" {
		return "", "has an empty user before @"
	}
	return scheme, ""
}

// checkHostPort checks the HOST[:PORT] of a tcp:// or ssh:// address.
func checkHostPort(u *url.URL) string {
	host, port := u.Hostname(), u.Port()
	switch {
	case host == "":
		return "has no host"
	case net.ParseIP(host) == nil && !isHostname(host):
		return "has an invalid host " + quote(host)
	case port == "" && strings.HasSuffix(u.Host, ":"):
		return "has an empty port"
	}
	if port != "" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return "has an invalid port " + quote(port)
		}
	}
	return ""
}

// checkUnixSocket checks what follows unix://, taken as a path the way the
// docker CLI takes it: as written, not URL-decoded.
func checkUnixSocket(path string) string {
	switch {
	case path == "" || path == "/":
		return "has no socket path"
	case !strings.HasPrefix(path, "/"):
		return fmt.Sprintf("has the relative path %s: a unix socket needs an absolute one, so three slashes, unix:///PATH", quote(path))
	case strings.HasSuffix(path, "/"):
		return "ends with /, which names a folder, not a socket"
	}
	return ""
}

// hostAddress reads a host's IP and returns it in canonical form, so that
// two spellings of one address are seen to be the same, and as written.
func (d *decoder) hostAddress(n *yaml.Node, path string) (string, string) {
	s, ok := d.str(n, path, addressRule)
	if !ok {
		return "", ""
	}
	ip, err := netip.ParseAddr(s)
	reason := ""
	switch {
	case err != nil:
		reason = "is not an IP address"
	case ip.Zone() != "":
		reason = "has an IPv6 zone, which only means something on one machine"
	case ip.Unmap().IsLoopback():
		reason = "is a loopback address, which other hosts and containers cannot reach"
	case ip.IsUnspecified():
		reason = "is the unspecified address, not one host's"
	case ip.IsMulticast() || ip.Unmap() == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		reason = "is a multicast or broadcast address, not one host's"
	}
	if reason != "" {
		d.addf(n, "%s %s %s (expected %s)", path, quote(s), reason, addressRule)
		return "", s
	}
	return ip.Unmap().String(), s
}

// labels reads a mapping of label names to values, as a host carries them
// and a placement selects by them. Values are text: 1 and "1" are one
// value. It reports whether every label was read; nil when there are none.
func (d *decoder) labels(n *yaml.Node, path string) (map[string]string, bool) {
	if n.Kind != yaml.MappingNode {
		d.addf(n, "%s is %s (expected %s)", path, kindName(n), labelsRule)
		return nil, false
	}
	var out map[string]string
	ok := true
	for _, e := range d.entries(n, "in "+path) {
		name := e.key.Value
		if !labelPattern.MatchString(name) {
			d.addf(e.key, "label name %s in %s is not valid (expected %s)", quote(name), path, labelRule)
			ok = false
			continue
		}
		v, read := d.text(e.val, path+"."+pathKey(name), `a string, number or boolean; write "" for an empty value`)
		if !read {
			ok = false
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = v.text
	}
	return out, ok && len(n.Content)/2 == len(out)
}

// tlsFolder reads a host's TLS folder. Unlike a template or a build
// context it may lie outside the stack file's folder: a private key has no
// place in the repository the stack file is committed to. Only its files'
// presence is checked here; they are read when the engine is dialled.
func (d *decoder) tlsFolder(n *yaml.Node, path string) string {
	rel, ok := d.str(n, path, tlsRule)
	if !ok {
		return ""
	}
	dir := rel
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(d.dir, rel)
	}
	reason := ""
	info, err := os.Stat(dir)
	switch {
	case rel == "":
		reason = "is empty"
	case err != nil && os.IsNotExist(err):
		reason = "does not exist"
		if strings.HasPrefix(rel, "~") {
			reason += ": ~ is not expanded here, write ${HOME}"
		}
	case err != nil:
		reason = "cannot be read: " + err.Error()
	case !info.IsDir():
		reason = "is not a folder"
	default:
		var missing []string
		for _, name := range tlsFiles {
			if info, err := os.Stat(filepath.Join(dir, name)); err != nil || !info.Mode().IsRegular() {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			reason = "has no " + strings.Join(missing, ", ")
		}
	}
	if reason != "" {
		d.addf(n, "%s %s %s (expected %s)", path, quote(rel), reason, tlsRule)
		return ""
	}
	return filepath.Clean(dir)
}

// formatLabels writes labels as a flow mapping, sorted by name, for messages.
func formatLabels(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + ": " + strconv.Quote(labels[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
