//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/stackctl/stackctl/internal/images"
)

// failedTest is a test that has already failed, whose cleanups run when the
// outer test says so.
type failedTest struct {
	testing.TB
	cleanups []func()
	logs     []string
}

func (f *failedTest) Failed() bool      { return true }
func (f *failedTest) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *failedTest) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func (f *failedTest) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestCleanupRemovesEverythingEvenWhenTheTestFailed(t *testing.T) {
	failed := &failedTest{TB: t}
	e := New(failed)
	e.StartApp("web-1", images.PrimesV1)
	// A stopped container and a created-but-never-started one must go too.
	stopped := e.Start(ContainerSpec{Name: "stopped", Image: images.Consul, Cmd: []string{"version"}})
	e.Wait(stopped)
	_, err := e.Docker.ContainerCreate(t.Context(),
		&container.Config{Image: images.PrimesV1, Labels: map[string]string{StackLabel: e.Stack}},
		nil, nil, nil, e.Stack+"-created")
	if err != nil {
		t.Fatal(err)
	}

	failed.runCleanups()

	// A failed test shows what its containers said: that is where the cause is.
	if logs := strings.Join(failed.logs, "\n"); !strings.Contains(logs, "primes v1 listening") {
		t.Errorf("cleanup of a failed test did not show the app's output; it logged:\n%s", logs)
	}

	docker, err := newClient()
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	containers, err := docker.ContainerList(t.Context(), container.ListOptions{All: true, Filters: e.stackFilter()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers {
		t.Errorf("container %v of stack %s left behind", c.Names, e.Stack)
	}
	networks, err := docker.NetworkList(t.Context(), network.ListOptions{Filters: e.stackFilter()})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range networks {
		t.Errorf("network %s of stack %s left behind", n.Name, e.Stack)
	}
}
