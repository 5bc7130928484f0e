package plan

import (
	"strings"
	"time"
)

// LBResolve says that the LB's nginx follows membership itself: an
// upstream holds a server with the resolve parameter (nginx >= 1.27.3,
// `server service.consul service=web resolve;`), which nginx looks up at
// run time through its resolver (Consul's DNS interface). Such a template
// need not read any service, and then nothing is rendered or reloaded
// when workers come and go: apply waits for nginx's next lookup instead.
type LBResolve struct {
	// Upstreams are the upstreams with a resolved server, in config order.
	Upstreams []string `json:"upstreams"`
	// Valid is the resolver's valid= parameter as written ("1s"); empty
	// when it has none, and nginx caches answers for their TTL.
	Valid string `json:"valid,omitempty"`
}

// resolveLagMargin covers the lookup itself and nginx's timer rounding.
const resolveLagMargin = time.Second

// Lag bounds how long after a change in Consul nginx routes by it: nginx
// looks a resolved server up again one second after the answer it holds
// expires (ngx_http_upstream_zone_module), and holds an answer for valid=
// (else its TTL, 0 for Consul's DNS), plus a margin for the lookup.
func (r *LBResolve) Lag() time.Duration {
	valid, err := nginxDuration(r.Valid)
	if err != nil {
		valid = 5 * time.Second // unreadable: a generous guess
	}
	return valid + time.Second + resolveLagMargin
}

// nginxDuration reads an nginx time ("1s", "500ms", "1m30s", "10" seconds).
func nginxDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if strings.Trim(s, "0123456789") == "" {
		s += "s"
	}
	return time.ParseDuration(s)
}

// scanResolve reads a rendered nginx config (or piece of one) for upstream
// servers nginx resolves at run time, and the resolver's valid=. It is a
// tokenizer of nginx's syntax, not a parser: what it cannot read it skips.
func scanResolve(conf string) *LBResolve {
	var (
		out    LBResolve
		blocks []string // the names of the enclosing blocks
		stmt   []string // the words of the statement so far
	)
	for _, tok := range nginxTokens(conf) {
		switch tok {
		case "{":
			name := ""
			if len(stmt) > 0 {
				name = stmt[0]
			}
			if name == "upstream" && len(stmt) > 1 {
				name += " " + stmt[1]
			}
			blocks, stmt = append(blocks, name), nil
		case "}":
			if len(blocks) > 0 {
				blocks = blocks[:len(blocks)-1]
			}
			stmt = nil
		case ";":
			out.statement(stmt, blocks)
			stmt = nil
		default:
			stmt = append(stmt, tok)
		}
	}
	if len(out.Upstreams) == 0 {
		return nil
	}
	return &out
}

func (r *LBResolve) statement(words, blocks []string) {
	if len(words) == 0 {
		return
	}
	switch words[0] {
	case "resolver":
		for _, w := range words[1:] {
			if v, ok := strings.CutPrefix(w, "valid="); ok && r.Valid == "" {
				r.Valid = v
			}
		}
	case "server":
		if len(blocks) == 0 {
			return
		}
		upstream, ok := strings.CutPrefix(blocks[len(blocks)-1], "upstream ")
		if !ok {
			return
		}
		for _, w := range words[2:] {
			if w == "resolve" {
				r.Upstreams = append(r.Upstreams, upstream)
				return
			}
		}
	}
}

// nginxTokens splits nginx config text into words, quoted strings (without
// their quotes) and the punctuation { } ;, dropping # comments.
func nginxTokens(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			toks = append(toks, s[i+1:min(j, len(s))])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r{};\"'", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}
