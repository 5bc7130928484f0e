//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/stackctl/stackctl/internal/images"
)

// The facts the multi-host work stands on: boxes start, each is an engine
// of its own at its own address, an image gets in without a registry, and a
// container with memory and CPU limits answers at the box's address and
// published port, from the host and from the other box.
func TestBoxesRunLimitedContainersReachableAtTheirAddress(t *testing.T) {
	e := NewForApply(t)
	start := time.Now()
	boxes := e.StartBoxes(2)
	t.Logf("2 boxes answer after %.1f s: %v", time.Since(start).Seconds(), boxes)
	assertDistinctEngines(t, e, boxes)

	box, other := boxes[0], boxes[1]
	engine := e.BoxClient(box)
	start = time.Now()
	e.CopyImage(box, images.PrimesV1)
	t.Logf("%s streamed into %s in %.1f s", images.PrimesV1, box.Name, time.Since(start).Seconds())
	assertSameImage(t, e.Docker, engine, images.PrimesV1)

	const memory, nanoCPUs = 64 << 20, 500_000_000
	web := runLimited(t, engine, "web", images.PrimesV1, memory, nanoCPUs)
	addr := net.JoinHostPort(box.Address, publishedPort(t, engine, web, AppPort))

	res := waitBoxHTTP(t, "http://"+addr+"/")
	assertPrime(t, res.Body, 13)
	if v := res.Header.Get("X-Version"); v != "v1" {
		t.Errorf("X-Version %q, want v1", v)
	}
	if got := e.boxExec(box, "sh", "-c", cgroupLimits(web)); got != "64M 50000/100000" {
		t.Errorf("the kernel holds web to %q (memory, CPU quota/period), want %q", got, "64M 50000/100000")
	}
	// Lookups from inside a box stay on this machine: at the boxes' gateway,
	// never at the public resolvers an engine falls back to.
	gateway := net.ParseIP(box.Address).To4()
	gateway[3] = 1
	resolv := e.boxExec(box, "sh", "-c", `grep '^nameserver' "$(docker inspect -f '{{.ResolvConfPath}}' `+web+`)"`)
	if resolv != "nameserver "+gateway.String() {
		t.Errorf("web's resolv.conf in the box has %q, want only the gateway %s", resolv, gateway)
	}
	// Another box reaches it the same way, as a load balancer on box 1
	// would reach workers on box 2: bash's /dev/tcp, the box has no curl.
	reply := e.boxExec(other, "bash", "-c", fmt.Sprintf(
		`exec 3<>/dev/tcp/%s/%s && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && head -1 <&3`,
		box.Address, publishedPort(t, engine, web, AppPort)))
	if !strings.HasPrefix(reply, "HTTP/1.0 200") && !strings.HasPrefix(reply, "HTTP/1.1 200") {
		t.Errorf("from %s, GET /healthz at %s answered %q, want 200", other.Name, addr, reply)
	}
}

func assertDistinctEngines(t *testing.T, e *Env, boxes []Box) {
	t.Helper()
	seen := map[string]string{}
	for _, b := range boxes {
		if want := "tcp://" + b.Address + ":2375"; b.DockerHost != want {
			t.Errorf("%s: DockerHost %q, want %q", b.Name, b.DockerHost, want)
		}
		info, err := e.BoxClient(b).Info(t.Context())
		if err != nil {
			t.Fatalf("info of %s: %v", b.Name, err)
		}
		if info.Name != b.Name || info.Driver != "vfs" {
			t.Errorf("%s's engine is %q with driver %q, want its own name and vfs", b.Name, info.Name, info.Driver)
		}
		if prev, dup := seen[info.ID]; dup {
			t.Errorf("%s and %s answer with the same engine %s", prev, b.Name, info.ID)
		}
		seen[info.ID] = b.Name
	}
}

func assertSameImage(t *testing.T, local, box *client.Client, image string) {
	t.Helper()
	want, err := local.ImageInspect(t.Context(), image)
	if err != nil {
		t.Fatal(err)
	}
	got, err := box.ImageInspect(t.Context(), image)
	if err != nil {
		t.Fatalf("%s not in the box after the copy: %v", image, err)
	}
	if got.ID != want.ID {
		t.Errorf("%s is %s in the box, %s here", image, got.ID, want.ID)
	}
}

// runLimited starts image in the box's engine with the limits, its app port
// published on a port the engine picks, on every address of the box.
func runLimited(t *testing.T, engine *client.Client, name, image string, memory, nanoCPUs int64) string {
	t.Helper()
	port := nat.Port(AppPort + "/tcp")
	created, err := engine.ContainerCreate(t.Context(),
		&container.Config{Image: image, ExposedPorts: nat.PortSet{port: {}}},
		&container.HostConfig{
			Resources:    container.Resources{Memory: memory, NanoCPUs: nanoCPUs},
			PortBindings: nat.PortMap{port: {{}}},
		}, nil, nil, name)
	if err != nil {
		t.Fatalf("create %s in the box: %v", name, err)
	}
	if err := engine.ContainerStart(t.Context(), created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start %s in the box: %v", name, err)
	}
	return created.ID
}

func publishedPort(t *testing.T, engine *client.Client, id, port string) string {
	t.Helper()
	info, err := engine.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range info.NetworkSettings.Ports[nat.Port(port+"/tcp")] {
		if b.HostPort != "" {
			return b.HostPort
		}
	}
	t.Fatalf("port %s of %s is not published: %v", port, id[:12], info.NetworkSettings.Ports)
	return ""
}

// cgroupLimits is a shell script, run in the box, that prints the memory
// limit (in MiB) and the CPU quota/period the kernel applies to the
// container's process: cgroup v1 or v2, whichever the host has.
func cgroupLimits(id string) string {
	return `pid=$(docker inspect -f '{{.State.Pid}}' ` + id + `)
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	cg=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/$pid/cgroup)
	echo "$(($(cat $cg/memory.max) >> 20))M $(tr ' ' / <$cg/cpu.max)"
else
	mem=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/$pid/cgroup)
	cpu=/sys/fs/cgroup/cpu$(grep -E '^[0-9]+:(cpu|cpu,cpuacct|cpuacct,cpu):' /proc/$pid/cgroup | cut -d: -f3)
	echo "$(($(cat $mem/memory.limit_in_bytes) >> 20))M $(cat $cpu/cpu.cfs_quota_us)/$(cat $cpu/cpu.cfs_period_us)"
fi`
}

// boxExec runs cmd in the box itself (not in its engine) and returns its
// output, trimmed; it fails the test when cmd fails.
func (e *Env) boxExec(b Box, cmd ...string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	exec, err := e.Docker.ContainerExecCreate(ctx, b.Name, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		e.t.Fatalf("exec in %s: %v", b.Name, err)
	}
	attached, err := e.Docker.ContainerExecAttach(ctx, exec.ID, container.ExecAttachOptions{})
	if err != nil {
		e.t.Fatalf("exec in %s: %v", b.Name, err)
	}
	defer attached.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, attached.Reader); err != nil {
		e.t.Fatalf("exec in %s: %v", b.Name, err)
	}
	status, err := e.Docker.ContainerExecInspect(ctx, exec.ID)
	if err != nil {
		e.t.Fatalf("exec in %s: %v", b.Name, err)
	}
	if status.ExitCode != 0 {
		e.t.Fatalf("%v in %s exited %d:\n%s", cmd, b.Name, status.ExitCode, out.String())
	}
	return strings.TrimSpace(out.String())
}

// waitBoxHTTP polls url until it answers 200: the box's port is open before
// the app inside listens.
func waitBoxHTTP(t *testing.T, url string) *Response {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		res, err := getURL(ctx, url)
		cancel()
		if err == nil && res.StatusCode == http.StatusOK {
			return res
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("status %d, body %q", res.StatusCode, res.Body)
			}
			t.Fatalf("GET %s never answered 200: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
