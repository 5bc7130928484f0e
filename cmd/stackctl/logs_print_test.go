package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestLogsLinesKeepPartialLinesUntilTheirNewline(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		flush  bool
		want   string
	}{
		{"whole lines", []string{"a\nb\n"}, false, "web-1 | a\nweb-1 | b\n"},
		{"split line", []string{"hel", "lo\nwor", "ld\n"}, false, "web-1 | hello\nweb-1 | world\n"},
		{"partial kept", []string{"one\ntw"}, false, "web-1 | one\n"},
		{"partial flushed at the end", []string{"one\ntw"}, true, "web-1 | one\nweb-1 | tw\n"},
		{"empty line", []string{"\n"}, false, "web-1 | \n"},
		{"nothing", nil, true, ""},
		{"carriage return kept", []string{"x\r\n"}, false, "web-1 | x\r\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := newLogPrinter(&out, style{}).add("web-1").writer()
		for _, s := range tt.writes {
			if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tt.name, n, err)
			}
		}
		if tt.flush {
			w.flush()
		}
		if out.String() != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, out.String(), tt.want)
		}
	}
}

func TestLogsLongLineIsPrintedInPieces(t *testing.T) {
	var out bytes.Buffer
	w := newLogPrinter(&out, style{}).add("lb").writer()
	long := strings.Repeat("x", maxLineBytes+10)
	_, _ = w.Write([]byte(long))
	if got := strings.Count(out.String(), "lb | "); got != 1 || len(w.buf) != 0 {
		t.Errorf("%d prefixes printed, %d bytes kept; want the line printed once it reached the limit", got, len(w.buf))
	}
}

func TestLogsPrefixesPaddedAndColouredPerContainer(t *testing.T) {
	var out bytes.Buffer
	p := newLogPrinter(&out, style{on: true})
	lb, web, old := p.add("lb"), p.add("web-1"), p.add("web-1 (old)")
	lb.printLine([]byte("started\n"))
	web.printLine([]byte("hi\n"))
	old.printLine([]byte("bye\n"))
	want := "\x1b[36mlb          |\x1b[0m started\n" +
		"\x1b[33mweb-1       |\x1b[0m hi\n" +
		"\x1b[32mweb-1 (old) |\x1b[0m bye\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}

	out.Reset()
	plain := newLogPrinter(&out, style{})
	for i := 0; i < len(logColours)+1; i++ {
		plain.add("x")
	}
	plain.add("consul").printLine([]byte("up\n"))
	if out.String() != "consul | up\n" {
		t.Errorf("without colour: %q", out.String())
	}
	if a, b := p.add("a"), p.add("b"); a.colour == b.colour {
		t.Error("two containers added one after the other share a colour")
	}
}

func TestLogsRenamedStreamWidensPrefixes(t *testing.T) {
	var out bytes.Buffer
	p := newLogPrinter(&out, style{})
	s := p.add("web-2 (new)")
	s.setLabel("web-2")
	other := p.add("lb")
	s.printLine([]byte("a\n"))
	other.printLine([]byte("b\n"))
	if want := "web-2       | a\nlb          | b\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
