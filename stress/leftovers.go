package stress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stackctl/stackctl/internal/atomicfile"
	"github.com/stackctl/stackctl/internal/procid"
)

// Active is one fault in place on one container, as recorded: enough to
// undo it without anything else (the network and address to reconnect
// with, the container whose view of the worker is cut).
type Active struct {
	Kind      Kind   `json:"kind"`
	Container string `json:"container"`
	ID        string `json:"id"`
	Network   string `json:"network,omitempty"`
	IP        string `json:"ip,omitempty"`
	From      string `json:"from,omitempty"` // cut-consul: the Consul container's ID
	Fault     int    `json:"fault"`          // the fault's number in its run
}

func (a Active) String() string {
	switch a.Kind {
	case Kill:
		return "started " + a.Container + " (killed)"
	case Pause:
		return "unpaused " + a.Container
	case Disconnect:
		return "reconnected " + a.Container + " to " + a.Network
	case CutConsul:
		return "gave Consul its route to " + a.Container + " back"
	}
	return string(a.Kind) + " " + a.Container
}

// Left describes the fault as it is left in place: "primes-web-3 paused".
func (a Active) Left() string {
	switch a.Kind {
	case Kill:
		return a.Container + " killed"
	case Pause:
		return a.Container + " paused"
	case Disconnect:
		return a.Container + " off network " + a.Network
	case CutConsul:
		return a.Container + " cut off from Consul"
	}
	return a.Container + " " + string(a.Kind)
}

// leftoversFile is the record's content.
type leftoversFile struct {
	Stack   string         `json:"stack"`
	Process procid.Process `json:"process"`
	Since   time.Time      `json:"since"`
	Active  []Active       `json:"active"`
}

// Leftovers is the record of the faults a stress run has in place: a file
// per stack in the user's state folder, written before a fault is injected
// and emptied as faults are undone, then removed. A file, not Consul KV,
// because faults cut Consul off and restart it; and a pid, which says
// whether the run is still alive, means something only on the machine
// where it ran.
type Leftovers struct {
	path string
	mu   sync.Mutex
	rec  leftoversFile
}

// StateDir is where stackctl keeps per-user state: $XDG_STATE_HOME/stackctl,
// else ~/.local/state/stackctl.
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "stackctl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no folder for stackctl's state: set XDG_STATE_HOME: %w", err)
	}
	return filepath.Join(home, ".local", "state", "stackctl"), nil
}

// LeftoversPath is the record of stack's stress run.
func LeftoversPath(stack string) (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "stress-"+stack+".json"), nil
}

// NewLeftovers starts the record of this process's run on stack. It does
// not write anything until a fault is added.
func NewLeftovers(stack string) (*Leftovers, error) {
	path, err := LeftoversPath(stack)
	if err != nil {
		return nil, err
	}
	return &Leftovers{path: path, rec: leftoversFile{Stack: stack, Process: procid.Self(), Since: time.Now().UTC(), Active: []Active{}}}, nil
}

// Add records faults about to be injected.
func (l *Leftovers) Add(_ context.Context, acts ...Active) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec.Active = append(l.rec.Active, acts...)
	return l.save()
}

// Remove forgets faults that were undone; the file goes with the last.
func (l *Leftovers) Remove(_ context.Context, acts ...Active) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec.Active = slices.DeleteFunc(l.rec.Active, func(a Active) bool { return slices.Contains(acts, a) })
	return l.save()
}

// Of returns the faults fault number i has in place.
func (l *Leftovers) Of(i int) []Active {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Active
	for _, a := range l.rec.Active {
		if a.Fault == i {
			out = append(out, a)
		}
	}
	return out
}

func (l *Leftovers) save() error {
	if len(l.rec.Active) == 0 {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.MarshalIndent(l.rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(l.path, append(b, '\n'), 0o600)
}

// ErrStressRunning is returned by UndoLeftovers while the run that left
// the record may still be going.
var ErrStressRunning = errors.New("a stress run is going on")

// readLeftovers reads stack's record; nil without one.
func readLeftovers(stack string) (*leftoversFile, string, error) {
	path, err := LeftoversPath(stack)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, nil
	}
	if err != nil {
		return nil, path, err
	}
	var rec leftoversFile
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, path, fmt.Errorf("%s: not a stress record (%v); remove it once no stress run is going on", path, err)
	}
	return &rec, path, nil
}

// Left lists the faults a stress run left on stack when it died, without
// touching them (for plan, which changes nothing); nil when there is no
// record or its run may be alive.
func Left(stack string) []Active {
	rec, _, err := readLeftovers(stack)
	if err != nil || rec == nil || !procid.Self().Gone(rec.Process, procid.Alive) {
		return nil
	}
	return rec.Active
}

// UndoLeftovers undoes what a stress run on stack left in place when it
// died (kill -9, a crash, a lost machine), and removes its record. A run
// that is alive, or whose liveness cannot be told from here (it ran on
// another machine or in another container), is left alone with an error
// wrapping ErrStressRunning, unless force. It returns what it undid.
func UndoLeftovers(ctx context.Context, eng Engine, cut Cutter, stack string, force bool) ([]Active, error) {
	rec, path, err := readLeftovers(stack)
	if err != nil || rec == nil {
		return nil, err
	}
	if !force && !procid.Self().Gone(rec.Process, procid.Alive) {
		return nil, fmt.Errorf("%w on stack %s (%s pid %d since %s; its faults are recorded in %s; if it is dead, run stackctl stress --undo)",
			ErrStressRunning, stack, rec.Process.Host, rec.Process.PID, rec.Since.Format(time.RFC3339), path)
	}
	if err := UndoAll(ctx, eng, cut, rec.Active); err != nil {
		return nil, fmt.Errorf("undoing what a stress run left on stack %s (recorded in %s): %w", stack, path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return rec.Active, nil
}

// Describe lists what was undone for one line of output.
func Describe(acts []Active) string {
	parts := make([]string, len(acts))
	for i, a := range acts {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}
