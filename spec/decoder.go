package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a stack file's node tree, turning values into Go values
// while remembering where each was written. It records every problem it
// meets and carries on, so one run reports them all.
type decoder struct {
	file     string
	dir      string // the stack file's folder, absolute
	lookup   func(string) (string, bool)
	problems []*Problem
	// suggested holds, per mapping (by its where), the field names offered
	// for misspelt keys: "servcies" explains a missing "services", which
	// then goes unreported.
	suggested map[string][]string
	// consulAddress is the consul.address value node, for checks that
	// need the rest of the file (see checkConsulReachable).
	consulAddress *yaml.Node
	// hostIdx is the hosts list, for the fields that name hosts.
	hostIdx hostIndex
	// overlay is set while an environment's overlay file is read on its
	// own (see overlayDocument): it may be empty.
	overlay bool
	// environment is the one the stack is loaded for ("" for none), and
	// origin the file of every node an overlay merged in (see mergeOverlay).
	environment string
	origin      map[*yaml.Node]string
}

func (d *decoder) at(n *yaml.Node) Position {
	file := d.file
	if f, ok := d.origin[n]; ok {
		file = f
	}
	return Position{File: file, Line: max(n.Line, 1), Column: max(n.Column, 1)}
}

func (d *decoder) addf(n *yaml.Node, format string, args ...any) {
	d.problems = append(d.problems, &Problem{Pos: d.at(n), Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) addPos(pos Position, format string, args ...any) {
	d.problems = append(d.problems, &Problem{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// field is one key of a mapping and its value.
type field struct {
	key, val *yaml.Node
}

// entries returns a mapping's key/value pairs in file order, reporting keys
// that are not plain scalars and keys given twice (only the first counts).
func (d *decoder) entries(n *yaml.Node, where string) []field {
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	out := make([]field, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.addf(k, "key %s is %s (expected a plain name)", where, kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.addf(k, "duplicate key %s %s (already set at line %d; expected each key once)", quote(k.Value), where, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, field{key: k, val: v})
	}
	return out
}

// mapping checks that n is a mapping whose keys are all in known, and
// returns its fields by name. where says whose fields they are ("in service
// \"web\""); path names the mapping itself in type errors.
func (d *decoder) mapping(n *yaml.Node, path, where string, known []string) (map[string]field, bool) {
	if n.Kind != yaml.MappingNode {
		d.addf(n, "%s is %s (expected a mapping with %s)", path, kindName(n), fieldList(known))
		return nil, false
	}
	fields := make(map[string]field, len(known))
	for _, f := range d.entries(n, where) {
		if !contains(known, f.key.Value) {
			d.unknownField(f.key, where, known)
			continue
		}
		fields[f.key.Value] = f
	}
	return fields, true
}

func (d *decoder) unknownField(k *yaml.Node, where string, known []string) {
	if s := suggest(k.Value, known); s != "" {
		if d.suggested == nil {
			d.suggested = map[string][]string{}
		}
		d.suggested[where] = append(d.suggested[where], s)
		d.addf(k, "unknown field %s %s (did you mean %q?)", quote(k.Value), where, s)
		return
	}
	d.addf(k, "unknown field %s %s (expected one of: %s)", quote(k.Value), where, strings.Join(known, ", "))
}

// require reports a field that must be present.
func (d *decoder) require(fields map[string]field, name string, n *yaml.Node, where, expected string) (field, bool) {
	f, ok := fields[name]
	if !ok && !contains(d.suggested[where], name) {
		d.addf(n, "missing required field %q %s (expected %s)", name, where, expected)
	}
	return f, ok
}

func fieldList(known []string) string {
	if len(known) > 4 {
		return strings.Join(known[:4], ", ") + ", ..."
	}
	return strings.Join(known, ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// scalar is a scalar value after ${VAR} expansion.
type scalar struct {
	text string
	// fromString: the value was a YAML string (tag !!str). interpolated: it
	// contained ${VAR}, so after expansion it may stand for a number, a
	// boolean or a duration: "replicas: ${N:-3}" is as good as "replicas: 3".
	fromString   bool
	interpolated bool
	vars         []string // variables it referred to
}

// scalar reads a non-empty scalar, expanding variables in strings.
func (d *decoder) scalar(n *yaml.Node, path, expected string) (scalar, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.addf(n, "%s is %s (expected %s)", path, kindName(n), expected)
		return scalar{}, false
	}
	s := scalar{text: n.Value}
	if n.Tag == "!!str" || n.Tag == "!!merge" {
		text, vars, err := expand(n.Value, d.lookup)
		if err != nil {
			d.addf(n, "%s: %v", path, err)
			return scalar{}, false
		}
		s = scalar{text: text, fromString: true, interpolated: len(vars) > 0, vars: vars}
	}
	if strings.ContainsRune(s.text, 0) {
		d.addf(n, "%s contains a NUL character (expected text without NUL)", path)
		return scalar{}, false
	}
	return s, true
}

// typeMismatch reports a scalar of the wrong type.
func (d *decoder) typeMismatch(n *yaml.Node, path, expected string) {
	d.addf(n, "%s is %s (expected %s)", path, describe(n), expected)
}

// describe names a scalar with its YAML type, for type errors.
func describe(n *yaml.Node) string {
	switch n.Tag {
	case "!!int", "!!float":
		return "the number " + bare(n.Value)
	case "!!bool":
		return "the boolean " + bare(n.Value)
	case "!!timestamp":
		return "the date " + bare(n.Value)
	case "!!str":
		return "the string " + quote(n.Value)
	}
	return kindName(n)
}

// bare writes a number or boolean from the file as it is, unless quoting
// is needed to keep the message on one line.
func bare(s string) string {
	for _, r := range s {
		if !(r == '.' || r == '_' || r == '+' || r == '-' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}

// str reads a string; other scalar types are errors, so that a value such as
// "image: 1.10" (a number) does not silently become "1.1".
func (d *decoder) str(n *yaml.Node, path, expected string) (string, bool) {
	s, ok := d.scalar(n, path, expected)
	if !ok {
		return "", false
	}
	if !s.fromString {
		d.typeMismatch(n, path, expected)
		return "", false
	}
	return s.text, true
}

// text reads any scalar as text: env values and command arguments, where
// "8" and 8 mean the same.
func (d *decoder) text(n *yaml.Node, path, expected string) (scalar, bool) {
	return d.scalar(n, path, expected)
}

// integer reads a whole number within [lo, hi].
func (d *decoder) integer(n *yaml.Node, path string, lo, hi int) (int, bool) {
	expected := fmt.Sprintf("a whole number from %d to %d", lo, hi)
	s, ok := d.scalar(n, path, expected)
	if !ok {
		return 0, false
	}
	var v int64
	var err error
	switch {
	case n.Tag == "!!int":
		err = n.Decode(&v)
	case s.interpolated:
		v, err = strconv.ParseInt(strings.TrimSpace(s.text), 10, 64)
	default:
		d.typeMismatch(n, path, expected)
		return 0, false
	}
	if err != nil {
		d.addf(n, "%s is %s (expected %s)", path, quote(s.text), expected)
		return 0, false
	}
	if v < int64(lo) || v > int64(hi) {
		d.addf(n, "%s is %d (expected %s)", path, v, expected)
		return 0, false
	}
	return int(v), true
}

// number reads a finite number; the caller checks its range.
func (d *decoder) number(n *yaml.Node, path, expected string) (float64, bool) {
	s, ok := d.scalar(n, path, expected)
	if !ok {
		return 0, false
	}
	var v float64
	var err error
	switch {
	case n.Tag == "!!int" || n.Tag == "!!float":
		err = n.Decode(&v)
	case s.interpolated:
		v, err = strconv.ParseFloat(strings.TrimSpace(s.text), 64)
	default:
		d.typeMismatch(n, path, expected)
		return 0, false
	}
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.addf(n, "%s is %s (expected %s)", path, quote(s.text), expected)
		return 0, false
	}
	return v, true
}

// boolean reads true or false.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	const expected = "true or false"
	s, ok := d.scalar(n, path, expected)
	if !ok {
		return false, false
	}
	switch {
	case n.Tag == "!!bool":
		var v bool
		if err := n.Decode(&v); err == nil {
			return v, true
		}
	case s.interpolated && (s.text == "true" || s.text == "false"):
		return s.text == "true", true
	}
	d.typeMismatch(n, path, expected)
	return false, false
}

// duration reads a Go duration ("5s", "1m30s") of at least lo.
func (d *decoder) duration(n *yaml.Node, path string, lo time.Duration) (time.Duration, bool) {
	expected := "a positive duration, like 2s, 500ms or 1m30s"
	if lo >= time.Second {
		expected = fmt.Sprintf("a duration of at least %s, like 5s or 1m30s", lo)
	}
	s, ok := d.scalar(n, path, expected)
	if !ok {
		return 0, false
	}
	if !s.fromString {
		d.typeMismatch(n, path, expected)
		return 0, false
	}
	v, err := time.ParseDuration(strings.TrimSpace(s.text))
	if err != nil {
		d.addf(n, "%s is %s, not a duration (expected %s)", path, quote(s.text), expected)
		return 0, false
	}
	if v < lo {
		d.addf(n, "%s is %s (expected %s)", path, quote(s.text), expected)
		return 0, false
	}
	return v, true
}

// list checks that n is a list and returns its items.
func (d *decoder) list(n *yaml.Node, path, expected string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		d.addf(n, "%s is %s (expected %s)", path, kindName(n), expected)
		return nil, false
	}
	return n.Content, true
}

// pathKey writes a name from the file into a dotted path, quoted when it is
// not a plain word, so every message stays one readable line.
func pathKey(name string) string {
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return quote(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}
