package views

import (
	"encoding/json"
	"io"

	"github.com/stackctl/stackctl/plan"
)

// JSON writes the plan in its versioned machine-readable form, documented in
// docs/plan-json.md: the Plan as it is, indented, with a final newline.
func JSON(w io.Writer, p *plan.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(p)
}
