package main

import (
	"fmt"

	"github.com/stackctl/stackctl/spec"
)

// siblings loads the other environments of file's stack file: the stack
// file alone ("" environment) and every environment with an overlay beside
// it, but file's own. One that does not load is left out: it fails on its
// own plan, and must not hold back this one's.
func siblings(file stackFile) ([]*spec.Stack, error) {
	envs, err := spec.Environments(file.path)
	if err != nil {
		return nil, err
	}
	var out []*spec.Stack
	for _, env := range append([]string{""}, envs...) {
		if env == file.env {
			continue
		}
		if st, _, err := spec.LoadEnv(file.path, env); err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// checkEnvPorts refuses a stack that would collide with another environment
// of the same stack file on one engine: a host port both publish (naming
// both places), or one external Consul both use, where their services would
// mix under one name (the LB template asks for a service by its name).
func checkEnvPorts(file stackFile, st *spec.Stack) error {
	others, err := siblings(file)
	if err != nil {
		return err
	}
	var problems []*spec.Problem
	for _, o := range others {
		problems = append(problems, spec.PortClashes(st, o)...)
		if !st.Consul.Managed() && !o.Consul.Managed() && st.Consul.Address == o.Consul.Address {
			problems = append(problems, &spec.Problem{Pos: st.Consul.Pos, Msg: fmt.Sprintf(
				"consul.address %s is also stack %s's Consul (expected each environment its own Consul: their services would mix under one name; give this environment its own consul in its overlay)",
				st.Consul.Address, o.Name)})
		}
	}
	if len(problems) > 0 {
		return &spec.Errors{Problems: problems}
	}
	return nil
}
