// Package lbsync keeps an nginx config in step with Consul, as
// consul-template does in exec mode: blocking queries watch everything the
// last render read (and the template itself, in Consul KV); a quiescence
// window turns a burst of changes into one render; a render whose bytes
// did not change does nothing; a changed one is written atomically, checked
// with nginx -t, and only then loaded with a reload of the nginx it
// supervises. Rejected configs and Consul failures never replace the last
// good config; they are logged and written as JSON status to Consul KV.
package lbsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// Run renders, installs and reloads until ctx ends or the supervised
// command exits. When ctx ends it stops the command with StopSignal and
// returns nil if it exited cleanly, else an *ExitError with its status. A
// command that exits on its own ends Run with an *ExitError too.
func Run(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	s, err := newSyncer(cfg)
	if err != nil {
		return err
	}
	if cfg.DNSAddr != "" {
		// Bound before nginx starts, so that its first query is answered;
		// stopped after nginx, which asks until it exits.
		dns, err := startDNS(ctx, cfg, s.log)
		if err != nil {
			return err
		}
		defer dns.stop()
	}
	return s.run(ctx)
}

// syncer is the state of one Run; only its run goroutine touches it.
type syncer struct {
	cfg  Config
	log  *log.Logger
	w    *watcher
	inst *installer
	kid  *child

	parsedSrc          string
	parsed             *tmpl.Template
	prevDeps           []dep
	installedSum       string // of the config in place (passed the check)
	installedInstances int    // the passing instances it was rendered from
	held               bool   // a shrinking render was held after Consul recovered
	rejectedSum        string // of the last candidate the check rejected ...
	rejectedErr        error  // ... and why, so it is not checked again
	lastGoodAt         time.Time
	reloads            int
	statusFailed       bool // the last status write failed; log recovery once
}

func newSyncer(cfg Config) (*syncer, error) {
	inst, err := newInstaller(cfg.OutPath, cfg.CheckCmd, func(ctx context.Context, argv []string) error {
		ctx, cancel := context.WithTimeout(ctx, cfg.CheckTimeout)
		defer cancel()
		return runCommand(ctx, argv)
	})
	if err != nil {
		return nil, err
	}
	return &syncer{cfg: cfg, log: log.New(cfg.Stderr, "stackctl lb: ", log.LstdFlags), inst: inst}, nil
}

func (s *syncer) run(ctx context.Context) error {
	watchCtx, stopWatching := context.WithCancel(ctx)
	s.w = newWatcher(watchCtx, s.cfg.Consul, s.cfg, s.log)
	defer func() {
		stopWatching()
		s.w.stop()
	}()
	q := newQuiescence(s.cfg.WaitMin, s.cfg.WaitMax)
	defer q.stop()
	var settle <-chan time.Time // runs while a recovered Consul settles

	if err := s.cycle(ctx, false); err != nil {
		return err
	}
	for {
		due := false
		select {
		case <-ctx.Done():
			return s.stop()
		case <-s.childDone():
			return s.kid.exited()
		case <-s.w.changed:
			if s.cfg.WaitMin > 0 {
				q.touch(time.Now())
				continue
			}
			due = true
		case <-q.C():
			q.fired()
			due = true
		case <-settle:
			settle = nil
			due = true
		}
		if !due {
			continue
		}
		// A Consul agent that restarted reports every restored check
		// critical until it has run it again (up to a check interval), so
		// for Settle after Consul answers again a render that would shrink
		// the upstream is held, and tried again when Settle ends.
		holdUntil := s.w.recoveredAt().Add(s.cfg.Settle)
		if hold := time.Until(holdUntil); hold > 0 && settle == nil {
			settle = time.After(hold)
		}
		if err := s.cycleIfDue(ctx, holdUntil); err != nil {
			return err
		}
	}
}

func (s *syncer) childDone() <-chan struct{} {
	if s.kid == nil {
		return nil
	}
	return s.kid.done
}

func (s *syncer) stop() error {
	if s.kid == nil {
		return nil
	}
	s.log.Printf("stopping %s with %s", s.kid.name, s.cfg.StopSignal)
	return s.kid.stop(s.cfg.StopSignal, s.cfg.StopTimeout)
}

// cycleIfDue renders when a view changed since the last render, or a
// render was held; shrinking renders are held until holdUntil.
func (s *syncer) cycleIfDue(ctx context.Context, holdUntil time.Time) error {
	if !s.w.dirty() && !s.held {
		return nil
	}
	return s.cycle(ctx, time.Now().Before(holdUntil))
}

// cycle renders once, installs and reloads when the output changed, and
// publishes the outcome. Only a failure to start the supervised command
// ends the loop; everything else is reported and waited out.
func (s *syncer) cycle(ctx context.Context, holdShrink bool) error {
	st, fatal := s.renderAndInstall(ctx, holdShrink)
	if ctx.Err() != nil {
		return nil
	}
	st.RenderedAt = time.Now().UTC()
	st.ConfigSHA256 = s.installedSum
	st.LastGoodAt = s.lastGoodAt
	st.Reloads = s.reloads
	if st.RenderedSHA256 == st.ConfigSHA256 {
		st.RenderedSHA256 = ""
	}
	if st.OK {
		if errs := s.w.errors(); len(errs) > 0 {
			st.OK = false
			st.Error = joinErrors(errs) + " (serving the last good config)"
		}
	}
	if !st.OK {
		s.log.Printf("%s", st.Error)
	}
	s.publish(ctx, st)
	return fatal
}

func (s *syncer) publish(ctx context.Context, st Status) {
	if s.cfg.StatusKey == "" {
		return
	}
	err := publishStatus(ctx, s.cfg.Consul, s.cfg.StatusKey, st)
	switch {
	case err != nil && !s.statusFailed:
		s.log.Printf("status not written to %s: %v", s.cfg.StatusKey, err)
	case err == nil && s.statusFailed:
		s.log.Printf("status written to %s again", s.cfg.StatusKey)
	}
	s.statusFailed = err != nil
}

func (s *syncer) renderAndInstall(ctx context.Context, holdShrink bool) (Status, error) {
	s.held = false
	name, src, err := s.templateSource(ctx)
	st := Status{Template: name}
	if err != nil {
		return failed(st, err), nil
	}
	st.TemplateSHA256 = TemplateSum(src)
	t, err := s.parse(name, src)
	if err != nil {
		return failed(st, err), nil
	}
	data := newCacheData(s.w, s.cfg.FirstFetchTimeout, s.installedSum == "")
	out, deps, err := t.Render(ctx, data)
	s.follow(deps, err == nil)
	st.Instances = len(data.instances)
	if err != nil {
		return failed(st, fmt.Errorf("render: %w", err)), nil
	}
	sum := sha256.Sum256(out)
	st.RenderedSHA256 = hex.EncodeToString(sum[:])
	switch {
	case st.RenderedSHA256 == s.installedSum:
		return s.degradedOr(st, data), nil
	case st.RenderedSHA256 == s.rejectedSum:
		return failed(st, s.rejectedErr), nil
	case holdShrink && st.Instances < s.installedInstances:
		s.held = true
		return failed(st, fmt.Errorf("consul is back and reports %d of the %d instances served passing; waiting up to %s for its restarted checks before removing any", st.Instances, s.installedInstances, s.cfg.Settle)), nil
	}
	if err := s.inst.install(ctx, out); err != nil {
		err = fmt.Errorf("%s kept: %w", s.cfg.OutPath, err)
		if errors.Is(err, ErrRejected) {
			s.rejectedSum, s.rejectedErr = st.RenderedSHA256, err
		}
		return failed(st, err), nil
	}
	s.installedSum, s.installedInstances, s.lastGoodAt = st.RenderedSHA256, st.Instances, time.Now().UTC()
	if err := s.load(ctx); err != nil {
		var fatal *startError
		if errors.As(err, &fatal) {
			return failed(st, err), err
		}
		return failed(st, err), nil
	}
	s.log.Printf("installed %s (%d instances, sha256 %.12s)", s.cfg.OutPath, st.Instances, st.RenderedSHA256)
	return s.degradedOr(st, data), nil
}

func (s *syncer) degradedOr(st Status, data *cacheData) Status {
	if data.degraded != nil {
		return failed(st, fmt.Errorf("rendered without Consul data, serving the template's empty case: %w", data.degraded))
	}
	st.OK = true
	return st
}

func failed(st Status, err error) Status {
	st.OK, st.Error, st.Rejected = false, err.Error(), errors.Is(err, ErrRejected)
	return st
}

// follow points the watcher at what the render read. A failed render may
// have stopped half way, so it keeps what the last one read too.
func (s *syncer) follow(deps tmpl.Deps, complete bool) {
	keep := depsOf(deps)
	if s.cfg.TemplateKey != "" {
		keep = append(keep, dep{kind: depKey, name: s.cfg.TemplateKey})
	}
	if !complete {
		keep = append(keep, s.prevDeps...)
	}
	s.w.retain(keep)
	s.prevDeps = keep
}

// templateSource returns the template's name and text: the KV key's value,
// else the file's.
func (s *syncer) templateSource(ctx context.Context) (name, src string, err error) {
	var kvErr error
	if s.cfg.TemplateKey != "" {
		data, err := s.w.view(dep{kind: depKey, name: s.cfg.TemplateKey}).await(ctx, s.cfg.FirstFetchTimeout)
		switch kv, _ := data.(keyValue); {
		case err != nil:
			kvErr = fmt.Errorf("template key %s: %w", s.cfg.TemplateKey, err)
		case kv.exists:
			return s.cfg.TemplateKey, string(kv.value), nil
		default:
			kvErr = fmt.Errorf("template key %s does not exist in Consul KV (stackctl apply writes it)", s.cfg.TemplateKey)
		}
	}
	if s.cfg.TemplateFile == "" {
		return s.cfg.TemplateKey, "", kvErr
	}
	b, err := os.ReadFile(s.cfg.TemplateFile)
	if err != nil {
		return s.cfg.TemplateFile, "", errors.Join(kvErr, fmt.Errorf("template: %w", err))
	}
	return s.cfg.TemplateFile, string(b), nil
}

func (s *syncer) parse(name, src string) (*tmpl.Template, error) {
	if s.parsed != nil && s.parsed.Name() == name && s.parsedSrc == src {
		return s.parsed, nil
	}
	t, err := tmpl.Parse(name, src)
	if err != nil {
		return nil, err
	}
	s.parsed, s.parsedSrc = t, src
	return t, nil
}

// load makes the server serve the installed config: the first time by
// starting it, then by reloading it.
func (s *syncer) load(ctx context.Context) error {
	switch {
	case s.kid == nil && len(s.cfg.Command) > 0:
		kid, err := startChild(s.cfg.Command, s.cfg.Stdout, s.cfg.Stderr)
		if err != nil {
			return &startError{err}
		}
		s.kid = kid
		s.log.Printf("started %s", strings.Join(s.cfg.Command, " "))
		return nil
	case len(s.cfg.ReloadCmd) > 0:
		ctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
		defer cancel()
		if err := runCommand(ctx, s.cfg.ReloadCmd); err != nil {
			return fmt.Errorf("reload with %s: %w", strings.Join(s.cfg.ReloadCmd, " "), err)
		}
	case s.kid != nil:
		if err := s.kid.signal(syscall.SIGHUP); err != nil {
			return err
		}
		// Said here because nginx's own "reconfiguring" line needs its
		// error_log at notice, which a user's whole nginx.conf may not set.
		s.log.Printf("reloading %s (SIGHUP to pid %d)", s.kid.name, s.kid.cmd.Process.Pid)
	default:
		return nil
	}
	s.reloads++
	return nil
}

// startError is a failure to start the supervised command, which ends Run;
// a failed reload only fails the cycle.
type startError struct{ error }

func (e *startError) Unwrap() error { return e.error }

func joinErrors(errs []error) string {
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	slices.Sort(msgs)
	return strings.Join(msgs, "; ")
}
