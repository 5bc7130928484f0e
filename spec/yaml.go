package spec

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// errNoDocument: the stream holds nothing but blanks, comments or markers.
var errNoDocument = errors.New("no document")

// syntaxError is a YAML syntax error with the place it was found.
type syntaxError struct {
	offset int // byte offset of the character where the parser gave up
	msg    string
}

func (e *syntaxError) Error() string { return e.msg }

// decodeStream parses data into node trees, one per YAML document, without
// decoding into Go values: aliases stay unexpanded alias nodes, and every
// node keeps its line and column.
func decodeStream(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &doc)
	}
	return docs, nil
}

// parseDocuments parses data; on a syntax error it works out where the error
// really is (see locate).
func parseDocuments(data []byte, starts []int) ([]*yaml.Node, error) {
	docs, err := decodeStream(data)
	if err != nil {
		msg := yamlMessage(err)
		return nil, &syntaxError{offset: locate(data, starts, msg, yamlLine(err)), msg: msg}
	}
	if len(docs) == 0 {
		return nil, errNoDocument
	}
	return docs, nil
}

var (
	yamlLinePrefix = regexp.MustCompile(`^(yaml: )?(line \d+: )?`)
	yamlLineNumber = regexp.MustCompile(`^yaml: line (\d+): `)
)

// yamlLine is the line yaml.v3 gives for a syntax error, or 1.
func yamlLine(err error) int {
	if m := yamlLineNumber.FindStringSubmatch(err.Error()); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	return 1
}

// yamlMessage strips yaml.v3's "yaml: line N: " from a syntax error.
func yamlMessage(err error) string {
	return yamlLinePrefix.ReplaceAllString(err.Error(), "")
}

// locate finds where a syntax error is. yaml.v3 reports only a line, and
// for many errors the line where the enclosing block began, or none. The
// parser stops at the first error and reads no further than the line it is
// on, so the shortest prefix of the file that fails with the same message
// ends at the error: search over whole lines, starting from yaml.v3's line
// (usually at most a line or two off), then over the characters of the line
// found. It costs a few parses of a file already known to be bad.
func locate(data []byte, starts []int, msg string, hintLine int) int {
	same := func(end int) bool {
		_, err := decodeStream(data[:end])
		return err != nil && yamlMessage(err) == msg
	}
	lineEnd := func(i int) int { // end of line i (0-based), break included
		if i+1 < len(starts) {
			return starts[i+1]
		}
		return len(data)
	}
	line := smallestTrue(len(starts), hintLine-1, func(i int) bool { return same(lineEnd(i)) })
	start := starts[line]
	var offsets []int // byte offset just past each character of the line
	for i := start; i < lineEnd(line); {
		r, size := utf8.DecodeRune(data[i:])
		if isBreak(r) {
			break
		}
		i += size
		offsets = append(offsets, i)
	}
	col := smallestTrue(len(offsets)+1, len(offsets), func(i int) bool {
		return i == len(offsets) || same(offsets[i])
	})
	switch {
	case col == len(offsets):
		// Only the line break reproduces the error.
		return firstNonBlank(data, start, lineEnd(line))
	case col == 0:
		return start
	}
	// The prefix ending with character col reproduces the error: point at
	// that character.
	return offsets[col-1]
}

// smallestTrue returns the smallest i in [0, n) for which ok(i) holds, ok
// being false up to some point and true from there on, and true at n-1.
// It gallops out from guess, then bisects, so a good guess costs a few
// calls whatever n is.
func smallestTrue(n, guess int, ok func(int) bool) int {
	lo, hi := 0, n-1 // the answer is in [lo, hi]
	guess = min(max(guess, 0), n-1)
	if ok(guess) {
		hi = guess
		for step := 1; guess-step >= lo; step *= 2 {
			if j := guess - step; ok(j) {
				hi = j
			} else {
				lo = j + 1
				break
			}
		}
	} else {
		lo = guess + 1
		for step := 1; guess+step < hi; step *= 2 {
			if j := guess + step; ok(j) {
				hi = j
				break
			} else {
				lo = j + 1
			}
		}
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func firstNonBlank(data []byte, start, end int) int {
	i := start + len(data[start:end]) - len(bytes.TrimLeft(data[start:end], " \t"))
	if i >= end {
		return start
	}
	return i
}

// isMergeKey reports a "<<" mapping key, YAML 1.1's merge of another mapping.
func isMergeKey(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!merge"
}

// plainTag reports whether a node carries one of the tags a stack file may
// use: the ones plain YAML resolves to without explicit tagging.
func plainTag(tag string) bool {
	switch tag {
	case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!map", "!!seq", "!!merge", "":
		return true
	}
	return false
}

// kindName describes a node's kind for messages: "a mapping", "a list", ...
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	if n.Tag == "!!null" {
		return "empty"
	}
	return quote(n.Value)
}

// quote quotes a value from the file for a message, shortened so one bad
// value cannot drown the rest, and escaped so it stays on one line.
func quote(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "..."
	}
	return strconv.Quote(s)
}
