package lbsync

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestRendersChecksAndStartsCommand(t *testing.T) {
	f := newFixture(t)
	f.consul.setInstances(append(webs(2), tmpl.Instance{Name: "web", ID: "sick", Address: "10.9.9.9", Port: 1, Status: tmpl.StatusCritical})...)
	f.start()
	f.waitFor("nginx to start", func() bool { return f.lines(f.nginxLog, "start") == 1 })

	if got, want := f.config(), servers(2); got != want {
		t.Errorf("config = %q, want %q", got, want)
	}
	if f.checks() != 1 || f.reloads() != 0 {
		t.Errorf("checks = %d, reloads = %d; want 1 check before the start and no reload", f.checks(), f.reloads())
	}
	f.waitFor("a status", func() bool { return len(f.statuses()) > 0 })
	st := f.lastStatus()
	if !st.OK || st.Instances != 2 || st.ConfigSHA256 != sha(servers(2)) || st.LastGoodAt.IsZero() || st.Template != f.cfg.TemplateFile {
		t.Errorf("status = %+v", st)
	}
	if src, _ := os.ReadFile(f.cfg.TemplateFile); st.TemplateSHA256 != sha(string(src)) || st.Rejected {
		t.Errorf("status template_sha256 = %q, rejected = %t; want the template file's hash, false", st.TemplateSHA256, st.Rejected)
	}
	if err := f.stop(); err != nil {
		t.Errorf("Run = %v, want nil after a clean stop", err)
	}
	if f.lines(f.nginxLog, "quit") != 1 {
		t.Errorf("nginx was not stopped with SIGQUIT; its log: %q", f.config())
	}
}

// Twenty changes within the quiescence window are one render, one check
// and one reload.
func TestBurstOfChangesRendersOnce(t *testing.T) {
	f := newFixture(t)
	f.cfg.WaitMin, f.cfg.WaitMax = 300*time.Millisecond, 10*time.Second
	f.consul.setInstances(webs(1)...)
	f.start()
	f.waitFor("first status", func() bool { return len(f.statuses()) == 1 })

	for n := 2; n <= 21; n++ {
		f.consul.setInstances(webs(n)...)
	}
	f.waitFor("21 servers", func() bool { return f.config() == servers(21) })
	f.waitFor("its status", func() bool { return len(f.statuses()) == 2 })
	if f.checks() != 2 || f.reloads() != 1 {
		t.Fatalf("after a burst of 20 changes: checks = %d, reloads = %d; want 2 and 1", f.checks(), f.reloads())
	}

	// A later change renders again, proving the burst left nothing pending.
	f.consul.setInstances(webs(3)...)
	f.waitFor("3 servers", func() bool { return f.config() == servers(3) })
	f.waitFor("its status", func() bool { return len(f.statuses()) == 3 })
	if f.checks() != 3 || f.reloads() != 2 {
		t.Errorf("checks = %d, reloads = %d; want 3 and 2", f.checks(), f.reloads())
	}
	f.waitNginxReloads(2)
	if st := f.lastStatus(); !st.OK || st.Reloads != 2 || st.Instances != 3 {
		t.Errorf("status = %+v", st)
	}
}

func TestRejectedConfigKeepsLastGood(t *testing.T) {
	f := newFixture(t)
	f.consul.setInstances(webs(2)...)
	f.start()
	f.waitFor("nginx to start", func() bool { return f.lines(f.nginxLog, "start") == 1 })
	good := f.config()

	f.consul.setInstances(append(webs(2), web(3, "bad"))...)
	f.waitFor("an error status", func() bool { return !f.lastStatus().OK && len(f.statuses()) > 1 })

	st := f.lastStatus()
	if !strings.Contains(st.Error, `unknown directive "BAD"`) || !strings.Contains(st.Error, "config rejected") {
		t.Errorf("status error = %q, want nginx -t's complaint", st.Error)
	}
	if st.ConfigSHA256 != sha(good) || st.RenderedSHA256 == "" || st.RenderedSHA256 == st.ConfigSHA256 {
		t.Errorf("status = %+v, want config_sha256 of the kept config and the rejected render's hash", st)
	}
	if !st.Rejected || st.TemplateSHA256 == "" {
		t.Errorf("status = %+v, want rejected and the template's hash", st)
	}
	if f.config() != good {
		t.Errorf("config after a rejection = %q, want the last good %q", f.config(), good)
	}
	if f.reloads() != 0 {
		t.Errorf("nginx reloaded %d times for a rejected config", f.reloads())
	}
	assertNoLeftovers(t, filepath.Dir(f.out))
	if !strings.Contains(f.logs.String(), `unknown directive \"BAD\"`) {
		t.Errorf("the rejection was not logged:\n%s", f.logs.String())
	}

	// The same candidate again is not checked again, and still reported
	// as rejected.
	checks := f.checks()
	f.consul.setInstances(webs(2)...)
	f.waitFor("the good render", func() bool { return f.lastStatus().OK })
	f.consul.setInstances(append(webs(2), web(3, "bad"))...)
	f.waitFor("the rejection again", func() bool { return !f.lastStatus().OK })
	if st := f.lastStatus(); !st.Rejected || f.checks() != checks {
		t.Errorf("status = %+v after %d more checks; want rejected without a check", st, f.checks()-checks)
	}

	f.consul.setInstances(webs(3)...)
	f.waitFor("the fixed config", func() bool { return f.config() == servers(3) })
	f.waitFor("an ok status", func() bool { return f.lastStatus().OK })
	if st := f.lastStatus(); st.Rejected {
		t.Errorf("status = %+v, want rejected cleared", st)
	}
	if f.reloads() != 1 {
		t.Errorf("reloads = %d, want 1", f.reloads())
	}
	f.waitNginxReloads(1)
}

func TestFirstConfigRejectedStartsNothing(t *testing.T) {
	f := newFixture(t)
	f.consul.setInstances(web(1, "bad"))
	f.start()
	f.waitFor("an error status", func() bool { return len(f.statuses()) == 1 })
	if st := f.lastStatus(); st.OK || st.ConfigSHA256 != "" || !st.Rejected {
		t.Errorf("status = %+v", st)
	}
	if _, err := os.Stat(f.out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected first config was left at %s (err %v)", f.out, err)
	}
	if f.lines(f.nginxLog, "start") != 0 {
		t.Fatal("nginx started without a config that passed the check")
	}

	f.consul.setInstances(webs(1)...)
	f.waitFor("nginx to start", func() bool { return f.lines(f.nginxLog, "start") == 1 })
	if f.config() != servers(1) {
		t.Errorf("config = %q", f.config())
	}
}

func TestUnchangedRenderDoesNotReload(t *testing.T) {
	f := newFixture(t)
	f.consul.setInstances(webs(2)...)
	f.start()
	f.waitFor("first status", func() bool { return len(f.statuses()) == 1 })

	// Meta the template does not use changes the query's answer, not the
	// rendered bytes.
	changed := webs(2)
	changed[0].ServiceMeta = map[string]string{"version": "2"}
	f.consul.setInstances(changed...)
	f.waitFor("a second render", func() bool { return len(f.statuses()) == 2 })
	if f.checks() != 1 || f.reloads() != 0 {
		t.Errorf("checks = %d, reloads = %d; an unchanged render must do neither", f.checks(), f.reloads())
	}
	if st := f.lastStatus(); !st.OK || st.Reloads != 0 {
		t.Errorf("status = %+v", st)
	}
}

// Consul going away keeps the last good config serving with bounded
// retries; when it comes back (here having lost its state, as -dev does)
// the loop follows its answers again.
func TestConsulOutageBacksOffAndResumes(t *testing.T) {
	f := newFixture(t)
	f.cfg.Settle = 100 * time.Millisecond
	f.consul.setInstances(webs(2)...)
	f.start()
	f.waitFor("first status", func() bool { return len(f.statuses()) == 1 })
	good := f.config()

	f.consul.setDown(true, false)
	f.waitFor("the outage to be logged", func() bool { return strings.Contains(f.logs.String(), "connection refused (retrying)") })
	before := f.consul.queryCount()
	time.Sleep(time.Second)
	// With a 100ms cap a watcher retries about 10-20 times a second;
	// without backoff it would be thousands.
	if n := f.consul.queryCount() - before; n > 40 {
		t.Errorf("%d queries in a second of outage: not backing off", n)
	}
	if f.config() != good || f.lines(f.nginxLog, "reload") != 0 {
		t.Errorf("the outage changed the config or reloaded nginx")
	}
	if f.lines(f.nginxLog, "quit") != 0 {
		t.Error("nginx was stopped during the outage")
	}

	f.consul.setDown(false, true)
	f.consul.setInstances(webs(3)...)
	f.waitFor("the new instances", func() bool { return f.config() == servers(3) })
	f.waitFor("an ok status", func() bool { st := f.lastStatus(); return st.OK && st.Instances == 3 })
	if f.reloads() != 1 {
		t.Errorf("reloads = %d, want 1", f.reloads())
	}
	f.waitNginxReloads(1)
}

// A restarted Consul agent reports every check critical until it has run
// them again; the loop holds its renders meanwhile instead of emptying the
// upstream.
func TestConsulRestartSettlesBeforeRendering(t *testing.T) {
	f := newFixture(t)
	f.cfg.Settle = time.Second
	f.consul.setInstances(webs(2)...)
	f.start()
	f.waitFor("first status", func() bool { return len(f.statuses()) == 1 })

	f.consul.setDown(true, false)
	f.waitFor("the outage to be logged", func() bool { return strings.Contains(f.logs.String(), "(retrying)") })
	critical := webs(2)
	for i := range critical {
		critical[i].Status = tmpl.StatusCritical
	}
	f.consul.setInstances(critical...)
	f.consul.setDown(false, false)
	f.waitFor("consul to answer again", func() bool { return strings.Contains(f.logs.String(), "consul answers again") })
	time.Sleep(200 * time.Millisecond) // the checks run again within the settle time
	f.consul.setInstances(webs(2)...)

	f.waitFor("an ok status after the restart", func() bool {
		st := f.lastStatus()
		return len(f.statuses()) > 1 && st.OK && st.Instances == 2
	})
	if f.checks() != 1 || f.reloads() != 0 {
		t.Errorf("checks = %d, reloads = %d: the restart's transient empty set was rendered", f.checks(), f.reloads())
	}
}

// After Consul's return, more instances are served at once; fewer only once
// the settle time is over.
func TestAfterRecoveryGrowthIsImmediateShrinkWaitsForSettle(t *testing.T) {
	f := newFixture(t)
	f.cfg.Settle = time.Hour
	f.consul.setInstances(webs(2)...)
	f.start()
	f.waitFor("first status", func() bool { return len(f.statuses()) == 1 })

	f.consul.setDown(true, false)
	f.waitFor("the outage to be logged", func() bool { return strings.Contains(f.logs.String(), "(retrying)") })
	f.consul.setInstances(webs(3)...)
	f.consul.setDown(false, false)
	f.waitFor("the third instance", func() bool { return f.config() == servers(3) })

	f.consul.setInstances(webs(1)...)
	f.waitFor("a held render", func() bool {
		return strings.Contains(f.lastStatus().Error, "reports 1 of the 3 instances served passing")
	})
	if f.config() != servers(3) {
		t.Fatalf("config shrank during the settle time: %q", f.config())
	}
}

func TestHeldShrinkIsRenderedWhenSettleEnds(t *testing.T) {
	f := newFixture(t)
	f.cfg.Settle = 500 * time.Millisecond
	f.consul.setInstances(webs(3)...)
	f.start()
	f.waitFor("first status", func() bool { return len(f.statuses()) == 1 })

	f.consul.setDown(true, false)
	f.waitFor("the outage to be logged", func() bool { return strings.Contains(f.logs.String(), "(retrying)") })
	f.consul.setInstances(webs(1)...) // a worker died while Consul was away
	f.consul.setDown(false, false)
	f.waitFor("the shrink after the settle time", func() bool { return f.config() == servers(1) })
	f.waitFor("an ok status", func() bool { return f.lastStatus().OK })
}

func TestUnreachableAtStartServesEmptyCase(t *testing.T) {
	f := newFixture(t)
	f.cfg.FirstFetchTimeout = 200 * time.Millisecond
	f.consul.setDown(true, false)
	f.start()
	f.waitFor("nginx to start", func() bool { return f.lines(f.nginxLog, "start") == 1 })
	if f.config() != servers(0) {
		t.Errorf("config = %q, want the template's {{else}} case", f.config())
	}

	f.consul.setInstances(webs(2)...)
	f.consul.setDown(false, false)
	f.waitFor("the instances", func() bool { return f.config() == servers(2) })
	f.waitFor("an ok status", func() bool { return f.lastStatus().OK })
	if f.reloads() != 1 {
		t.Errorf("reloads = %d, want 1", f.reloads())
	}
	f.waitNginxReloads(1)
}

func TestTemplateFromKV(t *testing.T) {
	const key = "stackctl/test/lb/template"
	f := newFixture(t)
	f.cfg.TemplateKey = key
	f.cfg.TemplateFile = ""
	f.consul.setInstances(webs(2)...)
	f.start()
	f.waitFor("a missing-template status", func() bool { return len(f.statuses()) > 0 })
	if st := f.lastStatus(); st.OK || !strings.Contains(st.Error, "template key "+key+" does not exist") {
		t.Errorf("status = %+v", st)
	}

	f.consul.put(key, `{{range service "web"}}{{.ID}} {{end}}`)
	f.waitFor("the KV template's output", func() bool { return f.config() == "web-1 web-2 " })

	f.consul.put(key, "{{range service \"web\"}}\n{{.Adress}}{{end}}")
	f.waitFor("a template error status", func() bool { return strings.Contains(f.lastStatus().Error, "Adress") })
	if st := f.lastStatus(); !strings.Contains(st.Error, key+":2:3: at <.Adress>: can't evaluate field Adress") {
		t.Errorf("status error = %q, want the template position", st.Error)
	}
	if f.config() != "web-1 web-2 " {
		t.Errorf("a broken template replaced the config: %q", f.config())
	}

	f.consul.put(key, `{{range service "web"}}{{.Address}} {{end}}`)
	f.waitFor("the fixed template's output", func() bool { return f.config() == "10.0.0.101 10.0.0.102 " })
	f.waitFor("an ok status", func() bool { return f.lastStatus().OK })
	if f.reloads() != 1 {
		t.Errorf("reloads = %d, want 1", f.reloads())
	}
	f.waitNginxReloads(1)
}

func TestMissingTemplateKeyFallsBackToFile(t *testing.T) {
	f := newFixture(t)
	f.cfg.TemplateKey = "stackctl/test/lb/template"
	f.consul.setInstances(webs(1)...)
	f.start()
	f.waitFor("the file template's output", func() bool { return f.config() == servers(1) })
}

func TestCommandExitEndsRun(t *testing.T) {
	f := newFixture(t)
	f.cfg.Command = fakeNginxCommand(f.nginxLog, 3)
	f.consul.setInstances(webs(1)...)
	f.start()
	select {
	case err := <-f.done:
		f.done <- err
		if !isExit(err, 3, true) {
			t.Fatalf("Run = %v, want an unexpected exit with status 3", err)
		}
		var ee *ExitError
		if errors.As(err, &ee); ee.ExitCode() != 3 {
			t.Errorf("ExitCode = %d", ee.ExitCode())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run kept going after nginx died")
	}
}

func TestWithoutCommandReloadCmdRuns(t *testing.T) {
	f := newFixture(t)
	f.cfg.Command = nil
	reloadLog := filepath.Join(f.dir, "reload.log")
	f.cfg.ReloadCmd = []string{"sh", "-c", `echo reload >> "$1"`, "sh", reloadLog}
	f.consul.setInstances(webs(1)...)
	f.start()
	f.waitFor("first config", func() bool { return f.config() == servers(1) })
	f.consul.setInstances(webs(2)...)
	f.waitFor("second config", func() bool { return f.config() == servers(2) })
	// Without a child to start, the first install reloads too.
	f.waitFor("two reloads", func() bool { return f.lines(reloadLog, "reload") == 2 })
	if err := f.stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	if err := Run(t.Context(), Config{Consul: newFakeConsul(), OutPath: "x"}); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("Run without a template = %v", err)
	}
}

func assertNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "stackctl.conf" {
			t.Errorf("left behind in %s: %s", dir, e.Name())
		}
	}
}
