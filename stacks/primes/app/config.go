package main

import (
	"fmt"
	"strconv"
	"time"
)

// Set with -ldflags "-X main.version=v1 -X main.alwaysUnhealthy=1" so that one
// source tree yields the v1, v2 and bad images without any runtime setup.
var (
	version         = "dev"
	alwaysUnhealthy = ""
)

// defaultDigits keeps a request at about 1-2 ms of CPU: enough to show load
// spreading across replicas without starving a small machine.
const defaultDigits = 13

type config struct {
	addr        string
	digits      int
	work        time.Duration
	version     string
	healthzFail bool
}

func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		addr:        ":5000",
		digits:      defaultDigits,
		version:     version,
		healthzFail: alwaysUnhealthy != "",
	}
	if v := getenv("PORT"); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			return config{}, fmt.Errorf("PORT=%q: want a port number 1-65535", v)
		}
		cfg.addr = ":" + v
	}
	if v := getenv("PRIME_DIGITS"); v != "" {
		digits, err := strconv.Atoi(v)
		if err != nil || digits < 1 || digits > maxDigits {
			return config{}, fmt.Errorf("PRIME_DIGITS=%q: want a whole number 1-%d", v, maxDigits)
		}
		cfg.digits = digits
	}
	if v := getenv("PRIME_WORK"); v != "" {
		work, err := time.ParseDuration(v)
		if err != nil || work < 0 {
			return config{}, fmt.Errorf("PRIME_WORK=%q: want a duration such as 5s or 250ms", v)
		}
		cfg.work = work
	}
	if v := getenv("VERSION"); v != "" {
		cfg.version = v
	}
	if v := getenv("HEALTHZ_FAIL"); v != "" && v != "0" && v != "false" {
		cfg.healthzFail = true
	}
	return cfg, nil
}
