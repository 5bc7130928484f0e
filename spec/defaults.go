package spec

import "time"

// Defaults applied to what a stack file leaves out. The README's stack file
// reference lists the same values; keep them in step.
const (
	DefaultConsulImage = "stackctl.local/consul:1.14.8"
	DefaultLBImage     = "stackctl.local/nginx:1.30"

	DefaultReplicas   = 1
	DefaultDockerfile = "Dockerfile"

	DefaultCheckHTTP     = "/healthz"
	DefaultCheckInterval = 5 * time.Second
	// DefaultCheckTimeout applies when the interval is longer; otherwise the
	// timeout defaults to the interval, since it may not exceed it.
	DefaultCheckTimeout = 2 * time.Second

	DefaultParallelism     = 1
	DefaultOrder           = OrderStartFirst
	DefaultHealthyDeadline = 60 * time.Second
	DefaultOnFailure       = OnFailureRollback

	// DefaultHostIP is where ports without a host address are published:
	// only loopback, unless the stack file says otherwise.
	DefaultHostIP = "127.0.0.1"
)

// Limits of the format.
const (
	// MaxFileSize is the largest stack file (and LB template) read.
	MaxFileSize = 1 << 20
	// MaxReplicas is the most workers one service may have.
	MaxReplicas = 1000
	// MinMemory is Docker's smallest memory limit.
	MinMemory = 6 << 20
	// MinCPUs and MaxCPUs bound the cpus limit, as Docker does.
	MinCPUs = 0.01
	MaxCPUs = 1024
	// MinCheckInterval: Consul runs no check more often than once a second.
	MinCheckInterval = time.Second
	// MinDeregisterAfter is Consul's shortest deregister_critical_service_after.
	MinDeregisterAfter = time.Minute
	// MaxConsulServers is the most hosts consul.servers may name: every
	// write waits for a majority of the servers, and past five more of them
	// slow every write more than they add to what the cluster survives.
	MaxConsulServers = 5

	// maxNodes bounds the YAML nodes in one file. Aliases are refused, so
	// this is the size of the tree as written; no stack needs this many.
	maxNodes = 100_000
)

// DefaultImage is the tag a service built from source gets when the stack
// file names no image.
func DefaultImage(stack, service string) string { return stack + "-" + service + ":latest" }
