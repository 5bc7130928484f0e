package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/creack/pty"
	"github.com/mattn/go-isatty"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/plan/views"
)

// frameMode is how `status --watch` shows its frames.
type frameMode int

const (
	framesPlain    frameMode = iota // one after the other, a separator line between
	framesTerminal                  // redrawn in place
	framesJSON                      // one compact JSON object per line
)

// ANSI sequences of the in-place redraw: each frame starts at the top left,
// clears what is left of every line it writes and, at its end, the rest of
// the screen, so nothing is ever blank in between (no flicker).
const (
	ansiHome       = "\x1b[H"
	ansiClearLine  = "\x1b[K"
	ansiClearBelow = "\x1b[J"
	ansiClearAll   = "\x1b[2J"
	ansiHideCursor = "\x1b[?25l"
	ansiShowCursor = "\x1b[?25h"
)

// plainSeparator is the line between two frames written to a pipe or file.
const plainSeparator = "----"

// frameWriter writes the frames of `status --watch`, each in one Write.
type frameWriter struct {
	w      io.Writer
	mode   frameMode
	colour bool
	title  string // "stackctl status -f FILE"
	frames int
	// rows is the terminal's height (0: unknown), so that a frame taller
	// than the screen is cut instead of scrolling the redraw apart.
	rows func() int
}

func newFrameWriter(w io.Writer, o statusOptions) *frameWriter {
	fw := &frameWriter{w: w, mode: framesPlain, title: "stackctl status -f " + o.file.String(), rows: func() int { return 0 }}
	switch {
	case o.json:
		fw.mode = framesJSON
	case isTerminal(w):
		fw.mode, fw.colour = framesTerminal, styleFor(w).on
		f := w.(*os.File)
		fw.rows = func() int {
			rows, _, err := pty.Getsize(f)
			if err != nil {
				return 0
			}
			return rows
		}
	}
	return fw
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// frame writes one status.
func (fw *frameWriter) frame(st *plan.Status, interval time.Duration) error {
	var buf bytes.Buffer
	if fw.mode == framesJSON {
		if err := views.StatusJSON(&buf, st, true); err != nil {
			return err
		}
		return fw.write(buf.Bytes())
	}
	when := st.ObservedAt.Local().Format(time.DateTime)
	header := fmt.Sprintf("Every %s: %s    %s", interval, fw.title, when)
	var body bytes.Buffer
	if err := views.StatusHuman(&body, st, fw.colour); err != nil {
		return err
	}
	if fw.mode == framesPlain {
		if fw.frames > 0 {
			buf.WriteString(plainSeparator + "\n")
		}
		buf.WriteString(header + "\n\n")
		buf.Write(body.Bytes())
		return fw.write(buf.Bytes())
	}
	if fw.frames == 0 {
		buf.WriteString(ansiHideCursor + ansiClearAll)
	}
	buf.WriteString(ansiHome)
	lines := append([]string{header, ""}, strings.Split(strings.TrimSuffix(body.String(), "\n"), "\n")...)
	if rows := fw.rows(); rows > 1 && len(lines) > rows-1 {
		cut := len(lines) - (rows - 2)
		lines = append(lines[:rows-2], fmt.Sprintf("... %d more lines: make the terminal taller, or use --json", cut))
	}
	for _, l := range lines {
		buf.WriteString(l + ansiClearLine + "\n")
	}
	buf.WriteString(ansiClearBelow)
	return fw.write(buf.Bytes())
}

func (fw *frameWriter) write(b []byte) error {
	fw.frames++
	_, err := fw.w.Write(b)
	return err
}

// end puts the terminal back as it was: the cursor shown again.
func (fw *frameWriter) end() error {
	if fw.mode != framesTerminal || fw.frames == 0 {
		return nil
	}
	_, err := io.WriteString(fw.w, ansiShowCursor)
	return err
}
