package tmpl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Error is a template error at a position in the template's file. Line and
// Col are 1-based; Col counts bytes, as text/template does.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	Err  error // the underlying error, for errors.Is (a Data failure, ErrKeyNotFound)
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// text/template says "template: NAME:LINE:COL: executing "X" at <CTX>: MSG"
// when executing, and "template: NAME:LINE: MSG" when parsing.
var (
	execRE  = regexp.MustCompile(`\A(\d+):(\d+): executing "[^"]*" at <(.*?)>: (?s:(.*))\z`)
	parseRE = regexp.MustCompile(`\A(\d+): (?s:(.*))\z`)
)

// consulFuncs report errors that already name the function and argument,
// so text/template's "error calling F:" prefix and context are noise.
var consulFuncs = []string{"service", "services", "key", "keyOrDefault", "env"}

func execError(name string, err error) error {
	rest, ok := strings.CutPrefix(err.Error(), "template: "+name+":")
	m := execRE.FindStringSubmatch(rest)
	if !ok || m == nil {
		return &Error{File: name, Msg: err.Error(), Err: err}
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	msg := m[4]
	stripped := false
	for _, f := range consulFuncs {
		if s, ok := strings.CutPrefix(msg, "error calling "+f+": "); ok {
			msg, stripped = s, true
			break
		}
	}
	if !stripped {
		msg = fmt.Sprintf("at <%s>: %s", m[3], msg)
	}
	return &Error{File: name, Line: line, Col: col + 1, Msg: msg, Err: err}
}

func parseError(name, src string, err error) error {
	rest, ok := strings.CutPrefix(err.Error(), "template: "+name+":")
	m := parseRE.FindStringSubmatch(rest)
	if !ok || m == nil {
		return &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "template: "), Err: err}
	}
	line, _ := strconv.Atoi(m[1])
	return &Error{File: name, Line: line, Col: parseErrorColumn(src, line, m[2]), Msg: m[2], Err: err}
}

// parseErrorColumn finds the column text/template's parse errors leave out:
// the first action on the line that, parsed alone, fails with the same
// message; else the line's first action; else its first non-blank byte.
func parseErrorColumn(src string, line int, msg string) int {
	start, end, ok := lineBounds(src, line)
	if !ok {
		return 1
	}
	first := 0
	for i := start; i < end; {
		j := strings.Index(src[i:end], "{{")
		if j < 0 {
			break
		}
		at := i + j
		stop := actionEnd(src, at)
		if first == 0 {
			first = at - start + 1
		}
		if failsAlike(src[at:stop], msg) {
			return at - start + 1
		}
		i = max(stop, at+2)
	}
	if first > 0 {
		return first
	}
	return len(src[start:end]) - len(strings.TrimLeft(src[start:end], " \t")) + 1
}

func failsAlike(action, msg string) bool {
	_, err := newTree("a").Parse(action)
	if err == nil {
		return false
	}
	m := parseRE.FindStringSubmatch(strings.TrimPrefix(err.Error(), "template: a:"))
	return m != nil && m[2] == msg
}

// lineBounds returns the byte range of the 1-based line.
func lineBounds(src string, line int) (start, end int, ok bool) {
	for n := 1; n < line; n++ {
		i := strings.IndexByte(src[start:], '\n')
		if i < 0 {
			return 0, 0, false
		}
		start += i + 1
	}
	end = len(src)
	if i := strings.IndexByte(src[start:], '\n'); i >= 0 {
		end = start + i
	}
	return start, end, true
}

// actionEnd returns the index just past the "}}" closing the action that
// opens at src[at:], skipping quoted strings and comments; len(src) when the
// action is never closed.
func actionEnd(src string, at int) int {
	i := at + 2
	for i < len(src) {
		switch c := src[i]; {
		case strings.HasPrefix(src[i:], "}}"):
			return i + 2
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return len(src)
			}
			i += j + 4
		case c == '"' || c == '`' || c == '\'':
			i = quoteEnd(src, i)
		default:
			i++
		}
	}
	return len(src)
}

func quoteEnd(src string, at int) int {
	q := src[at]
	for i := at + 1; i < len(src); i++ {
		switch {
		case src[i] == '\\' && q != '`':
			i++
		case src[i] == q:
			return i + 1
		case src[i] == '\n' && q != '`':
			return i
		}
	}
	return len(src)
}
