package apply

// Undo is how to put back what one step changed. It is plain data, kept in
// the journal, and every undo is idempotent and works from live state: it
// may run after a crash at any point of the step, or twice.
type Undo struct {
	Op string `json:"op"`
	// Name is the network name, registration ID, KV key or image ref.
	Name string `json:"name,omitempty"`
	// Restore puts back a container slot (UndoContainer).
	Restore *Restore `json:"restore,omitempty"`
	// Registration is the registration before the step (nil: none).
	Registration *Registration `json:"registration,omitempty"`
	// Value is a KV key's value before the step (nil: absent).
	Value *string `json:"value,omitempty"`
	// ImageID is the image the ref named before (UndoImage; "": none).
	ImageID string `json:"image_id,omitempty"`
	// Host is the host of the step, in a stack with hosts: the engine a
	// network or image undo acts on.
	Host string `json:"host,omitempty"`
}

// Undo operations.
const (
	UndoNetwork      = "remove-network"
	UndoContainer    = "restore-container"
	UndoRegistration = "restore-registration"
	UndoKV           = "restore-kv"
	UndoImage        = "restore-image"
	UndoNone         = "none"
)

// Restore puts back one container slot (a worker slot, the Consul or the LB
// container): the old container under its name, running as it was, with
// its registration; any container this apply made for the slot removed.
type Restore struct {
	Role    string `json:"role"`
	Service string `json:"service,omitempty"`
	Slot    int    `json:"slot,omitempty"`
	// Name is the slot's container name. TmpName was the new container's
	// name until it took over Name (stackctl before the one-change swap);
	// it is read only to roll back a journal such a version left.
	Name    string `json:"name"`
	TmpName string `json:"tmp_name,omitempty"`
	// OldID is the container that held the slot ("" none).
	OldID      string        `json:"old_id,omitempty"`
	OldRunning bool          `json:"old_running,omitempty"`
	OldReg     *Registration `json:"old_registration,omitempty"`
	// Discard: OldID is removed once the apply succeeded (it was replaced
	// or destroyed, and kept stopped until then).
	Discard bool `json:"discard,omitempty"`
	// Deadline is how long the restored container may take to pass.
	Deadline int64 `json:"deadline_ms,omitempty"`
}
