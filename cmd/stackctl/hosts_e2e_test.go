//go:build e2e

package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/e2e"
	"github.com/stackctl/stackctl/internal/images"
)

// Issue 12's first acceptance check, end to end on three boxes (Docker in
// Docker, docs/boxes.md): a stack of 12 workers over three hosts, a Consul
// server on each, the LB on the first, applied from nothing by the CLI.

// hostsStack is a stack over boxes.
type hostsStack struct {
	*e2eStack
	boxes []e2e.Box
	token string // the cluster's management token (CONSUL_HTTP_TOKEN)
}

func newHostsStack(t *testing.T, n int) *hostsStack {
	s := &hostsStack{e2eStack: newE2EStack(t)}
	s.boxes = s.env.StartBoxes(n)
	s.token = newUUID(t)
	s.vars = append(s.vars, "CONSUL_HTTP_TOKEN="+s.token)
	tmpl, err := os.ReadFile(filepath.Join(repoRoot(t), "stacks/primes/nginx-rendered.ctmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "nginx.ctmpl"), tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func newUUID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func repoRoot(t *testing.T) string {
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// write writes the stack file over the boxes, without the hosts in skip.
func (s *hostsStack) write(replicas int, image string, skip ...string) {
	s.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: %s\nhosts:\n", s.name)
	for i, box := range s.boxes {
		name := fmt.Sprintf("box%d", i+1)
		if contains(skip, name) {
			continue
		}
		fmt.Fprintf(&b, "  - {name: %s, docker: %q, address: %s, insecure: true}\n", name, box.DockerHost, box.Address)
	}
	fmt.Fprintf(&b, `consul:
  image: %s
  servers: [box1, box2, box3]
services:
  web:
    image: %s
    replicas: %d
    port: 5000
    env: {PRIME_DIGITS: "8"}
    check: {http: /healthz, interval: 1s, timeout: 1s}
    update: {parallelism: 4, order: start-first, healthy_deadline: 120s, on_failure: rollback}
lb:
  image: %s
  template: nginx.ctmpl
  host: box1
  ports: ["%s:8080:80"]
`, images.Consul, image, replicas, images.Nginx, s.boxes[0].Address)
	if err := os.WriteFile(s.file, []byte(b.String()), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// workersPerBox counts the running workers of the stack on each box.
func (s *hostsStack) workersPerBox() []int {
	s.t.Helper()
	out := make([]int, len(s.boxes))
	for i, b := range s.boxes {
		cs, err := s.env.BoxClient(b).ContainerList(s.t.Context(), container.ListOptions{Filters: filters.NewArgs(
			filters.Arg("label", "io.stackctl.stack="+s.name), filters.Arg("label", "io.stackctl.role=worker"))})
		if err != nil {
			s.t.Fatalf("list workers on %s: %v", b.Name, err)
		}
		out[i] = len(cs)
	}
	return out
}

// owned counts every container of the stack on every box, running or not.
func (s *hostsStack) ownedOnBoxes() int {
	s.t.Helper()
	n := 0
	for _, b := range s.boxes {
		cs, err := s.env.BoxClient(b).ContainerList(s.t.Context(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", "io.stackctl.stack="+s.name))})
		if err != nil {
			s.t.Fatalf("list containers on %s: %v", b.Name, err)
		}
		n += len(cs)
	}
	return n
}

// consul is a client of box i's agent, with token ("" for none).
func (s *hostsStack) consul(i int, token string) *api.Client {
	s.t.Helper()
	c, err := api.NewClient(&api.Config{Address: s.boxes[i].Address + ":8500", Token: token})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// distinctWorkers sends n requests through the LB and counts the workers
// (X-Hostname) that answered; any answer but 200 fails the test.
func (s *hostsStack) distinctWorkers(n int) int {
	s.t.Helper()
	seen := map[string]bool{}
	client := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + s.boxes[0].Address + ":8080/"
	for range n {
		res, err := client.Get(url)
		if err != nil {
			s.t.Fatalf("GET %s: %v", url, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			s.t.Fatalf("GET %s: %s", url, res.Status)
		}
		seen[res.Header.Get("X-Hostname")] = true
	}
	return len(seen)
}

func TestThreeBoxesRunTwelveWorkersBehindOneLB(t *testing.T) {
	s := newHostsStack(t, 3)
	s.write(12, images.PrimesV1)

	out := s.mustRun("plan", "-f", s.file)
	for _, want := range []string{"image copied to host box1", "image copied to host box2", "image copied to host box3",
		"on box1, host port 20000"} {
		if !strings.Contains(out, want) {
			t.Errorf("the first plan does not say %q:\n%s", want, out)
		}
	}

	out = s.mustRun("apply", "-f", s.file, "--auto-approve")
	t.Logf("apply:\n%s", out)
	if got := s.workersPerBox(); fmt.Sprint(got) != "[4 4 4]" {
		t.Errorf("workers per box %v, want [4 4 4]", got)
	}
	s.assertCluster()
	if n := s.distinctWorkers(200); n != 12 {
		t.Errorf("200 requests through the LB reached %d distinct workers, want 12", n)
	}
	if _, _, code := s.run("plan", "-f", s.file, "--detailed-exitcode"); code != 0 {
		out, errOut, _ := s.run("plan", "-f", s.file)
		t.Errorf("plan after apply exits %d, want 0 (no changes):\n%s%s", code, out, errOut)
	}
	for _, secret := range []string{s.token} {
		if strings.Contains(out, secret) {
			t.Errorf("apply printed the management token")
		}
	}

	s.mustRun("destroy", "-f", s.file, "--auto-approve")
	if n := s.ownedOnBoxes(); n != 0 {
		t.Errorf("destroy left %d containers of the stack on the boxes", n)
	}
}

// assertCluster checks that Consul runs as a cluster of three servers with a
// leader, and that it refuses a caller without a token.
func (s *hostsStack) assertCluster() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), 30*time.Second)
	defer cancel()
	cfg, err := s.consul(1, s.token).Operator().RaftGetConfiguration((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		s.t.Fatalf("raft configuration: %v", err)
	}
	voters, leaders := 0, 0
	for _, srv := range cfg.Servers {
		if srv.Voter {
			voters++
		}
		if srv.Leader {
			leaders++
		}
	}
	if voters != 3 || leaders != 1 {
		s.t.Errorf("raft has %d voters and %d leaders, want 3 and 1: %+v", voters, leaders, cfg.Servers)
	}
	if _, err := s.consul(2, "").Agent().Self(); err == nil || !strings.Contains(err.Error(), "403") {
		s.t.Errorf("an agent read without a token was not refused with 403: %v", err)
	}
	if _, err := s.consul(2, "").KV().Put(&api.KVPair{Key: "stackctl/" + s.name + "/probe", Value: []byte("x")}, nil); err == nil ||
		!strings.Contains(err.Error(), "403") {
		s.t.Errorf("a KV write without a token was not refused with 403: %v", err)
	}
}
