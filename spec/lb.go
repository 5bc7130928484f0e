package spec

import (
	"io"
	"os"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var lbFields = []string{"image", "template", "ports"}

const templateRule = "the path of a consul-template template for nginx, relative to the stack file"

// lb decodes the load balancer. Its template is read now, so that a plan and
// the apply that follows it use the same bytes.
func (d *decoder) lb(f field) (*LB, []published) {
	lb := &LB{Image: DefaultLBImage, Pos: d.at(f.key)}
	fields, ok := d.mapping(f.val, "lb", "in lb", lbFields)
	if !ok {
		return lb, nil
	}
	if f, ok := fields["image"]; ok {
		lb.Image = d.image(f.val, "lb.image")
	}
	if f, ok := d.require(fields, "template", f.key, "in lb", templateRule); ok {
		lb.Template, lb.TemplateSource = d.template(f.val, "lb.template")
	}
	var pubs []published
	if f, ok := fields["ports"]; ok {
		lb.Ports, pubs = d.ports(f.val, "lb.ports")
	}
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
