package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/stackctl/stackctl/internal/atomicfile"
)

// File is a plan saved with `plan -out FILE`, for a later `apply FILE`. Apply
// refuses it when the stack file or template changed (their hashes) or live
// state moved (Fingerprint of a fresh observation).
type File struct {
	FormatVersion int    `json:"format_version"`
	StackFile     string `json:"stack_file"`
	// StackSHA256 is the sha256 of the stack file's bytes; TemplateSHA256
	// that of the LB template's (empty without an LB).
	StackSHA256    string `json:"stack_sha256"`
	TemplateSHA256 string `json:"template_sha256,omitempty"`
	// Env is the environment the plan was made for ("" for none), and
	// OverlaySHA256 the sha256 of its overlay file's bytes.
	Env           string `json:"env,omitempty"`
	OverlaySHA256 string `json:"overlay_sha256,omitempty"`
	// ExcludeHosts are the hosts the plan was made without
	// (--exclude-host): applying it leaves them out too.
	ExcludeHosts []string `json:"exclude_hosts,omitempty"`
	Fingerprint  string   `json:"fingerprint"`
	Plan         *Plan    `json:"plan"`
}

// ErrPlanFileVersion is returned by LoadFile for a plan file this build
// cannot read.
var ErrPlanFileVersion = errors.New("unsupported plan file format_version")

// NewFile binds a plan to its inputs: the stack file's bytes, the template's
// source and the state it was computed from.
func NewFile(p *Plan, stackFile string, stackBytes []byte, templateSource *string, observed *State) *File {
	f := &File{
		FormatVersion: FormatVersion,
		StackFile:     stackFile,
		StackSHA256:   SHA256(stackBytes),
		Fingerprint:   Fingerprint(observed),
		Plan:          p,
	}
	if templateSource != nil {
		f.TemplateSHA256 = SHA256([]byte(*templateSource))
	}
	return f
}

// SHA256 is the hex sha256 of b, as plan files record their inputs.
func SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Save writes the plan file atomically (temporary file, then rename) and
// readable by its owner only.
func Save(path string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode plan file: %w", err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write plan file %s: %w", path, err)
	}
	return nil
}

// LoadFile reads a plan file written by Save.
func LoadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan file: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read plan file %s: not a stackctl plan file: %w", path, err)
	}
	if f.FormatVersion != FormatVersion || f.Plan == nil || f.Plan.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("read plan file %s: %w %d (this stackctl reads %d)", path, ErrPlanFileVersion, f.FormatVersion, FormatVersion)
	}
	return &f, nil
}
