package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseHostsReadsEveryField(t *testing.T) {
	const file = "testdata/valid/hosts.yaml"
	st := mustParse(t, file, nil)
	want := []*Host{
		{Name: "node-1", Docker: "unix:///var/run/docker.sock", Address: "10.0.0.11",
			Labels: map[string]string{"zone": "eu-1", "disk": "ssd"}, Pos: Position{file, 6, 5}},
		{Name: "node-2", Docker: "ssh://deploy@10.0.0.12:2222", Address: "10.0.0.12",
			Labels: map[string]string{"zone": "eu-1"}, Pos: Position{file, 10, 5}},
		{Name: "node-3", Docker: "tcp://10.0.0.13:2376", Address: "10.0.0.13",
			Labels: map[string]string{"zone": "eu-2", "disk": "ssd", "rack": "7"},
			TLS:    abs(t, "testdata/valid/certs/node-3"), Pos: Position{file, 14, 5}},
		{Name: "node-4", Docker: "tcp://node-4.internal:2375", Address: "10.0.0.14", Insecure: true, Pos: Position{file, 19, 5}},
	}
	if !reflect.DeepEqual(st.Hosts, want) {
		for i := range max(len(st.Hosts), len(want)) {
			if i >= len(st.Hosts) || i >= len(want) || !reflect.DeepEqual(st.Hosts[i], want[i]) {
				t.Errorf("host %d differs", i)
			}
		}
	}
	if got := st.Consul.Servers; !reflect.DeepEqual(got, []string{"node-2", "node-3", "node-4"}) {
		t.Errorf("Consul.Servers = %v, want consul.servers as written", got)
	}
	if st.LB.Host != "node-2" {
		t.Errorf("LB.Host = %q, want node-2", st.LB.Host)
	}
	placements := map[string]*Placement{
		"api":   {Hosts: []string{"node-3", "node-1"}, Pos: Position{file, 36, 5}},
		"cache": {Labels: map[string]string{"disk": "ssd"}, Pos: Position{file, 41, 5}},
		"web":   nil,
	}
	eligible := map[string][]string{
		"api":   {"node-1", "node-3"}, // in the order of the hosts list
		"cache": {"node-1", "node-3"},
		"web":   {"node-1", "node-2", "node-3", "node-4"},
	}
	for name, p := range placements {
		svc := st.Service(name)
		if !reflect.DeepEqual(svc.Placement, p) {
			t.Errorf("%s: Placement = %+v, want %+v", name, svc.Placement, p)
		}
		if got := st.EligibleHosts(svc); !reflect.DeepEqual(got, eligible[name]) {
			t.Errorf("%s: EligibleHosts = %v, want %v", name, got, eligible[name])
		}
	}
	if !st.MultiHost() || st.Host("node-3") != st.Hosts[2] || st.Host("node-9") != nil {
		t.Error("MultiHost or Host(name) do not see the hosts")
	}
}

// TestStackWithoutHostsHasNoneOfTheirFields: a file without hosts loads as
// it did before they existed (the load tests compare whole stacks; this
// names the new fields).
func TestStackWithoutHostsHasNoneOfTheirFields(t *testing.T) {
	st := mustParse(t, "testdata/valid/full.yaml", map[string]string{"API_TOKEN": "t", "PUBLIC_KEY": "k"})
	if st.MultiHost() || st.Hosts != nil || st.Consul.Servers != nil || st.LB.Host != "" {
		t.Errorf("hosts %v, servers %v, lb host %q; want none", st.Hosts, st.Consul.Servers, st.LB.Host)
	}
	for _, svc := range st.Services {
		if svc.Placement != nil || st.EligibleHosts(svc) != nil {
			t.Errorf("%s: placement %+v, eligible %v; want none", svc.Name, svc.Placement, st.EligibleHosts(svc))
		}
	}
}

// hostsStack is a stack file around body, which starts on line 3; a body
// without services gets one after it.
func hostsStack(body string) string {
	src := "version: 1\nname: s\n" + body
	if !strings.Contains(body, "services:") {
		src += "services: {web: {image: x, port: 1}}\n"
	}
	return src
}

func hostLines(names ...string) string {
	var b strings.Builder
	b.WriteString("hosts:\n")
	for i, name := range names {
		b.WriteString("  - {name: " + name + ", docker: \"ssh://" + name + "\", address: 10.0.0." + string(rune('1'+i)) + "}\n")
	}
	return b.String()
}

func TestHostDefaults(t *testing.T) {
	tests := []struct {
		hosts   []string
		consul  string
		servers []string
	}{
		{[]string{"a"}, "", []string{"a"}},
		// Two servers would need both up: one fails less often.
		{[]string{"a", "b"}, "", []string{"a"}},
		{[]string{"a", "b", "c"}, "", []string{"a", "b", "c"}},
		{[]string{"a", "b", "c", "d", "e"}, "", []string{"a", "b", "c"}},
		{[]string{"a", "b", "c", "d", "e"}, "consul: {servers: [e, d, c, b, a]}\n", []string{"e", "d", "c", "b", "a"}},
		{[]string{"a", "b", "c"}, "consul: {servers: [c]}\n", []string{"c"}},
		{[]string{"a", "b", "c"}, "consul: {address: \"10.0.0.9:8500\"}\n", nil},
	}
	for _, tt := range tests {
		src := hostsStack(hostLines(tt.hosts...) + tt.consul + "services: {web: {image: x, port: 1}}\nlb: {template: nginx.ctmpl}\n")
		st, err := Parse("s.yaml", []byte(src), nil, "testdata/valid")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if !reflect.DeepEqual(st.Consul.Servers, tt.servers) {
			t.Errorf("%v %s: Consul.Servers = %v, want %v", tt.hosts, tt.consul, st.Consul.Servers, tt.servers)
		}
		if st.LB.Host != tt.hosts[0] {
			t.Errorf("%v: LB.Host = %q, want the first host", tt.hosts, st.LB.Host)
		}
	}
}

// TestHostSpellings: what the docker CLI and YAML allow is read, and an
// address in any spelling comes out canonical.
func TestHostSpellings(t *testing.T) {
	certs := abs(t, "testdata/valid/certs/node-3")
	tests := []struct {
		host string
		want Host
	}{
		{`{name: a, docker: "ssh://h", address: 10.0.0.1}`, Host{Docker: "ssh://h", Address: "10.0.0.1"}},
		{`{name: a, docker: "ssh://me@[fd00::1]:22", address: "FD00:0::1"}`, Host{Docker: "ssh://me@[fd00::1]:22", Address: "fd00::1"}},
		{`{name: a, docker: "ssh://me@h.example.com/", address: "::ffff:10.0.0.1"}`, Host{Docker: "ssh://me@h.example.com/", Address: "10.0.0.1"}},
		{`{name: a, docker: "tcp://[fd00::1]:2376", address: 10.0.0.1, tls: "` + certs + `"}`, Host{Docker: "tcp://[fd00::1]:2376", Address: "10.0.0.1", TLS: certs}},
		{`{name: a, docker: "tcp://h:2376", address: 10.0.0.1, tls: ./certs/node-3/}`, Host{Docker: "tcp://h:2376", Address: "10.0.0.1", TLS: certs}},
		{`{name: a, docker: "tcp://h:2375/", address: 10.0.0.1, insecure: "${INSECURE}"}`, Host{Docker: "tcp://h:2375/", Address: "10.0.0.1", Insecure: true}},
		{`{name: a, docker: "unix://${SOCK}", address: "${ADDR}", labels: {rack: 7, ssd: true, x.io/tier: ""}}`,
			Host{Docker: "unix:///run/user/1000/docker.sock", Address: "192.168.1.5", Labels: map[string]string{"rack": "7", "ssd": "true", "x.io/tier": ""}}},
		{`{name: a, docker: "unix:///a.sock", address: 10.0.0.1, insecure: false, labels: {}}`, Host{Docker: "unix:///a.sock", Address: "10.0.0.1"}},
	}
	vars := env(map[string]string{"INSECURE": "true", "SOCK": "/run/user/1000/docker.sock", "ADDR": "192.168.1.5"})
	sch := compileSchema(t)
	for _, tt := range tests {
		src := hostsStack("hosts:\n  - " + tt.host + "\n")
		if err := sch.Validate(yamlToJSON(t, writeTemp(t, []byte(src)))); err != nil {
			t.Errorf("%s: the schema refuses it: %v", tt.host, err)
		}
		st, err := Parse("s.yaml", []byte(src), vars, "testdata/valid")
		if err != nil {
			t.Errorf("%s: %v", tt.host, err)
			continue
		}
		tt.want.Name, tt.want.Pos = "a", Position{"s.yaml", 4, 5}
		if got := *st.Hosts[0]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.host, got, tt.want)
		}
	}
}

// TestHostProblems: every mistake in hosts, placement, lb.host and
// consul.servers is reported at its FILE:LINE:COL with the field's path,
// each once: a host whose name cannot be read is not also reported as
// unknown wherever it is referred to. Mistakes a schema can express are
// refused by schema.json too.
func TestHostProblems(t *testing.T) {
	tests := []struct {
		name, body string
		schemaSees bool
		want       []string
	}{
		{"hosts a mapping", "hosts: {a: 1}\n", true, []string{
			`s.yaml:3:8: hosts is a mapping (expected a list of hosts, each with name, docker and address)`,
		}},
		{"hosts empty", "hosts: []\n", true, []string{
			`s.yaml:3:8: hosts is empty (expected a list of hosts, each with name, docker and address; or no hosts field, for the one engine DOCKER_HOST names)`,
		}},
		{"host a string", "hosts: [a]\nservices: {web: {image: x, port: 1, placement: {hosts: [a]}}}\n", true, []string{
			`s.yaml:3:9: hosts[0] is "a" (expected a mapping with name, docker, address, labels, ...)`,
		}},
		{"host missing fields", "hosts:\n  - {name: a}\n", true, []string{
			`s.yaml:4:5: missing required field "docker" in hosts[0] (expected docker: followed by unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
			`s.yaml:4:5: missing required field "address" in hosts[0] (expected address: followed by the IP address the other hosts and the LB reach this host on, like 10.0.0.11)`,
		}},
		{"host name invalid", "hosts:\n  - {name: Node_1, docker: \"unix:///a.sock\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1, placement: {hosts: [Node_1]}}}\n", true, []string{
			`s.yaml:4:12: hosts[0].name "Node_1" is not a valid name (expected 1 to 40 lowercase letters, digits and dashes, starting with a letter and not ending with a dash)`,
		}},
		{"host field misspelt", "hosts:\n  - {name: a, docker: \"unix:///a.sock\", address: 10.0.0.1, tlz: certs}\n", true, []string{
			`s.yaml:4:60: unknown field "tlz" in hosts[0] (did you mean "tls"?)`,
		}},
		{"host name twice", "hosts:\n  - {name: a, docker: \"unix:///a.sock\", address: 10.0.0.1}\n  - {name: a, docker: \"unix:///b.sock\", address: 10.0.0.2}\n", false, []string{
			`s.yaml:5:12: hosts[1].name "a" is already the name of hosts[0] (expected each host's own name)`,
		}},
		{"address twice", "hosts:\n  - {name: a, docker: \"unix:///a.sock\", address: 10.0.0.1}\n  - {name: b, docker: \"unix:///b.sock\", address: \"::ffff:10.0.0.1\"}\n", false, []string{
			`s.yaml:5:50: hosts[1].address "::ffff:10.0.0.1" (10.0.0.1) is already the address of hosts[0] (expected each host's own address)`,
		}},
		{"engine twice", "hosts:\n  - {name: a, docker: \"ssh://deploy@h\", address: 10.0.0.1}\n  - {name: b, docker: \"ssh://deploy@h\", address: 10.0.0.2}\n", false, []string{
			`s.yaml:5:23: hosts[1].docker "ssh://deploy@h" is already the engine of hosts[0] (expected each host's own engine)`,
		}},
		{"docker no scheme", "hosts:\n  - {name: a, docker: \"10.0.0.1:2375\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "10.0.0.1:2375" has no scheme:// (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker http", "hosts:\n  - {name: a, docker: \"http://10.0.0.1:2375\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "http://10.0.0.1:2375" has scheme "http", which stackctl does not take (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker npipe", "hosts:\n  - {name: a, docker: \"npipe:////./pipe/docker_engine\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "npipe:////./pipe/docker_engine" has scheme "npipe", which stackctl does not take (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker unix two slashes", "hosts:\n  - {name: a, docker: \"unix://var/run/docker.sock\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "unix://var/run/docker.sock" has the relative path "var/run/docker.sock": a unix socket needs an absolute one, so three slashes, unix:///PATH (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker unix no path", "hosts:\n  - {name: a, docker: \"unix://\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "unix://" has no socket path (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker unix folder", "hosts:\n  - {name: a, docker: \"unix:///run/\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "unix:///run/" ends with /, which names a folder, not a socket (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker tcp no port", "hosts:\n  - {name: a, docker: \"tcp://10.0.0.1\", address: 10.0.0.1, insecure: true}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "tcp://10.0.0.1" has no port (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker tcp bad port", "hosts:\n  - {name: a, docker: \"tcp://10.0.0.1:70000\", address: 10.0.0.1, insecure: true}\n", false, []string{
			`s.yaml:4:23: hosts[0].docker "tcp://10.0.0.1:70000" has an invalid port "70000" (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker tcp path", "hosts:\n  - {name: a, docker: \"tcp://10.0.0.1:2375/v1.41\", address: 10.0.0.1, insecure: true}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "tcp://10.0.0.1:2375/v1.41" has a path "/v1.41" after the host (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker tcp user", "hosts:\n  - {name: a, docker: \"tcp://me@10.0.0.1:2375\", address: 10.0.0.1, insecure: true}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "tcp://me@10.0.0.1:2375" has a user, which tcp:// does not take (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker ssh password", "hosts:\n  - {name: a, docker: \"ssh://me:pw@10.0.0.1\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "ssh://me:pw@10.0.0.1" has a password, which the docker CLI refuses in ssh://: log in with a key (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker ssh query", "hosts:\n  - {name: a, docker: \"ssh://10.0.0.1?x=1\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "ssh://10.0.0.1?x=1" has a query (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker ssh bad host", "hosts:\n  - {name: a, docker: \"ssh://bad_host\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "ssh://bad_host" has an invalid host "bad_host" (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"docker a number", "hosts:\n  - {name: a, docker: 2375, address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker is the number 2375 (expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT], as DOCKER_HOST takes it)`,
		}},
		{"plain tcp", "hosts:\n  - {name: a, docker: \"tcp://10.0.0.1:2375\", address: 10.0.0.1}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "tcp://10.0.0.1:2375" is plain TCP without TLS: anyone who can reach that port controls the engine (expected tls: FOLDER with ca.pem, cert.pem and key.pem; or insecure: true to accept that on a network you trust)`,
		}},
		{"plain tcp insecure false", "hosts:\n  - {name: a, docker: \"tcp://10.0.0.1:2375\", address: 10.0.0.1, insecure: false}\n", true, []string{
			`s.yaml:4:23: hosts[0].docker "tcp://10.0.0.1:2375" is plain TCP without TLS: anyone who can reach that port controls the engine (expected tls: FOLDER with ca.pem, cert.pem and key.pem; or insecure: true to accept that on a network you trust)`,
		}},
		{"tls and insecure", "hosts:\n  - {name: a, docker: \"tcp://10.0.0.1:2376\", address: 10.0.0.1, tls: certs/node-3, insecure: true}\n", true, []string{
			`s.yaml:4:84: hosts[0].insecure is true with hosts[0].tls set (expected one: tls secures the connection, insecure: true goes without)`,
		}},
		{"tls with ssh", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1, tls: certs/node-3}\n", true, []string{
			`s.yaml:4:53: hosts[0].tls is set for an ssh:// engine (expected tls only with tcp://: a unix socket or ssh needs none)`,
		}},
		{"insecure with unix", "hosts:\n  - {name: a, docker: \"unix:///a.sock\", address: 10.0.0.1, insecure: true}\n", true, []string{
			`s.yaml:4:60: hosts[0].insecure is set for a unix:// engine (expected insecure only with tcp://: a unix socket or ssh is not plain TCP)`,
		}},
		{"insecure a string", "hosts:\n  - {name: a, docker: \"tcp://10.0.0.1:2375\", address: 10.0.0.1, insecure: \"yes\"}\n", true, []string{
			`s.yaml:4:75: hosts[0].insecure is the string "yes" (expected true or false)`,
		}},
		{"address a hostname", "hosts:\n  - {name: a, docker: \"ssh://a\", address: node-1.internal}\n", true, []string{
			`s.yaml:4:43: hosts[0].address "node-1.internal" is not an IP address (expected the IP address the other hosts and the LB reach this host on, like 10.0.0.11)`,
		}},
		{"address loopback", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 127.0.0.1}\n", false, []string{
			`s.yaml:4:43: hosts[0].address "127.0.0.1" is a loopback address, which other hosts and containers cannot reach (expected the IP address the other hosts and the LB reach this host on, like 10.0.0.11)`,
		}},
		{"address mapped loopback", "hosts:\n  - {name: a, docker: \"ssh://a\", address: \"::ffff:127.0.0.1\"}\n", false, []string{
			`s.yaml:4:43: hosts[0].address "::ffff:127.0.0.1" is a loopback address, which other hosts and containers cannot reach (expected the IP address the other hosts and the LB reach this host on, like 10.0.0.11)`,
		}},
		{"address unspecified", "hosts:\n  - {name: a, docker: \"ssh://a\", address: \"::\"}\n", false, []string{
			`s.yaml:4:43: hosts[0].address "::" is the unspecified address, not one host's (expected the IP address the other hosts and the LB reach this host on, like 10.0.0.11)`,
		}},
		{"address zone", "hosts:\n  - {name: a, docker: \"ssh://a\", address: \"fe80::1%eth0\"}\n", true, []string{
			`s.yaml:4:43: hosts[0].address "fe80::1%eth0" has an IPv6 zone, which only means something on one machine (expected the IP address the other hosts and the LB reach this host on, like 10.0.0.11)`,
		}},
		{"address multicast", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 224.0.0.1}\n", false, []string{
			`s.yaml:4:43: hosts[0].address "224.0.0.1" is a multicast or broadcast address, not one host's (expected the IP address the other hosts and the LB reach this host on, like 10.0.0.11)`,
		}},
		{"address a number", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.5}\n", true, []string{
			`s.yaml:4:43: hosts[0].address is the number 10.5 (expected the IP address the other hosts and the LB reach this host on, like 10.0.0.11)`,
		}},
		{"labels a list", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1, labels: [zone]}\n", true, []string{
			`s.yaml:4:61: hosts[0].labels is a list (expected a mapping of label names to values, like {zone: eu-1})`,
		}},
		{"label name invalid", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1, labels: {-zone: x}}\nservices: {web: {image: x, port: 1, placement: {labels: {zone: x}}}}\n", true, []string{
			`s.yaml:4:62: label name "-zone" in hosts[0].labels is not valid (expected 1 to 63 letters, digits, '.', '_', '-' and '/', starting and ending with a letter or digit)`,
		}},
		{"label value a list", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1, labels: {zone: [x]}}\n", true, []string{
			`s.yaml:4:68: hosts[0].labels.zone is a list (expected a string, number or boolean; write "" for an empty value)`,
		}},
		{"tls missing", "hosts:\n  - {name: a, docker: \"tcp://a:2376\", address: 10.0.0.1, tls: nope}\n", false, []string{
			`s.yaml:4:63: hosts[0].tls "nope" does not exist (expected a folder with ca.pem, cert.pem and key.pem, relative to the stack file or absolute)`,
		}},
		{"tls a file", "hosts:\n  - {name: a, docker: \"tcp://a:2376\", address: 10.0.0.1, tls: hosts.yaml}\n", false, []string{
			`s.yaml:4:63: hosts[0].tls "hosts.yaml" is not a folder (expected a folder with ca.pem, cert.pem and key.pem, relative to the stack file or absolute)`,
		}},
		{"tls without files", "hosts:\n  - {name: a, docker: \"tcp://a:2376\", address: 10.0.0.1, tls: app}\n", false, []string{
			`s.yaml:4:63: hosts[0].tls "app" has no ca.pem, cert.pem, key.pem (expected a folder with ca.pem, cert.pem and key.pem, relative to the stack file or absolute)`,
		}},
		{"tls empty", "hosts:\n  - {name: a, docker: \"tcp://a:2376\", address: 10.0.0.1, tls: \"\"}\n", true, []string{
			`s.yaml:4:63: hosts[0].tls "" is empty (expected a folder with ca.pem, cert.pem and key.pem, relative to the stack file or absolute)`,
		}},
		{"tls tilde", "hosts:\n  - {name: a, docker: \"tcp://a:2376\", address: 10.0.0.1, tls: ~/.docker/certs}\n", false, []string{
			`s.yaml:4:63: hosts[0].tls "~/.docker/certs" does not exist: ~ is not expanded here, write ${HOME} (expected a folder with ca.pem, cert.pem and key.pem, relative to the stack file or absolute)`,
		}},
		{"placement without hosts", "services: {web: {image: x, port: 1, placement: {hosts: [a]}}}\n", true, []string{
			`s.yaml:3:37: services.web.placement needs hosts: (expected a top-level hosts: list of the machines to place on; or no placement, for the one engine DOCKER_HOST names)`,
		}},
		{"lb host without hosts", "services: {web: {image: x, port: 1}}\nlb: {template: nginx.ctmpl, host: a}\n", true, []string{
			`s.yaml:4:29: lb.host needs hosts: (expected a top-level hosts: list of the machines to place on; or no host, for the one engine DOCKER_HOST names)`,
		}},
		{"consul servers without hosts", "consul: {servers: [a]}\n", true, []string{
			`s.yaml:3:10: consul.servers needs hosts: (expected a top-level hosts: list of the machines to place on; or no servers, for the one engine DOCKER_HOST names)`,
		}},
		{"placement unknown host", "hosts:\n  - {name: node-1, docker: \"ssh://a\", address: 10.0.0.1}\n  - {name: node-2, docker: \"ssh://b\", address: 10.0.0.2}\nservices: {web: {image: x, port: 1, placement: {hosts: [node-1, node-3]}}}\n", false, []string{
			`s.yaml:6:65: services.web.placement.hosts[1] "node-3" is not one of the hosts (expected one of: node-1, node-2)`,
		}},
		{"placement host twice", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1, placement: {hosts: [a, a]}}}\n", true, []string{
			`s.yaml:5:60: services.web.placement.hosts[1] "a" is already listed at services.web.placement.hosts[0] (expected each host once)`,
		}},
		{"placement hosts and labels", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1, labels: {zone: x}}\nservices: {web: {image: x, port: 1, placement: {hosts: [a], labels: {zone: x}}}}\n", true, []string{
			`s.yaml:5:61: services.web.placement has both hosts and labels (expected one: hosts names the hosts, labels selects them by their labels)`,
		}},
		{"placement empty", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1, placement: {}}}\n", true, []string{
			`s.yaml:5:48: services.web.placement is empty (expected hosts: [NAMES] or labels: {NAME: VALUE})`,
		}},
		{"placement hosts empty", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1, placement: {hosts: []}}}\n", true, []string{
			`s.yaml:5:56: services.web.placement.hosts is empty (expected a list of host names, like [node-1, node-2])`,
		}},
		{"placement hosts a string", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1, placement: {hosts: a}}}\n", true, []string{
			`s.yaml:5:56: services.web.placement.hosts is "a" (expected a list of host names, like [node-1, node-2])`,
		}},
		{"placement a list", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1, placement: [a]}}\n", true, []string{
			`s.yaml:5:48: services.web.placement is a list (expected a mapping with hosts, labels)`,
		}},
		{"placement field misspelt", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1, placement: {host: [a]}}}\n", true, []string{
			`s.yaml:5:49: unknown field "host" in services.web.placement (did you mean "hosts"?)`,
		}},
		{"placement selects no host", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1, labels: {zone: eu-1}}\n  - {name: b, docker: \"ssh://b\", address: 10.0.0.2, labels: {zone: eu-2, disk: ssd}}\nservices: {web: {image: x, port: 1, placement: {labels: {zone: eu-1, disk: ssd}}}}\n", false, []string{
			`s.yaml:6:57: services.web.placement.labels {disk: "ssd", zone: "eu-1"} selects no host (expected labels that at least one host carries in its hosts[N].labels)`,
		}},
		{"placement labels empty", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1, placement: {labels: {}}}}\n", true, []string{
			`s.yaml:5:57: services.web.placement.labels is empty (expected at least one NAME: VALUE that the chosen hosts carry)`,
		}},
		{"lb host unknown", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1}}\nlb: {template: nginx.ctmpl, host: b}\n", false, []string{
			`s.yaml:6:35: lb.host "b" is not one of the hosts (expected one of: a)`,
		}},
		{"lb host a number", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nservices: {web: {image: x, port: 1}}\nlb: {template: nginx.ctmpl, host: 1}\n", true, []string{
			`s.yaml:6:35: lb.host is the number 1 (expected the name of one of the stack's hosts)`,
		}},
		{"consul two servers", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\n  - {name: b, docker: \"ssh://b\", address: 10.0.0.2}\nconsul: {servers: [a, b]}\n", true, []string{
			`s.yaml:6:19: consul.servers has 2 hosts (expected 1, 3 or 5: the servers need a majority of them up, so an even count survives no more failures than one fewer, and more than 5 only slow every write)`,
		}},
		{"consul server unknown", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nconsul: {servers: [b]}\n", false, []string{
			`s.yaml:5:20: consul.servers[0] "b" is not one of the hosts (expected one of: a)`,
		}},
		{"consul server twice", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nconsul: {servers: [a, a, a]}\n", true, []string{
			`s.yaml:5:23: consul.servers[1] "a" is already listed at consul.servers[0] (expected each host once)`,
			`s.yaml:5:26: consul.servers[2] "a" is already listed at consul.servers[0] (expected each host once)`,
		}},
		{"consul servers with address", "hosts:\n  - {name: a, docker: \"ssh://a\", address: 10.0.0.1}\nconsul: {address: \"10.0.0.9:8500\", servers: [a]}\n", true, []string{
			`s.yaml:5:36: consul.servers is set with consul.address (expected no servers: they place a managed server's containers, and an existing agent is not managed)`,
		}},
	}
	sch := compileSchema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(hostsStack(tt.body))
			st, err := Parse("s.yaml", src, nil, "testdata/valid")
			if st != nil {
				t.Fatal("got a stack, want problems")
			}
			problems := checkProblems(t, "s.yaml", src, err)
			var got []string
			for _, p := range problems.Problems {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.schemaSees {
				if err := sch.Validate(yamlToJSON(t, writeTemp(t, src))); err == nil {
					t.Error("the schema accepts it, want it refused")
				}
			}
		})
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stack.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHostsFileNeverPanics parses every prefix of the multi-host example
// and the example with each line left out, with panics left to crash: each
// either loads or yields well-formed problems. FuzzLoad (seeded with the
// same file) explores further.
func TestHostsFileNeverPanics(t *testing.T) {
	recoverPanics = false
	t.Cleanup(func() { recoverPanics = true })
	data, err := os.ReadFile("testdata/valid/hosts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := abs(t, "testdata/valid")
	var inputs [][]byte
	for i := range data {
		inputs = append(inputs, data[:i])
	}
	lines := strings.SplitAfter(string(data), "\n")
	for i := range lines {
		inputs = append(inputs, []byte(strings.Join(lines[:i], "")+strings.Join(lines[i+1:], "")))
	}
	for _, in := range inputs {
		st, err := Parse("stack.yaml", in, nil, dir)
		if err != nil {
			checkProblems(t, "stack.yaml", in, err)
			continue
		}
		for _, svc := range st.Services {
			st.EligibleHosts(svc)
			st.WorkerHash(svc)
		}
	}
}
