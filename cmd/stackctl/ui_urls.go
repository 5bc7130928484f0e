package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// stackURLs are where a browser reaches the stack from this host.
type stackURLs struct {
	// Consul is the Consul UI, "" when it cannot be reached; ConsulNote
	// says why not, or where the address came from.
	Consul     string
	ConsulNote string
	// LB is one URL per port the LB publishes; LBNote says why there is
	// none.
	LB     []string
	LBNote string
}

// uiURLs computes the URLs from the live containers, so ports Docker
// picked are right. consulOverride is CONSUL_HTTP_ADDR.
func uiURLs(s *spec.Stack, containers []plan.Container, consulOverride string) stackURLs {
	var u stackURLs
	live := &plan.State{Containers: containers}
	consul := live.Container(s.ConsulContainerName())
	switch {
	case consulOverride == "" && s.Consul.Managed() && (consul == nil || !consul.Running()):
		u.ConsulNote = fmt.Sprintf("container %s is %s: run stackctl apply", s.ConsulContainerName(), plan.StateOf(consul))
	default:
		at, err := plan.ConsulEndpoint(s, consulOverride, consul)
		if err != nil {
			u.ConsulNote = err.Error()
			break
		}
		u.Consul = consulUIURL(at.Address)
		u.ConsulNote = at.Via
	}

	if s.LB == nil {
		u.LBNote = "the stack has no lb section"
		return u
	}
	lb := live.Container(s.LBContainerName())
	if lb == nil || !lb.Running() {
		u.LBNote = fmt.Sprintf("container %s is %s: run stackctl apply", s.LBContainerName(), plan.StateOf(lb))
		return u
	}
	u.LB = publishedURLs(lb.Ports)
	if len(u.LB) == 0 {
		u.LBNote = fmt.Sprintf("container %s publishes no port: add one under lb.ports, such as \"127.0.0.1:8080:80\"", lb.Name)
	}
	return u
}

// consulUIURL is the UI under a Consul HTTP address, which may carry its
// scheme ("https://consul.internal:8501") or not ("127.0.0.1:8500").
func consulUIURL(addr string) string {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return strings.TrimRight(addr, "/") + "/ui/"
}

// publishedURLs are the http(s) URLs of a container's published TCP ports,
// on loopback for a wildcard bind, once each (Docker lists a port bound on
// 0.0.0.0 and :: twice).
func publishedURLs(ports []plan.PublishedPort) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ports {
		if p.Protocol == "udp" || p.Protocol == "sctp" || p.HostPort == 0 {
			continue
		}
		scheme := "http"
		if p.ContainerPort == 443 {
			scheme = "https"
		}
		url := scheme + "://" + plan.HostAddress(p.HostIP, p.HostPort) + "/"
		if !seen[url] {
			seen[url] = true
			out = append(out, url)
		}
	}
	sort.Strings(out)
	return out
}
