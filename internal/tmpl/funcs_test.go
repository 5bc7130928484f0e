package tmpl_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stackctl/stackctl/internal/tmpl"
	"github.com/stackctl/stackctl/internal/tmpl/tmpltest"
)

func render(t *testing.T, src string, d tmpl.Data) (string, tmpl.Deps, error) {
	t.Helper()
	tp, err := tmpl.Parse("t.ctmpl", src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	out, deps, err := tp.Render(context.Background(), d)
	return string(out), deps, err
}

func mixedData() *tmpltest.Data {
	return (&tmpltest.Data{}).Add(
		tmpl.Instance{Node: "n1", Name: "web", ID: "w1", Address: "10.0.0.1", Port: 80, Tags: tmpl.Tags{"v2", "blue"}, ServiceMeta: map[string]string{"weight": "3"}},
		tmpl.Instance{Node: "n1", Name: "web", ID: "w2", Address: "10.0.0.2", Port: 80, Tags: tmpl.Tags{"green"}, Status: tmpl.StatusWarning},
		tmpl.Instance{Node: "n1", Name: "web", ID: "w3", Address: "10.0.0.3", Port: 80, Tags: tmpl.Tags{"blue"}, Status: tmpl.StatusCritical},
		tmpl.Instance{Node: "n0", Name: "db", ID: "d1", Address: "10.0.1.1", Port: 5432, Tags: tmpl.Tags{"primary"}},
	).Put("lb/max_fails", "3").Put("lb/empty", "")
}

func TestFunctions(t *testing.T) {
	const ids = `{{range .}}{{.ID}} {{end}}`
	tests := []struct {
		name, src, want string
	}{
		{"service passing only", `{{range service "web"}}{{.ID}}/{{.Status}} {{end}}`, "w1/passing "},
		{"service any", `{{range service "web|any"}}{{.ID}}/{{.Status}} {{end}}`, "w1/passing w2/warning w3/critical "},
		{"service any as second argument", `{{range service "web" "any"}}{{.ID}} {{end}}`, "w1 w2 w3 "},
		{"service status list", `{{range service "web|passing,warning"}}{{.ID}} {{end}}`, "w1 w2 "},
		{"service critical only", `{{range service "web|critical"}}{{.ID}} {{end}}`, "w3 "},
		{"service by tag", `{{range service "blue.web"}}{{.ID}} {{end}}`, "w1 "},
		{"service by tag any", `{{range service "blue.web|any"}}{{.ID}} {{end}}`, "w1 w3 "},
		{"service else", `{{range service "nope"}}x{{else}}none{{end}}`, "none"},
		{"instance fields", `{{range service "web"}}{{.Node}} {{.Address}}:{{.Port}} {{.ID}} {{.Name}} {{.Tags}} {{.ServiceMeta.weight}}{{end}}`, "n1 10.0.0.1:80 w1 web [blue v2] 3"},
		{"missing meta is empty", `[{{range service "web"}}{{.ServiceMeta.nope}}{{index .ServiceMeta "nope"}}{{end}}]`, "[]"},
		{"tags contains", `{{range service "web|any"}}{{if .Tags.Contains "blue"}}{{.ID}} {{end}}{{end}}`, "w1 w3 "},
		{"services sorted with tags", `{{range services}}{{.Name}}{{.Tags}} {{end}}`, "db[primary] web[blue green v2] "},
		{"key", `{{key "lb/max_fails"}}`, "3"},
		{"empty key exists", `[{{key "lb/empty"}}]`, "[]"},
		{"keyOrDefault present", `{{keyOrDefault "lb/max_fails" "1"}}`, "3"},
		{"keyOrDefault missing", `{{keyOrDefault "lb/nope" "1"}}`, "1"},
		{"env from data", `{{env "LB_PORT"}}`, "8080"},
		{"env unset", `[{{env "LB_UNSET"}}]`, "[]"},
		{"string helpers", `{{toUpper "a"}}{{toLower "B"}}{{trimSpace " c "}}{{replaceAll "-" "_" "d-e"}}{{join "," (split ":" "f:g")}}`, "Abcd_ef,g"},
		{"top-level dot is nil", ids, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mixedData().SetEnv("LB_PORT", "8080")
			got, _, err := render(t, tt.src, d)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnvReadsProcessEnvironment(t *testing.T) {
	t.Setenv("STACKCTL_TMPL_TEST", "from-process")
	got, deps, err := render(t, `{{env "STACKCTL_TMPL_TEST"}}`, newNoEnvData())
	if err != nil || got != "from-process" {
		t.Fatalf("got %q, %v", got, err)
	}
	if !reflect.DeepEqual(deps.Env, []string{"STACKCTL_TMPL_TEST"}) {
		t.Errorf("deps.Env = %v", deps.Env)
	}
}

func TestEnvRefusesConsulCredentials(t *testing.T) {
	t.Setenv("CONSUL_HTTP_TOKEN", "secret")
	got, _, err := render(t, `{{env "CONSUL_HTTP_TOKEN"}}`, newNoEnvData())
	if !errors.Is(err, tmpl.ErrEnvForbidden) {
		t.Fatalf("got %q, %v; want ErrEnvForbidden", got, err)
	}
}

// noEnvData is a Data without EnvData, so env falls back to os.LookupEnv.
type noEnvData struct{ tmpl.Data }

func newNoEnvData() noEnvData { return noEnvData{&tmpltest.Data{}} }

func TestKeyMissingFails(t *testing.T) {
	_, deps, err := render(t, "x\n {{key \"lb/nope\"}}", mixedData())
	if !errors.Is(err, tmpl.ErrKeyNotFound) {
		t.Fatalf("err = %v, want ErrKeyNotFound", err)
	}
	if want := `t.ctmpl:2:4: key "lb/nope": key does not exist (use keyOrDefault for an optional key)`; err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if !reflect.DeepEqual(deps.Keys, []string{"lb/nope"}) {
		t.Errorf("a failed render must still report its deps so the watcher waits for the key; got %+v", deps)
	}
}

func TestDataFailureIsWrapped(t *testing.T) {
	unreachable := errors.New("consul unreachable")
	d := &tmpltest.Data{}
	d.Fail(unreachable)
	_, deps, err := render(t, `{{range service "web"}}{{end}}`, d)
	if !errors.Is(err, unreachable) {
		t.Fatalf("err = %v, want it to wrap the Data error", err)
	}
	if want := `t.ctmpl:1:9: service "web": consul unreachable`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if len(deps.Services) != 1 {
		t.Errorf("deps = %+v", deps)
	}
}

func TestDepsRecordsEverythingRead(t *testing.T) {
	src := `{{range service "web"}}{{end}}{{range service "web"}}{{end}}{{range service "blue.web|any"}}{{end}}` +
		`{{range services}}{{end}}{{key "lb/max_fails"}}{{keyOrDefault "lb/x" ""}}{{env "LB_PORT"}}`
	_, deps, err := render(t, src, mixedData())
	if err != nil {
		t.Fatal(err)
	}
	want := tmpl.Deps{
		Services: []tmpl.ServiceDep{{Name: "web", PassingOnly: true}, {Name: "web", Tag: "blue"}},
		Catalog:  true,
		Keys:     []string{"lb/max_fails", "lb/x"},
		Env:      []string{"LB_PORT"},
	}
	if !reflect.DeepEqual(deps, want) {
		t.Errorf("deps = %+v\nwant   %+v", deps, want)
	}
}

func TestServiceQueryErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{{service "web@dc2"}}`, `t.ctmpl:1:3: service "web@dc2": selecting a datacenter is not supported`},
		{`{{service "web|bogus"}}`, `t.ctmpl:1:3: service "web": unknown status filter "bogus", want one of any, passing, warning, critical, unknown`},
		{`{{service "web|any,passing"}}`, `t.ctmpl:1:3: service "web": status filter "any" cannot be combined with others`},
		{`{{service ""}}`, `t.ctmpl:1:3: service "": want [tag.]name[|status,...]`},
		{`{{service "a" "b" "c"}}`, `t.ctmpl:1:3: service: expected 1 or 2 arguments, got 3`},
	}
	for _, tt := range tests {
		_, _, err := render(t, tt.src, mixedData())
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got  %v\n want %s", tt.src, err, tt.want)
		}
	}
}

// An unchanged set of instances must render byte-identical output whatever
// order Consul returns it in, or every blocking-query wake-up would reload
// nginx.
func TestSortingIsStableAcrossInputOrder(t *testing.T) {
	base := []tmpl.Instance{
		{Node: "b", Name: "web", ID: "1", Address: "10.0.0.1", Port: 80},
		{Node: "a", Name: "web", ID: "2", Address: "10.0.0.9", Port: 80},
		{Node: "a", Name: "web", ID: "3", Address: "10.0.0.2", Port: 81},
		{Node: "a", Name: "web", ID: "4", Address: "10.0.0.2", Port: 80},
		{Node: "a", Name: "web", ID: "6", Address: "10.0.0.2", Port: 80, Tags: tmpl.Tags{"z", "a"}},
		{Node: "a", Name: "web", ID: "5", Address: "10.0.0.2", Port: 80, Tags: tmpl.Tags{"a", "z"}},
	}
	src := `{{range service "web"}}{{.Node}} {{.Address}}:{{.Port}} {{.ID}} {{.Tags}}
{{end}}`
	want := "a 10.0.0.2:80 4 []\na 10.0.0.2:80 5 [a z]\na 10.0.0.2:80 6 [a z]\na 10.0.0.2:81 3 []\na 10.0.0.9:80 2 []\nb 10.0.0.1:80 1 []\n"
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		shuffled := append([]tmpl.Instance(nil), base...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, _, err := render(t, src, (&tmpltest.Data{}).Add(shuffled...))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("permutation %d rendered\n%s\nwant\n%s", i, got, want)
		}
	}
}

func TestRenderDoesNotMutateData(t *testing.T) {
	insts := []tmpl.Instance{
		{Node: "b", Name: "web", ID: "1", Tags: tmpl.Tags{"z", "a"}},
		{Node: "a", Name: "web", ID: "2"},
	}
	d := &sliceData{insts: insts}
	if _, _, err := render(t, `{{range service "web"}}{{.ID}}{{end}}`, d); err != nil {
		t.Fatal(err)
	}
	if insts[0].ID != "1" || insts[0].Tags[0] != "z" {
		t.Errorf("Render reordered the caller's slice: %+v", insts)
	}
}

type sliceData struct {
	tmpltest.Data
	insts []tmpl.Instance
}

func (s *sliceData) Service(context.Context, string, string, bool) ([]tmpl.Instance, error) {
	return s.insts, nil
}
