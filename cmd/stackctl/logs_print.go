package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// logColours are the colours of the containers' prefixes, in the order
// containers get them (compose's order: cyan, yellow, green, magenta, blue,
// then their bright forms). Red is left out: it reads as an error.
var logColours = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// maxLineBytes bounds what a stream keeps of a line still waiting for its
// newline; a longer one is printed in pieces rather than held without end.
const maxLineBytes = 64 * 1024

// logPrinter writes the lines of several containers to one output, each
// whole line at once behind a prefix that names its container ("web-3 | "),
// the names padded to one width.
type logPrinter struct {
	mu     sync.Mutex
	w      io.Writer
	style  style
	width  int
	added  int
	failed error // the first write error; later writes are dropped
}

func newLogPrinter(w io.Writer, s style) *logPrinter { return &logPrinter{w: w, style: s} }

// logStream is one container's place in the printer: its label and colour.
type logStream struct {
	p      *logPrinter
	label  string
	colour string
}

// add gives a container its colour; the width grows to fit its label, so a
// container that appears later can widen every prefix from then on.
func (p *logPrinter) add(label string) *logStream {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &logStream{p: p, label: label, colour: logColours[p.added%len(logColours)]}
	p.added++
	p.width = max(p.width, len(label))
	return s
}

// setLabel renames a stream (apply renamed its container).
func (s *logStream) setLabel(label string) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.label = label
	s.p.width = max(s.p.width, len(label))
}

func (s *logStream) currentLabel() string {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.label
}

// printLine writes one line (with its newline) behind the stream's prefix.
func (s *logStream) printLine(line []byte) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed != nil {
		return
	}
	prefix := p.style.wrap(s.colour, s.label+strings.Repeat(" ", p.width-len(s.label))+" |")
	buf := make([]byte, 0, len(prefix)+1+len(line))
	buf = append(append(append(buf, prefix...), ' '), line...)
	if _, err := p.w.Write(buf); err != nil {
		p.failed = err
	}
}

// err is the first error writing the output hit, such as a closed pipe.
func (p *logPrinter) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// lineWriter is one output stream (stdout or stderr) of one container. It
// keeps a partial line until its newline arrives, so that two containers
// writing at once never interleave within a line.
type lineWriter struct {
	s   *logStream
	buf []byte
}

func (s *logStream) writer() *lineWriter { return &lineWriter{s: s} }

// Write prints every complete line in p and keeps the rest.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.s.printLine(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) >= maxLineBytes {
		w.flush()
	}
	if len(w.buf) == 0 {
		w.buf = nil // let a large buffer go
	}
	return len(p), w.s.p.err()
}

// flush prints a partial line, ended with a newline, as when the container's
// output ends without one.
func (w *lineWriter) flush() {
	if len(w.buf) == 0 {
		return
	}
	w.s.printLine(append(w.buf, '\n'))
	w.buf = nil
}
