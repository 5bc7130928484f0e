package images

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func TestNamesMatchImagesEnv(t *testing.T) {
	env := readEnvFile(t, "../../scripts/images.env")
	want := map[string]string{
		"CONSUL_IMAGE":     Consul,
		"NGINX_BASE_IMAGE": NginxBase,
		"NGINX_IMAGE":      Nginx,
		"PRIMES_V1_IMAGE":  PrimesV1,
		"PRIMES_V2_IMAGE":  PrimesV2,
		"PRIMES_BAD_IMAGE": PrimesBad,
		"BOX_IMAGE":        Box,
		"STACKCTL_IMAGE":   Stackctl,
	}
	for key, name := range want {
		if env[key] != name {
			t.Errorf("scripts/images.env %s=%q, internal/images says %q", key, env[key], name)
		}
	}
	if len(env) != len(want) {
		t.Errorf("scripts/images.env names %d images, internal/images %d: add the new one to both", len(env), len(want))
	}
	if len(All()) != len(want) {
		t.Errorf("All() lists %d images, want %d", len(All()), len(want))
	}
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=value", path, line)
		}
		env[key] = value
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}
