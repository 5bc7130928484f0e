package main

import (
	"context"
	"fmt"

	"github.com/stackctl/stackctl/internal/dockerapi"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// stackContainers loads the stack file and lists the containers its stack
// owns, for the commands that look at containers only (logs, ui). The
// caller closes the returned client; errors are already exit errors.
func stackContainers(ctx context.Context, file stackFile) (*spec.Stack, *dockerapi.Client, []plan.Container, error) {
	stack, _, err := loadStack(file)
	if err != nil {
		return nil, nil, nil, exitWith(exitFailure, err)
	}
	docker, err := openDocker()
	if err != nil {
		return nil, nil, nil, exitWith(exitFailure, err)
	}
	cs, err := docker.ListContainers(ctx, stack.Name)
	if err != nil {
		docker.Close()
		return nil, nil, nil, exitWith(exitFailure, fmt.Errorf("cannot list the containers of stack %s at %s: %w", stack.Name, docker.Endpoint(), err))
	}
	return stack, docker, cs, nil
}
