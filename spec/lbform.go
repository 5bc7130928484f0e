package spec

// The two forms of an LB template. An include template is a piece of
// nginx's http block (upstreams and servers) that lands in
// /etc/nginx/conf.d/stackctl.conf, which the image's nginx.conf includes; a
// whole template is the entire nginx.conf (worker_processes, events {},
// http { ... }), as in the classic `consul-template -template
// "nginx.ctmpl:nginx.conf:..."` setup.
const (
	LBConfigAuto    = "auto" // detect the form from the template
	LBConfigInclude = "include"
	LBConfigWhole   = "whole"
)

// WholeConfig reports whether the LB's template is a whole nginx.conf.
func (lb *LB) WholeConfig() bool { return lb.Form == LBConfigWhole }

// mainOnly are directives nginx allows only in the main context of
// nginx.conf (never inside http), so one at the top level of a template
// means the template is a whole nginx.conf. error_log and include are
// allowed in http too, so they say nothing.
var mainOnly = map[string]bool{
	"user": true, "worker_processes": true, "pid": true, "events": true, "http": true,
	"stream": true, "mail": true, "daemon": true, "master_process": true, "load_module": true,
	"env": true, "lock_file": true, "pcre_jit": true, "thread_pool": true, "timer_resolution": true,
	"working_directory": true, "worker_rlimit_nofile": true, "worker_rlimit_core": true,
	"worker_cpu_affinity": true, "worker_priority": true, "worker_shutdown_timeout": true,
	"ssl_engine": true, "debug_points": true,
}

// httpOnly are blocks an include template holds at its top level that a
// whole nginx.conf may not (they belong inside http {}).
var httpOnly = map[string]bool{"upstream": true, "server": true, "location": true, "map": true}

// TemplateDirective is a directive found at the top level of a template,
// at a 1-based line and column of the template.
type TemplateDirective struct {
	Name   string
	Line   int
	Column int
}

// TemplateScan is what the top level (brace depth 0) of an nginx template
// holds, read from its nginx text alone: {{ }} actions and # comments are
// skipped, quoted strings are not read into.
type TemplateScan struct {
	MainOnly *TemplateDirective // the first main-context-only directive
	HTTPOnly *TemplateDirective // the first http-context block (upstream, server, ...)
	Daemon   *TemplateDirective // a daemon directive, which the LB's nginx -g 'daemon off;' would clash with
}

// Form is the form the scan suggests: whole when a main-context-only
// directive is at the top level, else include.
func (s TemplateScan) Form() string {
	if s.MainOnly != nil {
		return LBConfigWhole
	}
	return LBConfigInclude
}

// ScanTemplate reads the top level of an nginx template. It is a scanner
// of nginx's token rules, not a parser: it never fails, and what it cannot
// see (directives written by actions, files pulled in by include) it does
// not report.
func ScanTemplate(src string) TemplateScan {
	sc := &templateScanner{src: src, line: 1, col: 1, stmtStart: true}
	sc.run()
	return sc.out
}

type templateScanner struct {
	src       string
	i         int
	line, col int
	depth     int
	stmtStart bool // the next word is a directive name
	out       TemplateScan
}

func (sc *templateScanner) run() {
	for sc.i < len(sc.src) {
		switch c := sc.src[sc.i]; {
		case sc.hasPrefix("{{"):
			sc.skipAction()
		case c == '{':
			sc.depth++
			sc.stmtStart = true
			sc.advance(1)
		case c == '}':
			if sc.depth > 0 {
				sc.depth--
			}
			sc.stmtStart = true
			sc.advance(1)
		case c == ';':
			sc.stmtStart = true
			sc.advance(1)
		case isSpace(c):
			sc.advance(1)
		case c == '#':
			sc.skipLine() // nginx: a comment starts wherever a token could
		case c == '"' || c == '\'':
			sc.skipQuoted(c, false)
			sc.stmtStart = false
		default:
			sc.word()
		}
	}
}

// word reads a bare word; at the start of a statement it is a directive name.
func (sc *templateScanner) word() {
	line, col, start := sc.line, sc.col, sc.i
	for sc.i < len(sc.src) {
		c := sc.src[sc.i]
		if isSpace(c) || c == ';' || c == '{' || c == '}' || c == '"' || c == '\'' || sc.hasPrefix("{{") {
			break
		}
		sc.advance(1)
	}
	name := sc.src[start:sc.i]
	if sc.stmtStart && sc.depth == 0 && !sc.hasPrefix("{{") {
		sc.record(TemplateDirective{Name: name, Line: line, Column: col})
	}
	sc.stmtStart = false
}

func (sc *templateScanner) record(d TemplateDirective) {
	switch {
	case mainOnly[d.Name] && sc.out.MainOnly == nil:
		sc.out.MainOnly = &d
	case httpOnly[d.Name] && sc.out.HTTPOnly == nil:
		sc.out.HTTPOnly = &d
	}
	if d.Name == "daemon" && sc.out.Daemon == nil {
		sc.out.Daemon = &d
	}
}

// skipAction skips a {{ }} action, whose strings, raw strings, runes and
// comments may hold "}}" or braces.
func (sc *templateScanner) skipAction() {
	sc.advance(2)
	for sc.i < len(sc.src) {
		switch c := sc.src[sc.i]; {
		case sc.hasPrefix("}}"):
			sc.advance(2)
			return
		case sc.hasPrefix("/*"):
			sc.advance(2)
			for sc.i < len(sc.src) && !sc.hasPrefix("*/") {
				sc.advance(1)
			}
			sc.advance(2)
		case c == '"' || c == '\'':
			sc.skipQuoted(c, true)
		case c == '`':
			sc.advance(1)
			for sc.i < len(sc.src) && sc.src[sc.i] != '`' {
				sc.advance(1)
			}
			sc.advance(1)
		default:
			sc.advance(1)
		}
	}
}

// skipQuoted skips a string quoted with q, honouring backslash escapes.
// Actions inside an nginx string (not inAction) are skipped whole.
func (sc *templateScanner) skipQuoted(q byte, inAction bool) {
	sc.advance(1)
	for sc.i < len(sc.src) {
		switch c := sc.src[sc.i]; {
		case c == '\\':
			sc.advance(2)
		case c == q:
			sc.advance(1)
			return
		case !inAction && sc.hasPrefix("{{"):
			sc.skipAction()
		default:
			sc.advance(1)
		}
	}
}

func (sc *templateScanner) skipLine() {
	for sc.i < len(sc.src) && sc.src[sc.i] != '\n' {
		if sc.hasPrefix("{{") {
			sc.skipAction() // an action in a comment still runs, and may span lines
			continue
		}
		sc.advance(1)
	}
}

func (sc *templateScanner) hasPrefix(p string) bool {
	return len(sc.src)-sc.i >= len(p) && sc.src[sc.i:sc.i+len(p)] == p
}

// advance moves n bytes on, keeping line and column (columns count bytes,
// as text/template's do).
func (sc *templateScanner) advance(n int) {
	for ; n > 0 && sc.i < len(sc.src); n-- {
		if sc.src[sc.i] == '\n' {
			sc.line, sc.col = sc.line+1, 1
		} else {
			sc.col++
		}
		sc.i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
