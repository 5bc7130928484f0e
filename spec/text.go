package spec

import (
	"fmt"
	"sort"
	"unicode/utf8"
)

// Positions in the raw text follow the YAML parser's rules, so a problem
// found before parsing points where a problem found after it would: lines
// end at \n, \r\n, \r, U+0085, U+2028 or U+2029, and columns count
// characters, not bytes, starting at 1.

// lineStarts returns the byte offset at which every line begins.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		next := i + size
		switch {
		case r == '\r' && next < len(data) && data[next] == '\n':
			next++
			starts = append(starts, next)
		case isBreak(r):
			starts = append(starts, next)
		}
		i = next
	}
	return starts
}

func isBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029'
}

// positionAt converts a byte offset into a 1-based line and column.
func positionAt(data []byte, starts []int, offset int) (line, col int) {
	line = sort.Search(len(starts), func(i int) bool { return starts[i] > offset }) // lines starting at or before offset
	col = 1 + utf8.RuneCount(data[starts[line-1]:offset])
	return line, col
}

// isPrintable is YAML's set of characters allowed in a stream.
func isPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == '\u0085':
		return true
	case r >= 0x20 && r <= 0x7E:
		return true
	case r >= 0xA0 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// checkText finds what makes data unreadable as YAML text before the parser
// sees it: the first byte that is not UTF-8, or the first character YAML
// forbids. The parser itself would say so without a position.
func checkText(data []byte, starts []int) (offset int, msg string, bad bool) {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i, fmt.Sprintf("byte 0x%02X is not valid UTF-8 (expected a UTF-8 text file)", data[i]), true
		}
		if r == '\uFEFF' && i == 0 {
			i += size // a byte order mark may start the file
			continue
		}
		if !isPrintable(r) {
			return i, fmt.Sprintf("control character %U is not allowed (expected printable text; write it as an escape in a double-quoted string)", r), true
		}
		i += size
	}
	return 0, "", false
}

// indentTabs returns the offset of every tab used in a line's indentation.
// YAML forbids them; the parser's own message for one does not mention tabs.
func indentTabs(data []byte, starts []int) []int {
	var tabs []int
	for _, start := range starts {
		for i := start; i < len(data); i++ {
			if data[i] == '\t' {
				tabs = append(tabs, i)
				break
			}
			if data[i] != ' ' {
				break
			}
		}
	}
	return tabs
}
