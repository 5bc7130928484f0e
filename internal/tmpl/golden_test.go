package tmpl_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stackctl/stackctl/internal/golden"
	"github.com/stackctl/stackctl/internal/tmpl"
	"github.com/stackctl/stackctl/internal/tmpl/tmpltest"
)

// webInstances returns n passing instances of "web" as apply registers them
// (all on the Consul server's node, one address per container), plus two
// that must never be rendered: a critical web and a passing instance of
// another service.
func webInstances(n int) *tmpltest.Data {
	d := &tmpltest.Data{}
	for i := 1; i <= n; i++ {
		d.Add(tmpl.Instance{
			Node: "primes-consul", Name: "web", ID: fmt.Sprintf("primes-web-%d", i),
			Address: fmt.Sprintf("172.18.0.%d", 10+i), Port: 5000,
		})
	}
	d.Add(tmpl.Instance{Node: "primes-consul", Name: "web", ID: "primes-web-sick", Address: "172.18.0.200", Port: 5000, Status: tmpl.StatusCritical})
	d.Add(tmpl.Instance{Node: "primes-consul", Name: "api", ID: "primes-api-1", Address: "172.18.0.201", Port: 6000})
	return d
}

func TestDesignTemplateGolden(t *testing.T) {
	src, err := os.ReadFile("testdata/design.ctmpl")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := tmpl.Parse("design.ctmpl", string(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			out, deps, err := tp.Render(context.Background(), webInstances(n))
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, fmt.Sprintf("design-%d.golden", n), out)
			want := []tmpl.ServiceDep{{Name: "web", PassingOnly: true}}
			if fmt.Sprint(deps.Services) != fmt.Sprint(want) || deps.Catalog || len(deps.Keys) > 0 {
				t.Errorf("deps = %+v, want only %+v", deps, want)
			}
		})
	}
}
