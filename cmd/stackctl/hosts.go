package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/internal/consulapi"
	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// engines are the Docker engines a command works on: the control engine
// (DOCKER_HOST, where images are built) and, for a stack with hosts, each
// host's (docs/multihost.md). Opening one does not connect to it.
type engines struct {
	control *dockerapi.Client
	hosts   map[string]*dockerapi.Client
}

func openEngines(st *spec.Stack) (*engines, error) {
	control, err := openDocker()
	if err != nil {
		return nil, err
	}
	en := &engines{control: control, hosts: map[string]*dockerapi.Client{}}
	for _, h := range st.Hosts {
		c, err := dockerapi.OpenHost(h)
		if err != nil {
			en.close()
			return nil, fmt.Errorf("%s: host %s: %w", st.File, h.Name, err)
		}
		en.hosts[h.Name] = c
	}
	return en, nil
}

func (en *engines) close() {
	en.control.Close()
	for _, c := range en.hosts {
		c.Close()
	}
}

// observer reads the stack's live state from every engine.
func (en *engines) observer() *plan.Observer {
	o := &plan.Observer{
		Docker:     en.control,
		DockerAt:   en.control.Endpoint(),
		Consul:     consulapi.Dial,
		ConsulAddr: os.Getenv("CONSUL_HTTP_ADDR"),
	}
	if len(en.hosts) > 0 {
		o.Hosts = make(map[string]plan.DockerReader, len(en.hosts))
		for name, c := range en.hosts {
			o.Hosts[name] = c
		}
	}
	return o
}

// docker is what apply works through: the control engine alone, or, with
// hosts, a router over every host's engine that copies images from the
// control engine.
func (en *engines) docker() apply.Docker {
	if len(en.hosts) == 0 {
		return en.control
	}
	hosts := make(map[string]apply.Docker, len(en.hosts))
	for name, c := range en.hosts {
		hosts[name] = c
	}
	return apply.HostDocker(apply.Engines{
		Control: en.control,
		Hosts:   hosts,
		CopyImage: func(ctx context.Context, ref, host string, progress func(int64)) error {
			return dockerapi.CopyImage(ctx, en.control, en.hosts[host], ref, progress)
		},
	})
}

// errUnreachableHosts: apply needs every host of the file.
var errUnreachableHosts = errors.New("a host of the stack is unreachable")

// refuseUnreachable refuses to change a stack while one of its hosts does
// not answer, saying which and what it held; the way out is to bring it
// back or leave it out of the file.
func refuseUnreachable(st *spec.Stack, state *plan.State) error {
	lost := state.Unreachable()
	if len(lost) == 0 {
		return nil
	}
	lines := make([]string, 0, len(lost)+1)
	for _, u := range lost {
		lines = append(lines, "  "+u.String())
	}
	lines = append(lines, "Bring it back; or leave it out (apply --exclude-host "+lost[0].Name+", or take it out of "+st.File+
		") to place its workers on the other hosts.")
	return fmt.Errorf("%w:\n%s", errUnreachableHosts, strings.Join(lines, "\n"))
}

// needsToken refuses a stack with hosts and a managed Consul without its
// management token: every call to the cluster needs it.
func needsToken(st *spec.Stack) error {
	if st.MultiHost() && st.Consul.Managed() && os.Getenv("CONSUL_HTTP_TOKEN") == "" && os.Getenv("CONSUL_HTTP_TOKEN_FILE") == "" {
		return fmt.Errorf("%s: %w", st.File, apply.ErrNoManagementToken)
	}
	return nil
}

// managementToken is the Consul token the user gives (CONSUL_HTTP_TOKEN, or
// the file CONSUL_HTTP_TOKEN_FILE names): a new cluster's management token.
func managementToken() (string, error) {
	if t := os.Getenv("CONSUL_HTTP_TOKEN"); t != "" {
		return t, nil
	}
	path := os.Getenv("CONSUL_HTTP_TOKEN_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("CONSUL_HTTP_TOKEN_FILE: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// hostsAndReconcile refuses a reconcile section in a stack with hosts: its
// agent runs beside one engine and Consul server, which such a stack has
// not.
func hostsAndReconcile(st *spec.Stack) error {
	if st.MultiHost() && st.Reconcile != nil {
		return fmt.Errorf("%s: a reconcile section in a stack with hosts is not supported yet (run `stackctl reconcile` on a machine that reaches the hosts instead)", st.File)
	}
	return nil
}
