package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/stackctl/stackctl/apply"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
)

// progressView shows steps as they run: on a terminal, a line per finished
// step under a live summary line (workers passing, batch, elapsed, what is
// still running); otherwise plain timestamped log lines.
type progressView struct {
	mu      sync.Mutex
	out     io.Writer
	tty     bool
	style   style
	summary *liveSummary
	status  bool // a live line is on screen
	quit    chan struct{}
	done    chan struct{}
}

func newProgressView(out io.Writer) *progressView {
	f, ok := out.(*os.File)
	tty := ok && isatty.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb"
	v := &progressView{out: out, tty: tty, style: styleFor(out), summary: newLiveSummary()}
	if tty {
		v.quit, v.done = make(chan struct{}), make(chan struct{})
		go v.tick()
	}
	return v
}

func (v *progressView) tick() {
	defer close(v.done)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-v.quit:
			return
		case <-t.C:
			v.mu.Lock()
			v.drawStatus()
			v.mu.Unlock()
		}
	}
}

func (v *progressView) stop() {
	if v.quit == nil {
		return
	}
	close(v.quit)
	<-v.done
	v.quit = nil
	v.mu.Lock()
	v.clearStatus()
	v.mu.Unlock()
}

func (v *progressView) clearStatus() {
	if v.status {
		fmt.Fprint(v.out, "\r\x1b[2K")
		v.status = false
	}
}

// statusWidth keeps the live line on one row of a narrow terminal: a line
// that wraps cannot be erased with \r.
const statusWidth = 100

func (v *progressView) drawStatus() {
	v.clearStatus()
	line := v.summary.line(time.Now())
	if line == "" {
		return
	}
	fmt.Fprint(v.out, truncateRunes(line, statusWidth))
	v.status = true
}

func (v *progressView) line(format string, a ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clearStatus()
	if !v.tty {
		fmt.Fprintf(v.out, "%s ", time.Now().UTC().Format("15:04:05.000"))
	}
	fmt.Fprintf(v.out, format+"\n", a...)
	if v.tty {
		v.drawStatus()
	}
}

func (v *progressView) StepStarted(st plan.Step) {
	v.mu.Lock()
	v.summary.started(st, time.Now())
	v.mu.Unlock()
	if !v.tty {
		v.line("start   %s %s", st.Action, st.ID)
	}
}

func (v *progressView) StepFinished(st plan.Step, elapsed time.Duration, err error) {
	v.mu.Lock()
	v.summary.finished(st, err)
	v.mu.Unlock()
	d := elapsed.Round(100 * time.Millisecond)
	if err != nil {
		v.line("  %s %s %s (%s): %v", v.style.red("✗ FAILED"), st.Action, st.ID, d, err)
		return
	}
	v.line("  %s %s %s (%s)", v.style.green("✓"), st.Action, st.ID, d)
}

func (v *progressView) StepUndone(id string, elapsed time.Duration, err error) {
	d := elapsed.Round(100 * time.Millisecond)
	if err != nil {
		v.line("  %s undo %s (%s): %v", v.style.red("✗ FAILED"), id, d, err)
		return
	}
	v.line("  ↺ undone %s (%s)", id, d)
}

func (v *progressView) Note(msg string) { v.line("%s", msg) }

func (v *progressView) showPlan(p *plan.Plan) error {
	v.mu.Lock()
	v.summary.planned(p)
	v.mu.Unlock()
	return views.Human(v.out, p, v.style.on)
}

func (v *progressView) showRecovered(r *apply.Report) {
	if r.Err != nil {
		_ = r.Write(v.out)
		return
	}
	if r.Recovered == apply.RecoveredRolledBack {
		fmt.Fprintf(v.out, "Rolled back the unfinished %s: %d step(s) undone.\n\n", trimRecover(r.Operation), len(r.RolledBack))
	}
}

func (v *progressView) starting() {
	v.mu.Lock()
	v.summary.begin(time.Now())
	v.mu.Unlock()
	fmt.Fprintln(v.out)
}

func (v *progressView) showReport(r *apply.Report) error {
	v.stop()
	fmt.Fprintln(v.out)
	return r.Write(v.out)
}

// failure is nil: the report on the terminal has said it all.
func (v *progressView) failure(*apply.Report) error { return nil }

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
