package views

import (
	"html"
	"strings"
)

// Everything a stack file or live state controls (names, images, reasons,
// warnings, values) reaches the markdown view through these helpers, so
// that no value can end a code span, open an HTML tag, start a table
// column or a new line, or turn into a link, emphasis or math.

// mdEscaper backslash-escapes the ASCII punctuation that means something
// inline in GitHub-flavoured markdown. `$` is GitHub's math.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `&`, `\&`, `~`, `\~`, `$`, `\$`, `|`, `\|`,
)

// mdText is s as markdown text that reads as s, on one line.
func mdText(s string) string { return mdEscaper.Replace(oneLine(s)) }

// mdCode is s as a code span: fenced with one backtick more than the
// longest run of them in s, padded when s starts or ends with one.
func mdCode(s string) string {
	s = oneLine(s)
	if s == "" {
		return "` `"
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdFence is a fenced code block of text, with a fence no line of it can
// close.
func mdFence(info, text string) string {
	fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	return fence + info + "\n" + strings.TrimSuffix(text, "\n") + "\n" + fence + "\n"
}

// mdCell is inline markdown made safe inside a table cell: a pipe, even in
// a code span, is escaped, which GitHub undoes before it reads the cell.
func mdCell(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }

// htmlText is s as text inside an HTML element such as <summary>, where
// GitHub reads no markdown.
func htmlText(s string) string { return html.EscapeString(oneLine(s)) }

func htmlCode(s string) string { return "<code>" + htmlText(s) + "</code>" }

// oneLine keeps text from starting a new line, which would end a table
// row or a list item.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return longest
}
