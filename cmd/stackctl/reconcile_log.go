package main

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// logLines writes what it is given as log lines, each stamped with the
// time in UTC (RFC 3339), the way an agent's output reads in a file,
// journald or `docker logs`. Writes come from many goroutines (apply's
// steps); a line is only written whole.
type logLines struct {
	mu      sync.Mutex
	out     io.Writer
	now     func() time.Time
	partial []byte
}

func newLogLines(out io.Writer) *logLines { return &logLines{out: out, now: time.Now} }

// Write stamps every complete line of p; an unfinished one waits for its
// end.
func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := l.write(l.partial[:i]); err != nil {
			return len(p), err
		}
		l.partial = l.partial[i+1:]
	}
}

func (l *logLines) write(line []byte) error {
	stamp := l.now().UTC().Format(time.RFC3339)
	_, err := io.WriteString(l.out, stamp+" "+string(line)+"\n")
	return err
}

// line writes one message (which may span lines).
func (l *logLines) line(msg string) { _, _ = io.WriteString(l, msg+"\n") }
