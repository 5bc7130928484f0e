package main

import (
	"errors"

	"github.com/stackctl/stackctl/internal/tmpl"
	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// checkLBTemplate renders the stack's LB template against the workers it
// declares (plan.CheckLBTemplate). A template that does not parse or render
// makes the stack invalid: a problem at the template's FILE:LINE:COL, as
// validate, plan and apply report every other problem. Nil without an LB.
func checkLBTemplate(st *spec.Stack) (*plan.LBTemplate, error) {
	t := plan.CheckLBTemplate(st)
	if t == nil || t.Err == nil {
		return t, nil
	}
	p := &spec.Problem{Pos: spec.Position{File: t.File, Line: 1, Column: 1}, Msg: "lb template: " + t.Err.Error()}
	var te *tmpl.Error
	if errors.As(t.Err, &te) {
		p.Pos = spec.Position{File: te.File, Line: max(te.Line, 1), Column: max(te.Col, 1)}
		p.Msg = "lb template does not render against the stack's workers: " + te.Msg
	}
	return t, &spec.Errors{Problems: []*spec.Problem{p}}
}
