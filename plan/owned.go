package plan

import (
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/spec"
)

// Name suffixes apply gives a worker's container while it replaces it. The
// new one runs as <name>.new-<apply id> until it passes; the old one is kept
// stopped as <name>.old-<container id> until the apply has succeeded; a
// rollback sets a failed new one aside as <name>.rollback-<container id>.
const (
	SuffixNew      = ".new-"
	SuffixKept     = ".old-"
	SuffixRollback = ".rollback-"
)

// Interim names, as Interim returns them.
const (
	InterimNew      = "new"
	InterimKept     = "old"
	InterimRollback = "rollback"
)

// Role is the container's role label: RoleWorker, RoleConsul, RoleLB or
// RoleReconcile.
func (c *Container) Role() string { return c.Labels[spec.LabelRole] }

// Service is the service a worker container belongs to ("" for others).
func (c *Container) Service() string { return c.Labels[spec.LabelService] }

// Slot is a worker container's slot, 0 when it has none or it is unreadable
// (slots start at 1).
func (c *Container) Slot() int {
	n, err := strconv.Atoi(c.Labels[spec.LabelSlot])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// Interim says which temporary name an apply gave the container, if any:
// InterimNew, InterimKept or InterimRollback; "" for a container under its
// own name. Apply's temporary names are its only record of the container's
// part in a replace, so the name is read rather than a label.
func (c *Container) Interim() string {
	switch {
	case strings.Contains(c.Name, SuffixKept):
		return InterimKept
	case strings.Contains(c.Name, SuffixNew):
		return InterimNew
	case strings.Contains(c.Name, SuffixRollback):
		return InterimRollback
	}
	return ""
}
