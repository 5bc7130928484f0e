package main

import (
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want config
	}{
		{
			name: "defaults",
			want: config{addr: ":5000", digits: defaultDigits, version: "dev"},
		},
		{
			name: "everything set",
			env: map[string]string{
				"PORT": "8080", "PRIME_DIGITS": "8", "PRIME_WORK": "5s",
				"VERSION": "v2", "HEALTHZ_FAIL": "1",
			},
			want: config{addr: ":8080", digits: 8, work: 5 * time.Second, version: "v2", healthzFail: true},
		},
		{
			name: "healthz fail off",
			env:  map[string]string{"HEALTHZ_FAIL": "0"},
			want: config{addr: ":5000", digits: defaultDigits, version: "dev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(mapEnv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadConfigRejects(t *testing.T) {
	for _, env := range []map[string]string{
		{"PORT": "http"}, {"PORT": "0"}, {"PORT": "65536"},
		{"PRIME_DIGITS": "0"}, {"PRIME_DIGITS": "19"}, {"PRIME_DIGITS": "many"},
		{"PRIME_WORK": "5"}, {"PRIME_WORK": "-1s"},
	} {
		if _, err := loadConfig(mapEnv(env)); err == nil {
			t.Errorf("loadConfig(%v): want error", env)
		}
	}
}

func TestLoadConfigBuildTimeDefaults(t *testing.T) {
	setBuildVars(t, "v1", "1")
	got, err := loadConfig(mapEnv(map[string]string{"HEALTHZ_FAIL": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.version != "v1" {
		t.Errorf("version = %q, want the build-time v1", got.version)
	}
	if !got.healthzFail {
		t.Error("healthzFail = false: a bad build must fail its check whatever the environment says")
	}
}

func setBuildVars(t *testing.T, v, unhealthy string) {
	oldVersion, oldUnhealthy := version, alwaysUnhealthy
	version, alwaysUnhealthy = v, unhealthy
	t.Cleanup(func() { version, alwaysUnhealthy = oldVersion, oldUnhealthy })
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}
