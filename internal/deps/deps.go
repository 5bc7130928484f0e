//go:build tools

// Package deps pins the modules stackctl is built on while the packages that
// use them are written; it is never compiled into the binary.
package deps

import (
	_ "github.com/docker/docker/api/types/container"
	_ "github.com/docker/docker/client"
	_ "github.com/hashicorp/consul/api"
	_ "github.com/hashicorp/go-multierror"
	_ "github.com/mattn/go-isatty"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/spf13/cobra"
	_ "gopkg.in/yaml.v3"
)
