package plan_test

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/plan"
)

// TestStatusJSONMatchesItsDocumentedSchema holds docs/status-json.md and
// the Go types to each other: every JSON field the types produce is in the
// doc's field tables with its JSON type, and the doc lists no field the
// types lack.
func TestStatusJSONMatchesItsDocumentedSchema(t *testing.T) {
	documented := documentedFields(t, "../docs/status-json.md")
	produced := map[string]string{}
	jsonFields(reflect.TypeOf(plan.Status{}), "", produced)

	for _, path := range sortedKeys(produced) {
		docType, ok := documented[path]
		switch {
		case !ok:
			t.Errorf("field %s (%s) is not documented in docs/status-json.md", path, produced[path])
		case !strings.HasPrefix(docType, produced[path]):
			t.Errorf("field %s: documented as %q, the Go type makes it %s", path, docType, produced[path])
		}
	}
	for _, path := range sortedKeys(documented) {
		if _, ok := produced[path]; !ok {
			t.Errorf("docs/status-json.md documents %s, which plan.Status does not have", path)
		}
	}
	if len(produced) < 40 {
		t.Errorf("only %d fields found in plan.Status: the walk is broken", len(produced))
	}
}

// fieldRow is a row of a field table: | `path` | type | meaning |.
var fieldRow = regexp.MustCompile("^\\| `([a-z0-9_.\\[\\]]+)` \\| ([^|]+?) \\|")

// documentedFields reads the field tables under "## Fields".
func documentedFields(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, fields, ok := strings.Cut(string(data), "\n## Fields\n")
	if !ok {
		t.Fatalf("%s has no \"## Fields\" section", file)
	}
	fields, _, _ = strings.Cut(fields, "\n## ")
	out := map[string]string{}
	for _, line := range strings.Split(fields, "\n") {
		if m := fieldRow.FindStringSubmatch(line); m != nil {
			if _, dup := out[m[1]]; dup {
				t.Errorf("%s documents %s twice", file, m[1])
			}
			out[m[1]] = m[2]
		}
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})

// jsonFields adds every field t encodes to out, path → JSON type, recursing
// into objects ("a.b") and arrays of objects ("a[].b").
func jsonFields(t reflect.Type, prefix string, out map[string]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			jsonFields(f.Type, prefix, out) // encoding/json lifts an embedded struct's fields
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := prefix + name
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out[path] = "array of object"
			jsonFields(ft.Elem(), path+"[].", out)
		case ft.Kind() == reflect.Slice:
			out[path] = "array of " + jsonType(ft.Elem())
		case ft.Kind() == reflect.Struct && ft != timeType:
			out[path] = "object"
			jsonFields(ft, path+".", out)
		default:
			out[path] = jsonType(ft)
		}
	}
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	case reflect.Struct:
		if t == timeType {
			return "string"
		}
	}
	return "unknown Go type " + t.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
