package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/stackctl/stackctl/internal/images"
)

// Require fails the test, saying what to do, unless the Docker engine answers
// and every image `make images` builds is present. End-to-end tests fail
// rather than skip: a suite that silently skips proves nothing.
func Require(t testing.TB) {
	t.Helper()
	docker, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := docker.Ping(ctx); err != nil {
		t.Fatalf("Docker engine not reachable at %s: %v\n"+
			"start it with `service docker start` (or run `dockerd` as root), "+
			"or set DOCKER_HOST to an engine that is running", docker.DaemonHost(), err)
	}
	var missing []string
	for _, image := range images.All() {
		_, err := docker.ImageInspect(ctx, image)
		switch {
		case client.IsErrNotFound(err):
			missing = append(missing, image)
		case err != nil:
			t.Fatalf("inspect image %s: %v", image, err)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("images missing: %s\nrun `make images` to build them (no registry is used)",
			strings.Join(missing, ", "))
	}
}

// newClient honours DOCKER_HOST and friends, and negotiates the API version
// because the engine may be older than the SDK (Docker 20.10 speaks 1.41).
func newClient() (*client.Client, error) {
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return docker, nil
}
