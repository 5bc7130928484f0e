package boxes

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/docker/docker/client"
)

// EngineTimeout bounds the wait for a box's engine: it answers in about 5 s
// on an idle two-core machine, and several boxes start at once.
const EngineTimeout = 2 * time.Minute

var pingClient = &http.Client{Timeout: 2 * time.Second}

// waitEngine polls the engine's /_ping until it answers OK, and gives up at
// once when the box has stopped (its engine failed to start).
func waitEngine(ctx context.Context, docker *client.Client, box Box) error {
	ctx, cancel := context.WithTimeout(ctx, EngineTimeout)
	defer cancel()
	url := "http://" + box.Address + ":" + DockerPort + "/_ping"
	var last error
	for {
		last = ping(ctx, url)
		if last == nil {
			return nil
		}
		if c, err := docker.ContainerInspect(ctx, box.Name); err == nil && !c.State.Running {
			return fmt.Errorf("box %s stopped (exit code %d) before its engine answered: see `docker logs %s`",
				box.Name, c.State.ExitCode, box.Name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("engine of %s at %s did not answer within %s: %w (see `docker logs %s`)",
				box.Name, box.DockerHost, EngineTimeout, last, box.Name)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := pingClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("_ping answered %s", res.Status)
	}
	return nil
}
