package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// waitTimeout bounds every wait for a container: long enough for nginx or
// Consul on a loaded two-core machine, short enough to fail a hung test.
const waitTimeout = 60 * time.Second

// ContainerSpec is what a test asks to run on its network.
type ContainerSpec struct {
	// Name is short and unique within the test; the container is <stack>-<name>.
	Name  string
	Image string
	Cmd   []string
	Env   []string
	// Ports are container ports ("5000" or "53/udp") to publish on random
	// 127.0.0.1 ports; Container.Addr finds them.
	Ports []string
	// Files maps absolute paths in the container to their contents. They are
	// copied in before the container starts, so its process sees them at once.
	Files  map[string]string
	Labels map[string]string
}

// Container is a started container of the test.
type Container struct {
	ID   string
	Name string
	// IP is the container's address on the test network.
	IP    string
	ports nat.PortMap
}

// Addr is the 127.0.0.1:port address that port ("5000" or "5000/tcp") of the
// container is published on, or "" when the spec did not publish it.
func (c *Container) Addr(port string) string {
	p, err := nat.NewPort(nat.SplitProtoPort(port))
	if err != nil {
		return ""
	}
	for _, b := range c.ports[p] {
		if b.HostPort != "" {
			return net.JoinHostPort("127.0.0.1", b.HostPort)
		}
	}
	return ""
}

// Start creates, fills and starts a container on the test network.
func (e *Env) Start(spec ContainerSpec) *Container {
	e.t.Helper()
	ctx := e.t.Context()
	name := e.Stack + "-" + spec.Name
	labels := map[string]string{StackLabel: e.Stack}
	maps.Copy(labels, spec.Labels)

	exposed, bindings, err := publishOnLoopback(spec.Ports)
	if err != nil {
		e.t.Fatalf("container %s: %v", name, err)
	}
	created, err := e.Docker.ContainerCreate(ctx,
		&container.Config{
			Image:        spec.Image,
			Cmd:          spec.Cmd,
			Env:          spec.Env,
			Labels:       labels,
			ExposedPorts: exposed,
		},
		&container.HostConfig{
			NetworkMode:  container.NetworkMode(e.Network),
			PortBindings: bindings,
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{e.Network: {}}},
		nil, name)
	if err != nil {
		e.t.Fatalf("create container %s from %s: %v", name, spec.Image, err)
	}
	if len(spec.Files) > 0 {
		if err := e.copyFiles(ctx, created.ID, spec.Files); err != nil {
			e.t.Fatalf("container %s: %v", name, err)
		}
	}
	if err := e.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		e.t.Fatalf("start container %s: %v", name, err)
	}
	info, err := e.Docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		e.t.Fatalf("inspect container %s: %v", name, err)
	}
	c := &Container{ID: created.ID, Name: name, ports: info.NetworkSettings.Ports}
	if ep := info.NetworkSettings.Networks[e.Network]; ep != nil {
		c.IP = ep.IPAddress
	}
	return c
}

func publishOnLoopback(ports []string) (nat.PortSet, nat.PortMap, error) {
	exposed := nat.PortSet{}
	bindings := nat.PortMap{}
	for _, port := range ports {
		p, err := nat.NewPort(nat.SplitProtoPort(port))
		if err != nil {
			return nil, nil, fmt.Errorf("port %q: %w", port, err)
		}
		exposed[p] = struct{}{}
		// An empty HostPort lets the engine pick a free one: tests never collide.
		bindings[p] = []nat.PortBinding{{HostIP: "127.0.0.1"}}
	}
	return exposed, bindings, nil
}

func (e *Env) copyFiles(ctx context.Context, id string, files map[string]string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for path, content := range files {
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("file %q: want an absolute path", path)
		}
		hdr := &tar.Header{Name: strings.TrimPrefix(path, "/"), Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive %s: %w", path, err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			return fmt.Errorf("archive %s: %w", path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if err := e.Docker.CopyToContainer(ctx, id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copy files: %w", err)
	}
	return nil
}

// Signal sends sig ("TERM", "QUIT", ...) to the container's main process, as
// `docker kill --signal` does.
func (e *Env) Signal(c *Container, sig string) {
	e.t.Helper()
	if err := e.Docker.ContainerKill(e.t.Context(), c.ID, sig); err != nil {
		e.t.Fatalf("signal %s to %s: %v", sig, c.Name, err)
	}
}

// Wait waits for the container to exit and returns its exit code.
func (e *Env) Wait(c *Container) int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), waitTimeout)
	defer cancel()
	statusCh, errCh := e.Docker.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case status := <-statusCh:
		if status.Error != nil {
			e.t.Fatalf("wait for %s: %s", c.Name, status.Error.Message)
		}
		return status.StatusCode
	case err := <-errCh:
		e.t.Fatalf("wait for %s to exit: %v", c.Name, err)
	}
	return -1
}

// Logs returns everything the container wrote to stdout and stderr so far.
func (e *Env) Logs(c *Container) string {
	e.t.Helper()
	logs, err := e.logs(e.t.Context(), c.ID, "all")
	if err != nil {
		e.t.Fatalf("logs of %s: %v", c.Name, err)
	}
	return logs
}

// WaitLog waits until the container's output contains text.
func (e *Env) WaitLog(c *Container, text string) {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		logs := e.Logs(c)
		if strings.Contains(logs, text) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never logged %q; its output:\n%s", c.Name, text, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *Env) logs(ctx context.Context, id, tail string) (string, error) {
	rc, err := e.Docker.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	// Without a TTY the engine multiplexes both streams into one.
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return "", err
	}
	return out.String(), nil
}
