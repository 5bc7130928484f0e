// Package dockerapi is stackctl's adapter to the Docker engine: the only
// package that imports the Docker client library. It speaks stackctl's own
// types (plan.Container, plan.Network, ...) to the rest of the code.
//
// Reading lives in read.go; apply adds its mutating methods (create, start,
// stop, rename, remove containers, create networks) in files of their own on
// the same Client.
package dockerapi

import (
	"os"

	"github.com/docker/docker/client"

	"github.com/stackctl/stackctl/plan"
)

// Client talks to one Docker engine.
type Client struct {
	api      *client.Client
	endpoint plan.Endpoint
}

var _ plan.DockerReader = (*Client)(nil)

// New connects as the docker CLI does without contexts: DOCKER_HOST,
// DOCKER_API_VERSION, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY are honoured,
// and the API version is negotiated with the engine (stackctl supports
// engines from API 1.41, Docker 20.10). No request is made yet.
func New() (*Client, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	via := "the default socket; set DOCKER_HOST to use another engine"
	if os.Getenv(client.EnvOverrideHost) != "" {
		via = "DOCKER_HOST"
	}
	return &Client{api: api, endpoint: plan.Endpoint{Address: api.DaemonHost(), Via: via}}, nil
}

// Endpoint says where the engine is and why there, for error messages.
func (c *Client) Endpoint() plan.Endpoint { return c.endpoint }

// Close releases the client's connections.
func (c *Client) Close() error { return c.api.Close() }
