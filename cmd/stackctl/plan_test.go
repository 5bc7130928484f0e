package main

import (
	"strings"
	"testing"
)

func TestPlanOutputFormat(t *testing.T) {
	tests := []struct {
		json      bool
		format    string
		formatSet bool
		want      string
	}{
		{false, formatHuman, false, formatHuman},
		{true, formatHuman, false, formatJSON}, // --json alone
		{true, formatJSON, true, formatJSON},   // --json --format json agree
		{false, formatJSON, true, formatJSON},
		{false, formatMarkdown, true, formatMarkdown},
	}
	for _, tt := range tests {
		o := planOptions{json: tt.json, format: tt.format}
		if got, err := o.outputFormat(tt.formatSet); err != nil || got != tt.want {
			t.Errorf("json %t, --format %s (set %t): %q, %v; want %q", tt.json, tt.format, tt.formatSet, got, err, tt.want)
		}
	}
}

// Flags at odds are refused as a usage error before the stack file is
// read (it does not exist here).
func TestPlanRefusesFormatsAtOdds(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-f", "missing.yaml", "--json", "--format", "markdown"}, "stackctl: --json is --format json: give one or the other\n"},
		{[]string{"plan", "-f", "missing.yaml", "--format", "human", "--json"}, "stackctl: --json is --format json: give one or the other\n"},
		{[]string{"plan", "-f", "missing.yaml", "--format", "yaml"}, "stackctl: --format \"yaml\": want human, json or markdown\n"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, tt.args...)
		if code != exitFailure || stdout != "" || !strings.HasPrefix(stderr, tt.want) || !strings.Contains(stderr, "Run 'stackctl plan --help'") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
}
