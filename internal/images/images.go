// Package images names the locally built images that tests and the demo run.
// They are built by `make images` (scripts/images.sh), never pulled: there is
// no registry to pull them from.
package images

// Keep in step with scripts/images.env; TestNamesMatchImagesEnv checks it.
const (
	Consul    = "stackctl.local/consul:1.14.8"
	NginxBase = "stackctl.local/nginx-base:sid"
	Nginx     = "stackctl.local/nginx:1.30"
	PrimesV1  = "stackctl.local/primes:v1"
	PrimesV2  = "stackctl.local/primes:v2"
	PrimesBad = "stackctl.local/primes:bad"
	// Box is a Debian with a Docker engine: the test machines of internal/boxes.
	Box = "stackctl.local/box:bookworm"
	// Stackctl is the static stackctl binary alone: a stack's reconcile
	// agent (spec.DefaultReconcileImage).
	Stackctl = "stackctl.local/stackctl:dev"
)

// All lists every image `make images` builds.
func All() []string {
	return []string{Consul, NginxBase, Nginx, PrimesV1, PrimesV2, PrimesBad, Box, Stackctl}
}
