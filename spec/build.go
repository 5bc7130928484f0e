package spec

import (
	"path/filepath"

	"gopkg.in/yaml.v3"
)

var buildFields = []string{"context", "dockerfile"}

const buildRule = "a folder inside the stack file's folder, or {context: FOLDER, dockerfile: FILE}"

// build decodes "build: FOLDER" or "build: {context: FOLDER, dockerfile: FILE}".
// The context must be a folder inside the stack file's folder, the
// Dockerfile a file inside the context.
func (d *decoder) build(f field, path string) *Build {
	b := &Build{Dockerfile: DefaultDockerfile}
	context, contextNode, contextPath := ".", f.val, path
	var dockerfileNode *yaml.Node
	switch f.val.Kind {
	case yaml.ScalarNode:
		s, ok := d.str(f.val, path, buildRule)
		if !ok {
			return nil
		}
		context = s
	case yaml.MappingNode:
		fields, _ := d.mapping(f.val, path, "in "+path, buildFields)
		if f, ok := fields["context"]; ok {
			contextNode, contextPath = f.val, path+".context"
			s, ok := d.str(f.val, contextPath, buildRule)
			if !ok {
				return nil
			}
			context = s
		}
		if f, ok := fields["dockerfile"]; ok {
			dockerfileNode = f.val
			s, ok := d.str(f.val, path+".dockerfile", "a file inside the build context")
			if !ok {
				return nil
			}
			b.Dockerfile = s
		}
	default:
		d.addf(f.val, "%s is %s (expected %s)", path, kindName(f.val), buildRule)
		return nil
	}

	abs, info, reason := insidePath(d.dir, context, "the stack file's folder")
	if reason == "" && !info.IsDir() {
		reason = "is not a folder (expected the folder holding the Dockerfile)"
	}
	if reason != "" {
		d.addf(contextNode, "%s %s %s", contextPath, quote(context), reason)
		return nil
	}
	b.Context = abs

	if dockerfileNode == nil {
		dockerfileNode = contextNode
	}
	_, info, reason = insidePath(abs, b.Dockerfile, "the build context "+quote(context))
	if reason == "" && !info.Mode().IsRegular() {
		reason = "is not a regular file (expected a Dockerfile)"
	}
	if reason != "" {
		d.addf(dockerfileNode, "%s.dockerfile %s %s", path, quote(b.Dockerfile), reason)
		return nil
	}
	b.Dockerfile = filepath.Clean(b.Dockerfile)
	return b
}
