package spec

import (
	"fmt"
	"slices"
)

// ExcludeHost takes a host out of the stack for one run (apply
// --exclude-host): a host that is down, whose workers are to run on the
// others until it is back. Nothing is placed on it and its engine is not
// read; its workers' slots go to the other eligible hosts. It stays known
// (KnownHost): a Consul server there is still one of the cluster's, which
// the other agents join and count on when it returns, so excluding it
// changes no other agent.
//
// The LB cannot be excluded with its host: lb.ports publish on that host's
// address, so moving the LB is a change to the file.
func (s *Stack) ExcludeHost(name string) error {
	i := slices.IndexFunc(s.Hosts, func(h *Host) bool { return h.Name == name })
	if i < 0 {
		return fmt.Errorf("--exclude-host %s: %s is not a host of %s", name, name, s.File)
	}
	if s.LB != nil && s.LB.Host == name {
		return fmt.Errorf("--exclude-host %s: the LB runs on %s (lb.host), and publishes on its address: set lb.host to another host in %s", name, name, s.File)
	}
	if len(s.Hosts) == 1 {
		return fmt.Errorf("--exclude-host %s: it is the only host of %s", name, s.File)
	}
	s.Excluded = append(s.Excluded, s.Hosts[i])
	s.Hosts = slices.Delete(slices.Clone(s.Hosts), i, i+1)
	return nil
}

// KnownHost returns the named host, whether in the stack or excluded from
// this run, or nil.
func (s *Stack) KnownHost(name string) *Host {
	if h := s.Host(name); h != nil {
		return h
	}
	for _, h := range s.Excluded {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// LiveServers are the hosts of consul.servers not excluded from this run:
// the servers an apply can expect to answer.
func (s *Stack) LiveServers() []string {
	var out []string
	for _, name := range s.Consul.Servers {
		if s.Host(name) != nil {
			out = append(out, name)
		}
	}
	return out
}

// EligibleKnownHosts is EligibleHosts with the hosts excluded from this run
// too: where svc's workers would run if every host of the file were in.
func (s *Stack) EligibleKnownHosts(svc *Service) []string {
	names := s.EligibleHosts(svc)
	for _, h := range s.Excluded {
		if svc.Placement.admits(h) {
			names = append(names, h.Name)
		}
	}
	return names
}
