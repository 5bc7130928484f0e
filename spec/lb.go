package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var lbFields = []string{"image", "template", "config", "ports", "host"}

const templateRule = "the path of a consul-template template for nginx, relative to the stack file"

// lb decodes the load balancer. Its template is read now, so that a plan and
// the apply that follows it use the same bytes.
func (d *decoder) lb(f field) (*LB, []published) {
	lb := &LB{Image: DefaultLBImage, Config: LBConfigAuto, Pos: d.at(f.key)}
	fields, ok := d.mapping(f.val, "lb", "in lb", lbFields)
	if !ok {
		return lb, nil
	}
	if f, ok := fields["image"]; ok {
		lb.Image = d.image(f.val, "lb.image")
	}
	if f, ok := fields["config"]; ok {
		lb.Config = d.oneOf(f.val, "lb.config", LBConfigAuto, LBConfigInclude, LBConfigWhole)
	}
	if f, ok := d.require(fields, "template", f.key, "in lb", templateRule); ok {
		lb.Template, lb.TemplateSource = d.template(f.val, "lb.template")
		if lb.Template != "" && lb.Config != "" {
			lb.Form = d.templateForm(lb)
		}
	}
	var pubs []published
	if f, ok := fields["ports"]; ok {
		lb.Ports, pubs = d.ports(f.val, "lb.ports")
	}
	lb.Host = d.lbHost(fields)
	return lb, pubs
}

func (d *decoder) template(n *yaml.Node, path string) (string, string) {
	rel, ok := d.str(n, path, templateRule)
	if !ok {
		return "", ""
	}
	abs, info, reason := insidePath(d.dir, rel, "the stack file's folder")
	if reason == "" && !info.Mode().IsRegular() {
		reason = "is not a regular file (expected " + templateRule + ")"
	}
	if reason == "" && info.Size() > MaxFileSize {
		reason = "is larger than 1 MiB (expected a template of sensible size)"
	}
	if reason != "" {
		d.addf(n, "%s %s %s", path, quote(rel), reason)
		return "", ""
	}
	src, err := readTemplate(abs)
	switch {
	case err != nil:
		d.addf(n, "%s %s cannot be read: %v", path, quote(rel), err)
		return "", ""
	case !utf8.Valid(src):
		d.addf(n, "%s %s is not UTF-8 text (expected a text template)", path, quote(rel))
		return "", ""
	}
	return abs, string(src)
}

func readTemplate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize))
}

// templateForm decides the form of the LB template: as lb.config says, or
// by what its top level holds. Contradictions nginx would certainly reject
// are problems at the template's own FILE:LINE:COL.
func (d *decoder) templateForm(lb *LB) string {
	scan := ScanTemplate(lb.TemplateSource)
	form := lb.Config
	if form == LBConfigAuto {
		form = scan.Form()
	}
	file := lb.Template
	if rel, err := filepath.Rel(d.dir, lb.Template); err == nil {
		file = filepath.Join(filepath.Dir(d.file), rel) // as the stack file's path was given
	}
	at := func(dir *TemplateDirective) Position {
		return Position{File: file, Line: dir.Line, Column: dir.Column}
	}
	switch {
	case form == LBConfigInclude && scan.MainOnly != nil:
		d.addPos(at(scan.MainOnly), "%q is a main-context directive, but lb.config is include: the template lands inside nginx's http block (expected lb.config: whole or auto for a whole nginx.conf)", scan.MainOnly.Name)
	case form == LBConfigWhole && scan.HTTPOnly != nil:
		d.addPos(at(scan.HTTPOnly), "%s", wholeMisplaced(lb.Config, scan))
	case form == LBConfigWhole && scan.Daemon != nil:
		d.addPos(at(scan.Daemon), "a whole-nginx.conf template may not set daemon: the LB runs nginx with -g 'daemon off;' and nginx rejects a directive set twice (expected no daemon directive)")
	}
	return form
}

func wholeMisplaced(config string, scan TemplateScan) string {
	h := scan.HTTPOnly
	if config == LBConfigAuto {
		return fmt.Sprintf("%q block at the top level beside the main-context directive %q (line %d): a whole nginx.conf needs it inside http { }, an include template cannot hold %q (expected one form or the other)",
			h.Name, scan.MainOnly.Name, scan.MainOnly.Line, scan.MainOnly.Name)
	}
	return fmt.Sprintf("%q block at the top level, but lb.config is whole: in a whole nginx.conf it belongs inside http { } (expected lb.config: include or auto for a conf.d template)", h.Name)
}
