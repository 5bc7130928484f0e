package boxes

import (
	"github.com/docker/docker/api/types/container"
)

// DockerPort is the port each box's engine listens on, in plain HTTP.
const DockerPort = "2375"

// engineDir is where the box's engine keeps its images and containers.
const engineDir = "/var/lib/docker"

// engineCommand starts the box's Docker engine. vfs is the one storage driver
// that works on any filesystem and needs no mounts of its own. --tls=false
// says plain tcp is meant: without it dockerd waits 15 s before listening,
// to warn whoever did it by mistake. A relative --cgroup-parent puts the
// containers' cgroups under the box's own, so the host's engine removes
// them with the box; the default (/docker) would leave them behind.
//
// --dns: the engine drops the box's only nameserver (127.0.0.11, the host
// engine's, unreachable from the containers inside) and would give its
// containers public resolvers instead. The boxes' gateway, the host on the
// private network, keeps their lookups on this machine; names of
// containers on the box's own networks still resolve (the box's engine
// answers those itself), and nothing in a box needs any other name.
func engineCommand(gateway string) []string {
	return []string{
		"dockerd",
		"--storage-driver", "vfs",
		"-H", "unix:///var/run/docker.sock",
		"-H", "tcp://0.0.0.0:" + DockerPort,
		"--tls=false",
		"--cgroup-parent", "box",
		"--dns", gateway,
	}
}

// boxConfig is the box container: the engine's command, the box's labels
// and a volume for the engine's state.
func boxConfig(name, image, gateway string, labels map[string]string) *container.Config {
	return &container.Config{
		Image:    image,
		Hostname: name,
		Cmd:      engineCommand(gateway),
		Labels:   labels,
		// An anonymous volume: the engine's images and containers live on
		// the host's filesystem rather than in the box's copy-on-write
		// layer, and go with the box (removed with its volumes).
		Volumes: map[string]struct{}{engineDir: {}},
	}
}

// hostConfig is the part of `docker run` that makes a container able to run
// a Docker engine, on a kernel whose capability bounding set lacks
// CAP_SYS_RESOURCE, where --privileged fails. docs/boxes.md says what each
// line is for and what fails without it.
func hostConfig(networkName string) *container.HostConfig {
	return &container.HostConfig{
		NetworkMode: container.NetworkMode(networkName),
		CapAdd:      []string{"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "MKNOD"},
		SecurityOpt: []string{"seccomp=unconfined", "apparmor=unconfined"},
		// --security-opt systempaths=unconfined is the CLI's name for these
		// two: empty lists (not nil, which means Docker's defaults) leave
		// /proc/sys and the other system paths writable and unmasked.
		MaskedPaths:   []string{},
		ReadonlyPaths: []string{},
		Binds:         []string{"/sys/fs/cgroup:/sys/fs/cgroup:rw"},
		Tmpfs:         map[string]string{"/run": ""},
		// docker-init as PID 1 reaps the shims that outlive their parent
		// and passes `docker stop`'s SIGTERM on to dockerd.
		Init: boolPtr(true),
	}
}

func boolPtr(b bool) *bool { return &b }
