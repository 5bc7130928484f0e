package apply

import (
	"encoding/json"
	"fmt"
	"io/fs"
)

// VolumeMount is a named volume mounted at Target. The volume is created
// with Labels when it does not exist yet, so that destroy finds it by the
// stack's label; an existing one is used as it is. A new volume starts as a
// copy of what the image holds at Target (owner included), as Docker does.
type VolumeMount struct {
	Name   string
	Target string
	Labels map[string]string
}

// File is a file put into a container before it starts, owned by UID:GID
// with mode Mode. Missing parent folders are made by the engine (root's,
// 0755). Its Content is often a secret, so every way of printing a File
// (fmt's verbs, JSON) shows its path, mode and size only.
type File struct {
	Path    string // absolute, in the container
	Mode    fs.FileMode
	UID     int
	GID     int
	Content []byte
}

// String describes the file without its content.
func (f File) String() string {
	return fmt.Sprintf("File{%s %v %d:%d, %d bytes}", f.Path, f.Mode, f.UID, f.GID, len(f.Content))
}

// Format prints String for every verb (%v, %+v, %#v, %s, %x, ...): none of
// them may show the content.
func (f File) Format(s fmt.State, _ rune) { _, _ = fmt.Fprint(s, f.String()) }

// MarshalJSON leaves the content out, for the same reason.
func (f File) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Path  string `json:"path"`
		Mode  string `json:"mode"`
		Owner string `json:"owner"`
		Size  int    `json:"size"`
	}{f.Path, f.Mode.String(), fmt.Sprintf("%d:%d", f.UID, f.GID), len(f.Content)})
}
