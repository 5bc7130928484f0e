package lbsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/tmpl"
)

// TestMain lets the test binary stand in for nginx: run as
// "<test binary> fake-nginx LOG EXIT", it appends "start", "reload" (on
// SIGHUP) and "quit" (on SIGQUIT, then exits 0) to LOG; with EXIT > 0 it
// exits with that status on its own after a moment.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "fake-nginx" {
		fakeNginx(os.Args[2], os.Args[3])
		return
	}
	os.Exit(m.Run())
}

// fakeNginxCommand starts the fake with SIGHUP and SIGQUIT ignored until
// it has called signal.Notify, as nginx ignores nothing until its handlers
// are in place: a signal sent too early is lost, and the test sees it.
func fakeNginxCommand(logPath string, exit int) []string {
	return []string{"sh", "-c", `trap '' HUP QUIT; exec "$0" "$@"`, os.Args[0], "fake-nginx", logPath, strconv.Itoa(exit)}
}

func fakeNginx(logPath, exit string) {
	appendLine := func(s string) {
		f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			os.Exit(99)
		}
		fmt.Fprintln(f, s)
		f.Close()
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGQUIT)
	appendLine("start")
	code, _ := strconv.Atoi(exit)
	var exitSoon <-chan time.Time
	if code > 0 {
		exitSoon = time.After(200 * time.Millisecond)
	}
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGQUIT {
				appendLine("quit")
				os.Exit(0)
			}
			appendLine("reload")
		case <-exitSoon:
			os.Exit(code)
		}
	}
}

// fixture is one Run against a fake Consul, with a fake nginx, a shell
// check command that rejects configs containing BAD, and captured logs.
type fixture struct {
	t        *testing.T
	consul   *fakeConsul
	dir      string
	out      string
	nginxLog string
	checkLog string
	logs     *syncBuffer
	cfg      Config
	cancel   context.CancelFunc
	done     chan error
}

const testTemplate = `upstream web { {{range service "web"}}server {{.Address}}:{{.Port}};{{else}}server 127.0.0.1:65535 down;{{end}} }
{{range service "web"}}{{if .Tags.Contains "bad"}}BAD {{.ID}}
{{end}}{{end}}`

const statusKey = "stackctl/test/lb/status"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		t: t, consul: newFakeConsul(), dir: dir,
		out:      filepath.Join(dir, "conf.d", "stackctl.conf"),
		nginxLog: filepath.Join(dir, "nginx.log"),
		checkLog: filepath.Join(dir, "check.log"),
		logs:     &syncBuffer{},
	}
	tmplFile := filepath.Join(dir, "nginx.ctmpl")
	if err := os.WriteFile(tmplFile, []byte(testTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	check := `if grep -q BAD "$1"; then echo "nginx: [emerg] unknown directive \"BAD\" in $1:2" >&2; exit 1; fi; echo check >> "$2"`
	f.cfg = Config{
		Consul:            f.consul,
		TemplateFile:      tmplFile,
		OutPath:           f.out,
		StatusKey:         statusKey,
		CheckCmd:          []string{"sh", "-c", check, "sh", f.out, f.checkLog},
		Command:           fakeNginxCommand(f.nginxLog, 0),
		FirstFetchTimeout: 2 * time.Second,
		BackoffMin:        10 * time.Millisecond,
		BackoffMax:        100 * time.Millisecond,
		BlockWait:         time.Minute,
		StopTimeout:       10 * time.Second,
		Stdout:            f.logs,
		Stderr:            f.logs,
	}
	return f
}

func (f *fixture) start() {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- Run(ctx, f.cfg) }()
	f.t.Cleanup(func() {
		cancel()
		select {
		case <-f.done:
		case <-time.After(20 * time.Second):
			f.t.Error("Run did not return after cancel")
		}
	})
}

// stop cancels Run and returns its error.
func (f *fixture) stop() error {
	f.cancel()
	select {
	case err := <-f.done:
		f.done <- err // for Cleanup
		return err
	case <-time.After(20 * time.Second):
		f.t.Fatal("Run did not return after cancel")
		return nil
	}
}

func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s\nlogs:\n%s", what, f.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) config() string {
	b, _ := os.ReadFile(f.out)
	return string(b)
}

func (f *fixture) lines(path, word string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), word+"\n")
}

// reloads is the loop's own count, published with every status.
func (f *fixture) reloads() int { return f.lastStatus().Reloads }

// waitNginxReloads waits for nginx to have received n reloads in all.
func (f *fixture) waitNginxReloads(n int) {
	f.t.Helper()
	f.waitFor(fmt.Sprintf("nginx to see %d reloads", n), func() bool { return f.lines(f.nginxLog, "reload") == n })
}
func (f *fixture) checks() int { return f.lines(f.checkLog, "check") }

func (f *fixture) statuses() []Status {
	var out []Status
	for _, b := range f.consul.putsTo(statusKey) {
		st, err := ParseStatus(b)
		if err != nil {
			f.t.Fatalf("status %s: %v", b, err)
		}
		out = append(out, st)
	}
	return out
}

func (f *fixture) lastStatus() Status {
	sts := f.statuses()
	if len(sts) == 0 {
		return Status{}
	}
	return sts[len(sts)-1]
}

func webs(n int, tags ...string) []tmpl.Instance {
	var out []tmpl.Instance
	for i := 1; i <= n; i++ {
		out = append(out, web(i, tags...))
	}
	return out
}

// web is instance i; addresses have three-digit last octets so their
// string order, which the renderer sorts by, is their numeric order.
func web(i int, tags ...string) tmpl.Instance {
	return tmpl.Instance{
		Node: "consul", Name: "web", ID: fmt.Sprintf("web-%d", i), Status: tmpl.StatusPassing,
		Address: fmt.Sprintf("10.0.0.%d", 100+i), Port: 5000, Tags: tags,
	}
}

func servers(n int) string {
	var b strings.Builder
	b.WriteString("upstream web { ")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "server 10.0.0.%d:5000;", 100+i)
	}
	if n == 0 {
		b.WriteString("server 127.0.0.1:65535 down;")
	}
	b.WriteString(" }\n")
	return b.String()
}

// syncBuffer is a bytes.Buffer safe for the loop and the child to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func isExit(err error, status int, unexpected bool) bool {
	var ee *ExitError
	return errors.As(err, &ee) && ee.Status == status && ee.Unexpected == unexpected
}
