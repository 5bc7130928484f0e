// Package tmpl renders load balancer configs from consul-template-syntax
// templates on text/template. It offers the part of consul-template an LB
// config needs — service, services, key, keyOrDefault, env — with the same
// semantics, and nothing that reaches the host beyond env: no file, exec,
// plugin or secret functions.
//
// Output is deterministic: instances are sorted by Node, Address, Port and
// ID and catalog services by name, so an unchanged set of instances renders
// byte-identical output and the sync loop can skip the reload.
package tmpl

import (
	"bytes"
	"context"
	"fmt"
	"text/template"
)

// Template is a parsed template. It is immutable, so one Template may be
// rendered concurrently.
type Template struct {
	name string
	src  string
	tree *template.Template
}

// Parse parses src; name is the file the template came from (or its KV
// path) and prefixes every error as name:line:col.
func Parse(name, src string) (*Template, error) {
	tree, err := newTree(name).Parse(src)
	if err != nil {
		return nil, parseError(name, src, err)
	}
	return &Template{name: name, src: src, tree: tree}, nil
}

func newTree(name string) *template.Template {
	// missingkey=zero: a missing ServiceMeta entry renders as "" rather
	// than "<no value>", which nginx would take literally.
	return template.New(name).Option("missingkey=zero").Funcs(funcNames).Funcs(pureFuncs)
}

// Name is the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// Render executes the template against d. Deps lists what it read, also when
// rendering fails, so a watcher can wait for a missing key or a recovering
// Consul and try again.
func (t *Template) Render(ctx context.Context, d Data) ([]byte, Deps, error) {
	rec := newRecorder()
	tree, err := t.tree.Clone()
	if err != nil {
		return nil, Deps{}, fmt.Errorf("%s: %w", t.name, err)
	}
	tree.Funcs(renderFuncs(ctx, d, rec))
	var buf bytes.Buffer
	if err := tree.Execute(&buf, nil); err != nil {
		return nil, rec.deps(), execError(t.name, err)
	}
	return buf.Bytes(), rec.deps(), nil
}
