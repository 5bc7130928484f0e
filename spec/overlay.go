package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Environments: one stack file and, beside it, an overlay per environment
// (Kamal's destinations): stack.yaml with -e staging reads stack.staging.yaml.
// The overlay holds only what differs, merged into the stack file key by
// key before anything is decoded, so every rule and every message is the
// stack file's own, and a problem in a value the overlay wrote points into
// the overlay.

// LabelEnv is put, beside LabelStack, on every Docker object of a stack
// loaded with an environment.
const LabelEnv = "io.stackctl.env"

const environmentRule = "1 to 20 lowercase letters, digits and dashes, starting with a letter and not ending with a dash"

// maxEnvName keeps <name>-<env> readable in container names; the stack
// name rule (at most 40) still applies to the whole.
const maxEnvName = 20

// CheckEnvName says what is wrong with an environment name, or "".
func CheckEnvName(env string) string {
	if len(env) > maxEnvName || !isName(env) {
		return fmt.Sprintf("environment %s is not a valid name (expected %s)", quote(env), environmentRule)
	}
	return ""
}

// StackName is the name of environment env ("" for none) of the stack
// called name.
func StackName(name, env string) string {
	if env == "" {
		return name
	}
	return name + "-" + env
}

// OverlayPath is the overlay file of environment env for the stack file at
// path: the environment goes before the extension (stack.yaml →
// stack.staging.yaml, stack.example.yaml → stack.example.staging.yaml).
func OverlayPath(path, env string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + env + ext
}

// Source is one file a stack was read from, with its bytes (a saved plan
// records their hashes).
type Source struct {
	Path string
	Data []byte
}

// LoadEnv is Load for environment env ("" for none): the stack file merged
// with its overlay beside it, the stack named <name>-<env> and remembering
// env (Stack.Env). It also returns the files it read with their bytes, the
// stack file first (a saved plan records their hashes); like Load, it reads
// no more than MaxFileSize+1 bytes of a file however large.
func LoadEnv(path, env string) (*Stack, []Source, error) {
	if env != "" {
		if msg := CheckEnvName(env); msg != "" {
			return nil, nil, errors.New(msg)
		}
	}
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	sources := []Source{{path, data}}
	var overlay *Overlay
	if env != "" {
		file := OverlayPath(path, env)
		odata, err := readFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("environment %s has no overlay: %s does not exist (expected it beside %s, holding what differs in %s)",
				env, file, path, env)
		}
		if err != nil {
			return nil, nil, err
		}
		overlay = &Overlay{Env: env, File: file, Data: odata}
		sources = append(sources, Source{file, odata})
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, nil, fmt.Errorf("read stack file: %w", err)
	}
	st, err := parse(path, data, overlay, os.LookupEnv, dir)
	return st, sources, err
}

// Overlay is an environment's overlay file, for ParseEnv.
type Overlay struct {
	Env  string
	File string // its path, as messages show it
	Data []byte
}

// ParseEnv is Parse of the stack file data merged with overlay (nil: none).
func ParseEnv(filename string, data []byte, overlay *Overlay, env func(string) (string, bool), dir string) (*Stack, error) {
	return parse(filename, data, overlay, env, dir)
}

// overlayDocument reads an overlay's top-level mapping: nil (with no
// problem) when it holds nothing, as an environment that differs in
// nothing may still want its own stack.
func (d *decoder) overlayDocument(o *Overlay) *yaml.Node {
	od := &decoder{file: o.File, dir: d.dir, lookup: d.lookup, overlay: true}
	root := od.document(o.Data)
	if root != nil {
		for i := 0; i+1 < len(root.Content); i += 2 {
			switch k := root.Content[i]; k.Value {
			case "version":
				od.addf(k, "version in an overlay (expected none: an overlay takes the stack file's version, and a file with version: is a stack file of its own)")
			case "name":
				od.addf(k, "name in an overlay (expected none: environment %s of the stack is named <name>-%s)", o.Env, o.Env)
			}
		}
	}
	d.problems = append(d.problems, od.problems...)
	return root
}

// mergeOverlay merges the overlay's tree into the stack file's: mappings
// merge key by key, anything else (lists included) is replaced, and a null
// removes the key. The stack file's nodes are not changed: a mapping that
// takes overlay keys is a copy. Every node that came from the overlay is
// recorded in d.origin, so that problems in it name the overlay's file.
func (d *decoder) mergeOverlay(base, over *yaml.Node, o *Overlay) *yaml.Node {
	d.markOrigin(over, o.File)
	return d.merge(base, over, "")
}

func (d *decoder) merge(base, over *yaml.Node, path string) *yaml.Node {
	if base == nil || base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := *base
	out.Content = append([]*yaml.Node(nil), base.Content...)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.addf(k, "key %s is %s (expected a plain name)", where(path), kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.addf(k, "duplicate key %s %s (already set at line %d; expected each key once)", quote(k.Value), where(path), first.Line)
			continue
		}
		seen[k.Value] = k
		if path == "" && (k.Value == "version" || k.Value == "name") {
			continue // refused by overlayDocument
		}
		at := -1
		for j := 0; j+1 < len(out.Content); j += 2 {
			if out.Content[j].Kind == yaml.ScalarNode && out.Content[j].Value == k.Value {
				at = j
				break
			}
		}
		switch {
		case isNull(v):
			if at >= 0 {
				out.Content = append(out.Content[:at], out.Content[at+2:]...)
			}
		case at >= 0:
			out.Content[at+1] = d.merge(out.Content[at+1], v, join(path, k.Value))
		default:
			out.Content = append(out.Content, k, v)
		}
	}
	return &out
}

func overlayFile(o *Overlay) string {
	if o == nil {
		return ""
	}
	return o.File
}

func where(path string) string {
	if path == "" {
		return "at top level of the overlay"
	}
	return "in " + path + " of the overlay"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (d *decoder) markOrigin(n *yaml.Node, file string) {
	if d.origin == nil {
		d.origin = map[*yaml.Node]string{}
	}
	stack := []*yaml.Node{n}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		d.origin[n] = file
		stack = append(stack, n.Content...)
	}
}

// Environments lists the environments that have an overlay beside the
// stack file at path, sorted: every <stem>.<env><ext> whose env is a valid
// environment name and whose top level has no version: (a file with one is
// a stack file of its own, such as stack.example.yaml beside stack.yaml).
func Environments(path string) ([]string, error) {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(filepath.Base(path), ext)
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(path), globEscape(stem)+".*"+globEscape(ext)))
	if err != nil {
		return nil, err
	}
	var envs []string
	for _, m := range matches {
		env := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), stem+"."), ext)
		if CheckEnvName(env) != "" || hasTopKey(m, "version") {
			continue
		}
		envs = append(envs, env)
	}
	sort.Strings(envs)
	return envs, nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

// hasTopKey says whether the YAML file at path is a mapping with key at
// its top level. A file that cannot be read or parsed has none.
func hasTopKey(path, key string) bool {
	data, err := readFile(path)
	if err != nil || len(data) > MaxFileSize {
		return false
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}
