package plan

import (
	"testing"

	"github.com/stackctl/stackctl/spec"
)

func TestOwnedContainerLabelsAndInterimNames(t *testing.T) {
	tests := []struct {
		name, slot  string
		role, svc   string
		wantSlot    int
		wantInterim string
	}{
		{"s-web-3", "3", RoleWorker, "web", 3, ""},
		{"s-web-3.old-0123456789ab", "3", RoleWorker, "web", 3, InterimKept},
		{"s-web-3.new-abc123", "3", RoleWorker, "web", 3, InterimNew},
		{"s-web-3.rollback-0123456789ab", "3", RoleWorker, "web", 3, InterimRollback},
		{"s-web-x", "x", RoleWorker, "web", 0, ""},
		{"s-lb", "", RoleLB, "", 0, ""},
	}
	for _, tt := range tests {
		labels := map[string]string{spec.LabelRole: tt.role}
		if tt.svc != "" {
			labels[spec.LabelService], labels[spec.LabelSlot] = tt.svc, tt.slot
		}
		c := &Container{Name: tt.name, Labels: labels}
		if c.Role() != tt.role || c.Service() != tt.svc || c.Slot() != tt.wantSlot || c.Interim() != tt.wantInterim {
			t.Errorf("%s: role %q service %q slot %d interim %q", tt.name, c.Role(), c.Service(), c.Slot(), c.Interim())
		}
	}
}
