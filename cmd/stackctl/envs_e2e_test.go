//go:build e2e

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/stackctl/stackctl/internal/images"
)

// envStacks is the reference stack (resolve-mode LB, Docker-picked host
// ports) with dev, staging and prod overlays beside it: v1 ×2, v2 ×4, v1 ×8.
type envStacks struct {
	*e2eStack
}

func newEnvStacks(t *testing.T) *envStacks {
	s := &envStacks{newE2EStack(t)}
	// The reference template (resolve mode), one worker in the stack file:
	// each environment's overlay says how many it runs.
	s.writeWithLBTemplate("../../stacks/primes/nginx.ctmpl", 1)
	s.overlay("dev", images.PrimesV1, 2)
	s.overlay("staging", images.PrimesV2, 4)
	s.overlay("prod", images.PrimesV1, 8)
	// Every environment's objects go at the end, whatever happened: the
	// harness removes only the stack without environment.
	t.Cleanup(func() {
		for _, env := range []string{"dev", "staging", "prod"} {
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			cmd := s.command(ctx, "destroy", "-f", s.file, "-e", env, "--auto-approve")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("destroy -e %s: %v\n%s", env, err, out)
			}
			cancel()
		}
	})
	return s
}

func (s *envStacks) writeFile(name, text string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *envStacks) overlay(env, image string, replicas int) {
	s.writeFile("stack."+env+".yaml", fmt.Sprintf("services:\n  web:\n    image: %s\n    replicas: %d\n", image, replicas))
}

// lbVersion is the X-Version the environment's LB answers with, from
// several requests: they must all agree.
func (s *envStacks) lbVersion(env string) string {
	s.t.Helper()
	url := "http://" + s.published(s.name+"-"+env+"-lb", "80") + "/"
	version := ""
	for i := 0; i < 10; i++ {
		res, err := http.Get(url)
		if err != nil {
			s.t.Fatalf("%s LB: %v", env, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		v := res.Header.Get("X-Version")
		if res.StatusCode != http.StatusOK || version != "" && v != version {
			s.t.Fatalf("%s LB: %s, X-Version %q after %q", env, res.Status, v, version)
		}
		version = v
	}
	return version
}

// published is the loopback address:port a container publishes port on.
func (s *envStacks) published(name, port string) string {
	s.t.Helper()
	info, err := s.env.Docker.ContainerInspect(s.t.Context(), name)
	if err != nil {
		s.t.Fatal(err)
	}
	for p, b := range info.NetworkSettings.Ports {
		if p.Port() == port && len(b) > 0 {
			return "127.0.0.1:" + b[0].HostPort
		}
	}
	s.t.Fatalf("%s publishes no %s", name, port)
	return ""
}

// snapshot is everything of one environment that another's apply or
// destroy must leave alone, as text: its containers (name, ID, state), its
// Consul's registrations as the agent returns them, the LB's last render
// report, and the config nginx serves.
func (s *envStacks) snapshot(env string) string {
	s.t.Helper()
	stack := s.name + "-" + env
	var b strings.Builder
	list, err := s.env.Docker.ContainerList(s.t.Context(), container.ListOptions{All: true})
	if err != nil {
		s.t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		if c.Labels["io.stackctl.stack"] == stack {
			names = append(names, fmt.Sprintf("%s %s %s", strings.Join(c.Names, ","), c.ID, c.State))
		}
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "containers:\n%s\n", strings.Join(names, "\n"))
	consul := "http://" + s.published(stack+"-consul", "8500")
	fmt.Fprintf(&b, "registrations: %s\n", httpBody(s.t, consul+"/v1/agent/services"))
	fmt.Fprintf(&b, "lb status: %s\n", httpBody(s.t, consul+"/v1/kv/stackctl/"+stack+"/lb/status?raw"))
	fmt.Fprintf(&b, "nginx config:\n%s\n", s.exec(stack+"-lb", "cat", "/etc/nginx/conf.d/stackctl.conf"))
	return b.String()
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, res.Status, err)
	}
	return string(b)
}

func (s *envStacks) exec(name string, cmd ...string) string {
	s.t.Helper()
	ctx := s.t.Context()
	ex, err := s.env.Docker.ContainerExecCreate(ctx, name, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		s.t.Fatal(err)
	}
	att, err := s.env.Docker.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	defer att.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
		s.t.Fatal(err)
	}
	if errOut.Len() > 0 {
		s.t.Fatalf("exec %v in %s: %s", cmd, name, errOut.String())
	}
	return out.String()
}

// TestEnvironmentsSideBySide: dev, staging and prod of one stack file run
// on one engine, each behind its own LB with its own version; an apply of
// one and a destroy of another leave the others byte for byte as they were.
func TestEnvironmentsSideBySide(t *testing.T) {
	s := newEnvStacks(t)
	for _, env := range []string{"dev", "staging", "prod"} {
		s.mustRun("apply", "-f", s.file, "-e", env, "--auto-approve")
	}
	for env, want := range map[string]string{"dev": "v1", "staging": "v2", "prod": "v1"} {
		if got := s.lbVersion(env); got != want {
			t.Errorf("%s LB answers X-Version %q, want %q", env, got, want)
		}
	}
	out := s.mustRun("envs", "-f", s.file)
	for _, want := range []string{
		"(none)    " + s.name + " ",
		"dev       " + s.name + "-dev       " + images.PrimesV1 + "   2/2 passing",
		"staging   " + s.name + "-staging   " + images.PrimesV2 + "   4/4 passing",
		"prod      " + s.name + "-prod      " + images.PrimesV1 + "   8/8 passing",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("envs lacks %q:\n%s", want, out)
		}
	}
	t.Logf("stackctl envs:\n%s", out)

	// staging v2 → v1 touches nothing of dev's and prod's.
	dev, prod := s.snapshot("dev"), s.snapshot("prod")
	s.overlay("staging", images.PrimesV1, 4)
	s.mustRun("apply", "-f", s.file, "-e", "staging", "--auto-approve")
	if got := s.lbVersion("staging"); got != "v1" {
		t.Errorf("staging after its apply answers %q, want v1", got)
	}
	if after := s.snapshot("dev"); after != dev {
		t.Errorf("staging's apply changed dev:\nbefore\n%s\nafter\n%s", dev, after)
	}
	if after := s.snapshot("prod"); after != prod {
		t.Errorf("staging's apply changed prod:\nbefore\n%s\nafter\n%s", prod, after)
	}

	// destroy of dev removes dev's objects only.
	staging := s.snapshot("staging")
	s.mustRun("destroy", "-f", s.file, "-e", "dev", "--auto-approve")
	list, err := s.env.Docker.ContainerList(t.Context(), container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Labels["io.stackctl.stack"] == s.name+"-dev" {
			t.Errorf("destroy -e dev left %v", c.Names)
		}
	}
	if after := s.snapshot("staging"); after != staging {
		t.Errorf("dev's destroy changed staging:\nbefore\n%s\nafter\n%s", staging, after)
	}
	if after := s.snapshot("prod"); after != prod {
		t.Errorf("dev's destroy changed prod:\nbefore\n%s\nafter\n%s", prod, after)
	}
	// Every container of an environment carries it.
	for _, c := range list {
		if c.Labels["io.stackctl.stack"] == s.name+"-prod" && c.Labels["io.stackctl.env"] != "prod" {
			t.Errorf("%v has io.stackctl.env=%q, want prod", c.Names, c.Labels["io.stackctl.env"])
		}
	}
	// And plan of each is empty: nothing drifted.
	for _, env := range []string{"staging", "prod"} {
		if _, _, code := s.run("plan", "-f", s.file, "-e", env, "--detailed-exitcode"); code != exitOK {
			t.Errorf("plan -e %s: exit %d, want 0 (no changes)", env, code)
		}
	}
}
