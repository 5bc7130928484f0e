package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Load reads, validates and resolves the stack file at path. Variables come
// from the process environment; relative paths are taken from the file's
// folder. A file that is not a valid stack yields *Errors, every problem in
// it with FILE:LINE:COL, FILE being path as given.
func Load(path string) (*Stack, error) {
	st, _, err := LoadEnv(path, "")
	return st, err
}

// readFile reads at most MaxFileSize+1 bytes: enough to tell a file too large.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read stack file %s: %w", path, err)
	}
	return data, nil
}

// recoverPanics turns a panic while parsing into an error, a last line of
// defence for the CLI. The fuzz test turns it off so that it finds them.
var recoverPanics = true

// Parse validates the stack file content data. filename is used in messages
// and as Stack.File; env looks variables up (nil: none is set); dir is the
// folder relative paths start from. A file that is not a valid stack yields
// *Errors with every problem found, sorted by position.
func Parse(filename string, data []byte, env func(string) (string, bool), dir string) (*Stack, error) {
	return parse(filename, data, nil, env, dir)
}

func parse(filename string, data []byte, overlay *Overlay, env func(string) (string, bool), dir string) (st *Stack, err error) {
	if recoverPanics {
		defer func() {
			if r := recover(); r != nil {
				st, err = nil, &Errors{Problems: []*Problem{{
					Pos: Position{File: filename, Line: 1, Column: 1},
					Msg: fmt.Sprintf("internal error reading this file: %v (please report it with the file)", r),
				}}}
			}
		}()
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	d := &decoder{file: filename, dir: dir, lookup: env}
	root := d.document(data)
	if overlay != nil {
		d.environment = overlay.Env
		if over := d.overlayDocument(overlay); root != nil && over != nil {
			root = d.mergeOverlay(root, over, overlay)
		}
	}
	if root != nil && len(d.problems) == 0 {
		st = d.stack(root)
	}
	if len(d.problems) > 0 {
		sortProblems(d.problems, overlayFile(overlay))
		return nil, &Errors{Problems: d.problems}
	}
	return st, nil
}

// document checks data as text and as YAML and returns its top-level
// mapping, or nil after recording why there is none.
func (d *decoder) document(data []byte) *yaml.Node {
	top := &yaml.Node{Line: 1, Column: 1}
	expected := "a stack file: version: 1, name and services"
	if d.overlay {
		expected = "an overlay: the keys whose values differ from the stack file's"
	}
	if len(data) > MaxFileSize {
		d.addf(top, "file is %d bytes (expected at most %d: 1 MiB)", len(data), MaxFileSize)
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if !d.overlay {
			d.addf(top, "file is empty (expected %s)", expected)
		}
		return nil
	}
	starts := lineStarts(data)
	if offset, msg, bad := checkText(data, starts); bad {
		d.addAt(data, starts, offset, msg)
		return nil
	}
	docs, err := parseDocuments(data, starts)
	var syntax *syntaxError
	switch {
	case errors.As(err, &syntax):
		d.syntaxProblems(data, starts, syntax)
		return nil
	case errors.Is(err, errNoDocument):
		if !d.overlay {
			d.addf(top, "file has only comments (expected %s)", expected)
		}
		return nil
	}
	if len(docs) > 1 {
		d.addf(docs[1], "a second YAML document starts here (expected one document per stack file)")
		return nil
	}
	if len(docs[0].Content) == 0 {
		if !d.overlay {
			d.addf(top, "file has only comments (expected %s)", expected)
		}
		return nil
	}
	root := docs[0].Content[0]
	if !d.checkNodes(root) {
		return nil
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		if !d.overlay {
			d.addf(root, "file has no content (expected %s)", expected)
		}
		return nil
	}
	if root.Kind != yaml.MappingNode {
		what := kindName(root)
		if root.Kind == yaml.ScalarNode && root.Tag != "!!null" {
			what = "the scalar " + what
		}
		if d.overlay {
			d.addf(root, "top level is %s (expected a mapping of the keys whose values differ from the stack file's)", what)
		} else {
			d.addf(root, "top level is %s (expected a mapping with version: 1, name and services)", what)
		}
		return nil
	}
	return root
}

func (d *decoder) addAt(data []byte, starts []int, offset int, msg string) {
	line, col := positionAt(data, starts, offset)
	d.problems = append(d.problems, &Problem{Pos: Position{File: d.file, Line: line, Column: col}, Msg: msg})
}

// syntaxProblems reports a YAML syntax error, and every tab used for
// indentation: YAML forbids them, and the parser's own message for one does
// not say so.
func (d *decoder) syntaxProblems(data []byte, starts []int, syntax *syntaxError) {
	errLine, _ := positionAt(data, starts, syntax.offset)
	onTabLine := false
	for _, offset := range indentTabs(data, starts) {
		if line, _ := positionAt(data, starts, offset); line == errLine {
			onTabLine = true
		}
		d.addAt(data, starts, offset, "tab character in indentation (expected spaces: YAML does not allow tabs there)")
	}
	if !onTabLine {
		d.addAt(data, starts, syntax.offset, "YAML syntax error: "+syntax.msg+" (expected valid YAML: check indentation, quotes and brackets here)")
	}
}

// checkNodes walks the whole tree once before anything is decoded. It
// refuses aliases outright: nothing in a stack file needs them, and refusing
// them before any expansion makes "billion laughs" documents cost no more
// than their size. It also refuses tags and merge keys, and trees too large.
func (d *decoder) checkNodes(root *yaml.Node) bool {
	var firstAlias *yaml.Node
	aliases, count := 0, 0
	ok := true
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if count++; count > maxNodes {
			d.addf(root, "file has more than %d YAML values (expected a stack file of a sensible size)", maxNodes)
			return false
		}
		switch {
		case n.Kind == yaml.AliasNode:
			if aliases++; firstAlias == nil {
				firstAlias = n
			}
			continue
		case !plainTag(n.Tag):
			d.addf(n, "YAML tag %s is not supported (expected plain values without tags)", quote(n.Tag))
			ok = false
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i < len(n.Content); i += 2 {
				if isMergeKey(n.Content[i]) {
					d.addf(n.Content[i], "YAML merge key << is not supported (expected the fields written out)")
					ok = false
				}
			}
		}
		for i := len(n.Content) - 1; i >= 0; i-- {
			stack = append(stack, n.Content[i])
		}
	}
	if firstAlias != nil {
		d.addf(firstAlias, "YAML alias *%s is not supported (expected every value written out; this file has %s, refused before any is expanded)",
			firstAlias.Value, pluralize(aliases, "alias", "aliases"))
		return false
	}
	return ok
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
