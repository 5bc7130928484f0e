package spec

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a stack file, at the place it was written.
// Msg says what is wrong and, in parentheses, what was expected.
type Problem struct {
	Pos Position
	Msg string
}

// String formats the problem the way compilers do, so editors can jump to it:
// FILE:LINE:COL: message.
func (p *Problem) String() string { return p.Pos.String() + ": " + p.Msg }

// Error makes a single problem usable as an error.
func (p *Problem) Error() string { return p.String() }

// String is "FILE:LINE:COL".
func (p Position) String() string {
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Errors is every problem found in a stack file, sorted by position. Load and
// Parse return it (as error) when the file is not a valid stack.
type Errors struct {
	Problems []*Problem
}

// Error is one problem per line, in file order.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by line, then column; problems at the same
// place keep the order they were found in. Those in the overlay file (if
// not "") come after all others.
func sortProblems(ps []*Problem, overlay string) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Pos, ps[j].Pos
		if ao, bo := overlay != "" && a.File == overlay, overlay != "" && b.File == overlay; ao != bo {
			return bo
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
