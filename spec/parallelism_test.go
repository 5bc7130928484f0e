package spec

import (
	"fmt"
	"strings"
	"testing"
)

func TestParallelismTakesACountOrAPercentageOfTheReplicas(t *testing.T) {
	tests := []struct {
		replicas    int
		parallelism string
		want        int
		wantPercent int
		wantErr     string
	}{
		{20, "4", 4, 0, ""},
		{20, `"25%"`, 5, 25, ""},
		{20, "25%", 5, 25, ""},
		{3, `"25%"`, 1, 25, ""},   // rounded up: 0.75 → 1
		{10, `"33%"`, 4, 33, ""},  // 3.3 → 4
		{0, `"50%"`, 1, 50, ""},   // a scaled-to-zero service still has a batch size
		{7, `"100%"`, 7, 100, ""}, // everything at once
		{20, `"${P:-10%}"`, 2, 10, ""},
		{20, `"0%"`, 0, 0, `services.web.update.parallelism is "0%" (expected a whole number from 1 to 1000, or a percentage of the replicas from 1% to 100%)`},
		{20, `"150%"`, 0, 0, `is "150%"`},
		{20, `"half"`, 0, 0, `services.web.update.parallelism is the string "half" (expected a whole number from 1 to 1000, or a percentage`},
		{20, "0", 0, 0, `services.web.update.parallelism is 0 (expected a whole number from 1 to 1000)`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%s", tt.replicas, tt.parallelism), func(t *testing.T) {
			src := fmt.Sprintf("version: 1\nname: s\nservices:\n  web:\n    image: x:1\n    port: 80\n    replicas: %d\n    update:\n      parallelism: %s\n",
				tt.replicas, tt.parallelism)
			st, err := Parse("s.yaml", []byte(src), env(nil), abs(t, "testdata/valid"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "s.yaml:9:20") {
					t.Fatalf("err = %v, want one at s.yaml:9:20 containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := st.Services[0].Update
			if u.Parallelism != tt.want || u.ParallelismPercent != tt.wantPercent {
				t.Errorf("parallelism = %d (%d%%), want %d (%d%%)", u.Parallelism, u.ParallelismPercent, tt.want, tt.wantPercent)
			}
		})
	}
}
