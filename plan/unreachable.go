package plan

import (
	"fmt"
	"sort"
	"strings"
)

// UnreachableHost is a host whose engine did not answer, with what the
// rest of the stack knows it held: what plan and status say of a lost host.
type UnreachableHost struct {
	Name   string
	Docker string
	Error  string
	// Containers are the stack's containers observed on the host: none
	// when its engine did not answer at all, the usual case.
	Containers []Container
	// Registrations are the stack's instances on the host's Consul node,
	// from the catalog: what the host held when its engine cannot say.
	Registrations []Registration
	// CatalogRead says Consul was reached, so Registrations is all the
	// catalog knows of the host; when false, what it held is unknown.
	CatalogRead bool
}

// Unreachable lists the hosts whose engine did not answer, by name, each
// with the containers and registrations observed on it.
func (s *State) Unreachable() []UnreachableHost {
	var out []UnreachableHost
	for name, h := range s.Hosts {
		if h.Reached() {
			continue
		}
		u := UnreachableHost{Name: name, Docker: h.Docker, Error: h.Error, CatalogRead: s.Consul.Reached}
		for _, c := range s.Containers {
			if c.Host == name {
				u.Containers = append(u.Containers, c)
			}
		}
		for _, r := range s.Consul.Registrations {
			if r.Host == name {
				u.Registrations = append(u.Registrations, r)
			}
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// String says, on one line, which host is unreachable, why, and what it
// held, e.g. "host box2 is unreachable (Docker at tcp://10.0.0.3:2375:
// connection refused); Consul lists 2 instances on it: web-1 (critical),
// web-4 (critical)".
func (u UnreachableHost) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "host %s is unreachable (%s)", u.Name, u.Error)
	if len(u.Containers) > 0 {
		names := make([]string, len(u.Containers))
		for i, c := range u.Containers {
			names[i] = c.Name
		}
		fmt.Fprintf(&b, "; %s seen on it: %s", quantity(len(names), "container"), strings.Join(names, ", "))
	}
	switch {
	case !u.CatalogRead:
		b.WriteString("; what it held is unknown: Consul was not reached either")
	case len(u.Registrations) == 0:
		b.WriteString("; Consul lists no instance of the stack on it")
	default:
		regs := make([]string, len(u.Registrations))
		for i, r := range u.Registrations {
			regs[i] = r.ID
			if r.Status != CheckNone {
				regs[i] += " (" + r.Status + ")"
			}
		}
		fmt.Fprintf(&b, "; Consul lists %s on it: %s", quantity(len(regs), "instance"), strings.Join(regs, ", "))
	}
	return b.String()
}

func quantity(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
