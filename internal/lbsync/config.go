package lbsync

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// Config says what to render, where to put it, how to check it and what to
// run. Zero durations take the defaults below.
type Config struct {
	Consul Consul

	// TemplateKey is the Consul KV path holding the template (stackctl
	// apply writes it); it is watched like any other dependency.
	// TemplateFile is read when TemplateKey is empty, missing from KV, or
	// Consul cannot be reached at start. At least one is required.
	TemplateKey  string
	TemplateFile string

	// OutPath is the file nginx includes. It only ever holds a config that
	// passed CheckCmd, except between installing a candidate and restoring
	// the last good one after the check rejects it — a window in which the
	// loop, the only sender of reloads, sends none.
	OutPath string

	// StatusKey, when set, receives a JSON Status after every render.
	StatusKey string

	// WaitMin and WaitMax are consul-template's `wait`: a render happens
	// once no change has arrived for WaitMin, and at the latest WaitMax
	// after the first change of a burst. WaitMin 0 renders on every change.
	WaitMin time.Duration
	WaitMax time.Duration

	// CheckCmd runs with the candidate in place (nginx -t); a non-zero
	// exit rejects it. Empty: no check.
	CheckCmd []string
	// ReloadCmd runs to make the server load a new config. Empty: SIGHUP
	// to Command's process.
	ReloadCmd []string
	// Command is the server to supervise (nginx -g 'daemon off;'). It is
	// started after the first config is installed; Run ends when it exits.
	// Empty: no child, Run ends with ctx.
	Command []string

	StopSignal  os.Signal     // sent to Command when ctx ends; default SIGQUIT (nginx: graceful stop)
	StopTimeout time.Duration // then SIGKILL; default 30s

	// Settle is how long after Consul answers again, following a failure,
	// a render that would serve fewer instances is held: a restarted
	// Consul agent reports every check critical until it has run it
	// again, up to a check interval plus timeout later, and rendering
	// that would empty the upstream. Renders that keep or grow it are not
	// held. Default 10s (stackctl's default check: 5s interval, 2s
	// timeout); negative: no hold.
	Settle time.Duration

	// DNSAddr, when set, is a host:port on which Run answers DNS queries
	// (UDP and TCP) for the passing instances of Consul services, from
	// its own blocking queries with its own token (see dnsserver.go): the
	// resolver of an nginx that resolves its upstreams itself, where
	// Consul's DNS interface would answer with its agent's default token.
	DNSAddr string
	// DNSMaxServices bounds the services the DNS responder watches, so
	// that queries for many names cannot start as many watches; default 64.
	DNSMaxServices int

	BlockWait         time.Duration // wait time of blocking queries; default 60s
	FirstFetchTimeout time.Duration // how long a render waits for a new dependency's first answer; default 5s
	BackoffMin        time.Duration // first retry delay after a Consul error; default 100ms
	BackoffMax        time.Duration // retry delay cap; default 2s, so the loop resumes soon after Consul does
	CheckTimeout      time.Duration // for CheckCmd and ReloadCmd; default 30s

	Stdout io.Writer // the child's stdout; default os.Stdout
	Stderr io.Writer // log lines and the child's stderr; default os.Stderr
}

// ErrNoTemplate is returned by Run when neither TemplateKey nor
// TemplateFile is set.
var ErrNoTemplate = errors.New("lb: no template: set a template key or a template file")

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Consul == nil:
		return c, errors.New("lb: no Consul client")
	case c.TemplateKey == "" && c.TemplateFile == "":
		return c, ErrNoTemplate
	case c.OutPath == "":
		return c, errors.New("lb: no output path")
	case c.WaitMax > 0 && c.WaitMax < c.WaitMin:
		return c, errors.New("lb: wait max is shorter than wait min")
	}
	setDefault(&c.WaitMax, 4*c.WaitMin)
	setDefault(&c.StopTimeout, 30*time.Second)
	setDefault(&c.Settle, 10*time.Second)
	setDefault(&c.BlockWait, 60*time.Second)
	setDefault(&c.FirstFetchTimeout, 5*time.Second)
	setDefault(&c.BackoffMin, 100*time.Millisecond)
	setDefault(&c.BackoffMax, 2*time.Second)
	setDefault(&c.CheckTimeout, 30*time.Second)
	if c.DNSMaxServices <= 0 {
		c.DNSMaxServices = 64
	}
	if c.StopSignal == nil {
		c.StopSignal = syscall.SIGQUIT
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	return c, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}
