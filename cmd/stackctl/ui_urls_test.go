package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

func TestUIURLs(t *testing.T) {
	managed := &spec.Stack{Name: "s", File: "/x/stack.yaml", LB: &spec.LB{},
		Consul: spec.Consul{Image: "consul", Ports: []spec.PortMapping{{HostIP: "127.0.0.1", ContainerPort: 8500}}}}
	external := &spec.Stack{Name: "s", File: "/x/stack.yaml", Consul: spec.Consul{Address: "10.0.0.5:8500"}}
	consul := plan.Container{Name: "s-consul", State: plan.ContainerRunning, Ports: []plan.PublishedPort{
		{HostIP: "127.0.0.1", HostPort: 8600, ContainerPort: 8600, Protocol: "udp"},
		{HostIP: "127.0.0.1", HostPort: 49153, ContainerPort: 8500, Protocol: "tcp"}}}
	lb := plan.Container{Name: "s-lb", State: plan.ContainerRunning, Ports: []plan.PublishedPort{
		{HostIP: "0.0.0.0", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: "::", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: "127.0.0.2", HostPort: 8443, ContainerPort: 443, Protocol: "tcp"},
		{HostIP: "::1", HostPort: 9000, ContainerPort: 80, Protocol: "tcp"}}}
	stopped := func(c plan.Container) plan.Container { c.State = plan.ContainerExited; return c }

	tests := []struct {
		name       string
		stack      *spec.Stack
		live       []plan.Container
		override   string
		consul     string
		consulNote string
		lb         []string
		lbNote     string
	}{
		{"Docker-picked ports, wildcard binds on loopback, once each", managed, []plan.Container{consul, lb}, "",
			"http://127.0.0.1:49153/ui/", "published by container s-consul",
			[]string{"http://127.0.0.1:8080/", "http://[::1]:9000/", "https://127.0.0.2:8443/"}, ""},
		{"CONSUL_HTTP_ADDR wins", managed, []plan.Container{consul, lb}, "https://consul.example:8501/",
			"https://consul.example:8501/ui/", "CONSUL_HTTP_ADDR", []string{"http://127.0.0.1:8080/", "http://[::1]:9000/", "https://127.0.0.2:8443/"}, ""},
		{"external agent", external, nil, "", "http://10.0.0.5:8500/ui/", "consul.address in stack.yaml", nil, "no lb section"},
		{"nothing running", managed, []plan.Container{stopped(consul)}, "", "", "container s-consul is exited: run stackctl apply",
			nil, "container s-lb is missing: run stackctl apply"},
		{"LB without ports", managed, []plan.Container{consul, {Name: "s-lb", State: plan.ContainerRunning}}, "",
			"http://127.0.0.1:49153/ui/", "", nil, "publishes no port"},
	}
	for _, tt := range tests {
		u := uiURLs(tt.stack, tt.live, tt.override)
		if u.Consul != tt.consul || !strings.Contains(u.ConsulNote, tt.consulNote) {
			t.Errorf("%s: consul %q (%s), want %q (%s)", tt.name, u.Consul, u.ConsulNote, tt.consul, tt.consulNote)
		}
		if !reflect.DeepEqual(u.LB, tt.lb) || !strings.Contains(u.LBNote, tt.lbNote) || (tt.lbNote == "" && u.LBNote != "") {
			t.Errorf("%s: lb %q (%s), want %q (%s)", tt.name, u.LB, u.LBNote, tt.lb, tt.lbNote)
		}
	}
}

func TestUIBrowserCommand(t *testing.T) {
	for goos, want := range map[string][]string{
		"linux":   {"xdg-open", "http://x/"},
		"freebsd": {"xdg-open", "http://x/"},
		"darwin":  {"open", "http://x/"},
		"windows": {"rundll32", "url.dll,FileProtocolHandler", "http://x/"},
	} {
		name, args := browserCommand(goos, "http://x/")
		if got := append([]string{name}, args...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", goos, got, want)
		}
	}
}

func TestUIOpenWithoutOpenerSaysSo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := openBrowser("linux", "http://127.0.0.1:8500/ui/")
	if err == nil || !strings.Contains(err.Error(), "xdg-open was not found; open http://127.0.0.1:8500/ui/ yourself") {
		t.Errorf("got %v", err)
	}
}
