//go:build race

package spec

// slowdown scales time limits in tests: the race detector makes code
// several times slower.
const slowdown = 10
