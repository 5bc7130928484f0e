// Command boxes starts and removes the test machines of `make boxes`
// (scripts/boxes.sh):
//
//	go run ./internal/boxes/cmd/boxes up N   # prints "NAME tcp://IP:2375" per box
//	go run ./internal/boxes/cmd/boxes down
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/docker/docker/client"

	"github.com/stackctl/stackctl/internal/boxes"
	"github.com/stackctl/stackctl/internal/images"
)

const usage = "usage: boxes up N | boxes down"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "boxes:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer docker.Close()
	set := boxes.Default(images.Box)
	switch {
	case len(args) == 2 && args[0] == "up":
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return fmt.Errorf("N=%q is not a number", args[1])
		}
		return up(ctx, docker, set, n)
	case len(args) == 1 && args[0] == "down":
		if err := boxes.Down(ctx, docker, set); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "boxes: removed the boxes of %s and the network\n", set.Name)
		return nil
	}
	return fmt.Errorf("%s", usage)
}

func up(ctx context.Context, docker *client.Client, set boxes.Set, n int) error {
	start := time.Now()
	fmt.Fprintf(os.Stderr, "boxes: starting %d boxes on network %s\n", n, set.Name)
	started, err := boxes.Up(ctx, docker, set, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "boxes: %d engines answer after %.1f s\n", n, time.Since(start).Seconds())
	for _, b := range started {
		fmt.Printf("%s %s\n", b.Name, b.DockerHost)
	}
	return nil
}
