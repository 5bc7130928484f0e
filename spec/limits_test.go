package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// laughs builds a "billion laughs" document: levels of anchors, each a list
// of width aliases of the one before, expanding to width^levels strings.
func laughs(levels, width int) []byte {
	var b strings.Builder
	b.WriteString("l0: &l0 [\"lol\"]\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), width), ",")
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, refs)
	}
	return []byte(b.String())
}

// TestBillionLaughs: aliases are refused before anything is expanded, so a
// document that would expand to 10^12 nodes costs no more than its size.
func TestBillionLaughs(t *testing.T) {
	for name, data := range map[string][]byte{
		"file":      readTestdata(t, "testdata/invalid/billion-laughs.yaml"),
		"10^12":     laughs(12, 10),
		"merge key": []byte("a: &a {x: 1}\nb:\n  <<: *a\n"),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Parse("laughs.yaml", data, nil, ".")
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), "YAML alias *") || !strings.Contains(err.Error(), "is not supported") {
				t.Fatalf("err = %v, want YAML alias ... is not supported", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("allocated %d bytes for a %d-byte file, want under 4 MiB", alloc, len(data))
			}
			if elapsed > time.Second {
				t.Errorf("took %s, want well under a second", elapsed)
			}
		})
	}
}

func readTestdata(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDeepNesting: the YAML parser bounds nesting; what it accepts must not
// hurt the walk either.
func TestDeepNesting(t *testing.T) {
	for _, data := range [][]byte{
		[]byte("services: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n"),
		[]byte("services: " + strings.Repeat("{a: ", 5000) + "1" + strings.Repeat("}", 5000) + "\n"),
		[]byte(strings.Repeat("- ", 5000) + "x\n"),
	} {
		start := time.Now()
		_, err := Parse("deep.yaml", data, nil, ".")
		if err == nil {
			t.Fatal("deeply nested document accepted")
		}
		checkProblems(t, "deep.yaml", data, err)
		if elapsed := time.Since(start); elapsed > 2*slowdown*time.Second {
			t.Errorf("took %s", elapsed)
		}
	}
}

// TestLargeFileFailsFast: a syntax error at the end of a large file is
// located in a few parses, not one per line.
func TestLargeFileFailsFast(t *testing.T) {
	line := "key: value\n"
	data := []byte(strings.Repeat(line, (MaxFileSize/4)/len(line)) + "bad: [\n")
	start := time.Now()
	_, err := Parse("big.yaml", data, nil, ".")
	checkProblems(t, "big.yaml", data, err)
	if !strings.Contains(err.Error(), "YAML syntax error") {
		t.Errorf("err = %.200v, want a syntax error", err)
	}
	if elapsed := time.Since(start); elapsed > 2*slowdown*time.Second {
		t.Errorf("took %s", elapsed)
	}
}

func BenchmarkLoad100Services(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: 1\nname: bench\nconsul:\n  ports: [\"127.0.0.1:8500:8500\"]\nservices:\n")
	for i := range 100 {
		fmt.Fprintf(&sb, `  svc-%03d:
    image: stackctl.local/svc-%03d:v1
    replicas: 10
    port: %d
    command: ["/svc", "-id", "%d"]
    env:
      ID: "%d"
      API_TOKEN: ${API_TOKEN}
      GREETING: {value: hello, secret: false}
    check: {http: /healthz, interval: 5s, timeout: 2s}
    update: {parallelism: 2, order: start-first, healthy_deadline: 60s, on_failure: rollback}
    resources: {memory: 128m, cpus: 0.5}
`, i, i, 5000+i, i, i)
	}
	sb.WriteString("lb:\n  template: nginx.ctmpl\n  ports: [\"127.0.0.1:8080:80\"]\n")
	dir := b.TempDir()
	tmpl, err := os.ReadFile("testdata/valid/nginx.ctmpl")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "stack.yaml")
	if err := os.WriteFile(filepath.Join(dir, "nginx.ctmpl"), tmpl, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Setenv("API_TOKEN", "t0k3n")
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	for b.Loop() {
		st, err := Load(path)
		if err != nil || len(st.Services) != 100 {
			b.Fatalf("got %v", err)
		}
	}
}

// TestManyProblemsStayLinear: problems that each need a position, or a look
// at all the others, cost linear time, not quadratic: with tens of thousands
// of them, quadratic would take minutes.
func TestManyProblemsStayLinear(t *testing.T) {
	const size = MaxFileSize / 4
	var ports strings.Builder
	ports.WriteString("version: 1\nname: s\nservices:\n  web: {image: x, port: 1}\nlb:\n  template: nginx.ctmpl\n  ports:\n")
	for i := 0; ports.Len() < size; i++ {
		fmt.Fprintf(&ports, "  - 10.%d.%d.%d:8080:80\n", i>>16&255, i>>8&255, i&255)
	}
	for name, data := range map[string][]byte{
		"tabs":  []byte("a:\n" + strings.Repeat("\t- b\n", size/5)),
		"ports": []byte(ports.String()),
	} {
		start := time.Now()
		_, err := Parse("big.yaml", data, nil, "testdata/valid")
		if elapsed := time.Since(start); elapsed > 2*slowdown*time.Second {
			t.Errorf("%s: took %s", name, elapsed)
		}
		if name == "tabs" {
			checkProblems(t, "big.yaml", data, err)
		}
	}
}
