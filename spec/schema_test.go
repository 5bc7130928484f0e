package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const schemaURL = "urn:stackctl:stack-file:v1"

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		t.Fatalf("schema.json does not compile: %v", err)
	}
	return sch
}

// yamlToJSON turns a YAML file into the values a JSON decoder would give,
// which is what a schema validates.
func yamlToJSON(t testing.TB, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := json.Marshal(jsonCompatible(v))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonCompatible turns the map[any]any that YAML may produce into
// map[string]any.
func jsonCompatible(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonCompatible(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonCompatible(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonCompatible(e)
		}
		return v
	}
	return v
}

func TestSchemaAcceptsTheExampleAndReadyMadeStacks(t *testing.T) {
	sch := compileSchema(t)
	files, err := filepath.Glob("../stacks/*/stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	valid, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(append(files, "../stack.example.yaml"), valid...)
	for _, file := range files {
		if err := sch.Validate(yamlToJSON(t, file)); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// TestSchemaRefusesWhatItCanSee: the mistakes a schema can express are
// refused by it as by Load. (Some, like a missing template file or a port
// clash, only Load can see.)
func TestSchemaRefusesWhatItCanSee(t *testing.T) {
	sch := compileSchema(t)
	for _, name := range []string{
		"unknown-field", "unknown-top-level-field", "unknown-nested-field", "version-missing", "version-2",
		"version-string", "name-uppercase", "name-too-long", "name-missing", "service-name-invalid",
		"service-name-reserved", "service-no-image", "services-empty", "services-list", "image-invalid",
		"replicas-word", "replicas-too-many", "replicas-negative", "port-out-of-range", "port-missing",
		"ports-bad-ip", "ports-bad-protocol", "ports-range", "duration-no-unit", "duration-bad",
		"duration-negative", "check-http-relative", "update-parallelism-zero", "update-order",
		"update-on-failure", "memory-unit", "cpus-zero", "cpus-too-many", "env-name", "env-value-list",
		"env-value-empty", "env-secret-typo", "command-string", "consul-image-and-address", "consul-address",
		"lb-template-absolute", "lb-no-template", "not-a-mapping",
		"reconcile-repo-relative", "reconcile-path-missing", "reconcile-path-outside", "reconcile-ssh-key-relative",
	} {
		file := "testdata/invalid/" + name + ".yaml"
		if _, err := os.Stat(file); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if err := sch.Validate(yamlToJSON(t, file)); err == nil {
			t.Errorf("%s: the schema accepts it, want it refused", file)
		}
	}
}

func TestSchemaReturnsACopy(t *testing.T) {
	a := Schema()
	a[0] = 'x'
	if Schema()[0] != '{' {
		t.Error("Schema() shares its bytes with the caller")
	}
}
