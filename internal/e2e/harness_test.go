package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestStackNamesAreValidAndUnique(t *testing.T) {
	// The stack file's own rule for names, which prefix containers and networks.
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	seen := map[string]bool{}
	for range 100 {
		name := newStackName()
		if !valid.MatchString(name) {
			t.Fatalf("stack name %q is not a valid stack name", name)
		}
		if seen[name] {
			t.Fatalf("stack name %q handed out twice", name)
		}
		seen[name] = true
	}
}

// The harness fails tests and creates containers; in a binary it would be a
// bug waiting to happen. Only test files may import it.
func TestNotImportedByNonTestCode(t *testing.T) {
	const self = "github.com/stackctl/stackctl/internal/e2e"
	// .Imports lists what the package's non-test files import, for every build
	// tag the suite uses.
	for _, tags := range []string{"", "e2e"} {
		out, err := exec.Command("go", "list", "-e", "-tags", tags,
			"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/stackctl/stackctl/...").Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fields := strings.Fields(line)
			for _, imp := range fields[1:] {
				if imp == self {
					t.Errorf("%s imports %s from non-test code (tags %q)", fields[0], self, tags)
				}
			}
		}
	}
}
