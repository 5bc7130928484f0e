package apply

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/stackctl/stackctl/plan"
	"github.com/stackctl/stackctl/spec"
)

// rollback undoes every step that started, batch by batch in reverse, the
// steps of a batch in parallel, at most Workers of them doing Docker work at
// once. It returns the steps it undid and what it could not undo.
func (e *Executor) rollback(ctx context.Context, applyID string, steps []JournalStep) ([]string, error) {
	groups := undoBatches(steps)
	var undone []string
	var errs *multierror.Error
	for g := len(groups) - 1; g >= 0; g-- {
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, e.opts.Workers)
		for _, st := range groups[g] {
			if st.Status == plan.JournalPending || st.Undo == nil {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				release := sync.OnceFunc(func() { <-sem })
				defer release()
				start := time.Now()
				err := e.undo(withSlotRelease(ctx, release), applyID, st.Undo)
				e.opts.Progress.StepUndone(st.ID, time.Since(start), err)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = multierror.Append(errs, fmt.Errorf("undo %s: %w", st.ID, err))
					return
				}
				undone = append(undone, st.ID)
			}()
		}
		wg.Wait()
	}
	return undone, errs.ErrorOrNil()
}

// rollbackJournal rolls back an unfinished apply's journal, then the one it
// carried on from, and so on.
func (e *Executor) rollbackJournal(ctx context.Context, doc *Journal) ([]string, error) {
	var undone []string
	for ; doc != nil; doc = doc.Resumes {
		ids, err := e.rollback(ctx, doc.ApplyID, doc.Steps)
		undone = append(undone, ids...)
		if err != nil {
			return undone, err
		}
	}
	return undone, nil
}

// undoBatches splits journal steps into what rollback undoes together: the
// plan's groups, except that consecutive groups of worker steps (the
// batches of a rolling update, of one service or several) are one. Each
// worker slot is restored on its own and keeps its new container until its
// old one passes again, so batching them protects nothing on the way back,
// and restoring every slot at once is what makes a rollback fast.
func undoBatches(steps []JournalStep) [][]JournalStep {
	var out [][]JournalStep
	for i, st := range steps {
		switch {
		case i > 0 && steps[i-1].Group == st.Group:
		case i > 0 && isWorkerStep(steps[i-1]) && isWorkerStep(st) && allWorkers(out[len(out)-1]):
		default:
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], st)
	}
	return out
}

func isWorkerStep(st JournalStep) bool {
	return strings.HasPrefix(st.Group, plan.GroupWorkersPrefix) && strings.HasPrefix(st.ID, string(plan.KindWorker)+"/")
}

func allWorkers(steps []JournalStep) bool {
	for _, st := range steps {
		if !isWorkerStep(st) {
			return false
		}
	}
	return true
}

// undo carries out one Undo.
func (e *Executor) undo(ctx context.Context, applyID string, u *Undo) error {
	ctx = withHost(ctx, u.Host)
	switch u.Op {
	case UndoNone, "":
		return nil
	case UndoNetwork:
		n, err := e.Docker.InspectNetwork(ctx, u.Name)
		if err != nil || n == nil || n.Labels[LabelApply] != applyID {
			return err
		}
		return e.Docker.RemoveNetwork(ctx, u.Name)
	case UndoContainer:
		return e.restore(ctx, applyID, u.Restore)
	case UndoRegistration:
		return e.restoreRegistration(ctx, u.Name, u.Registration)
	case UndoKV:
		c := e.consul.current()
		if c == nil {
			return fmt.Errorf("Consul is not reachable to restore %s", u.Name)
		}
		if u.Value == nil {
			return c.KVDelete(ctx, u.Name)
		}
		since := time.Now().UTC()
		if err := c.KVPut(ctx, u.Name, []byte(*u.Value)); err != nil {
			return err
		}
		if u.Name == e.Stack.KVPrefix()+plan.KVLBTemplate {
			e.waitLB(ctx, since) // the apply ends with the old config rendered again
		}
		return nil
	case UndoImage:
		if u.ImageID == "" {
			return e.Docker.UntagImage(ctx, u.Name)
		}
		return e.Docker.TagImage(ctx, u.ImageID, u.Name)
	}
	return fmt.Errorf("unknown undo operation %q (journal written by another stackctl version?)", u.Op)
}

// restoreRegistration puts a registration back as it was (prev nil: it did
// not exist), at its container's current address.
func (e *Executor) restoreRegistration(ctx context.Context, id string, prev *Registration) error {
	c := e.consul.current()
	if c == nil {
		return fmt.Errorf("Consul is not reachable to restore registration %s", id)
	}
	if prev == nil {
		return e.deregister(ctx, id)
	}
	reg := *prev
	// A worker on a host keeps its host's address and port for its life;
	// one on the stack network may come back at another IP.
	if ctr, err := e.Docker.InspectContainer(ctx, id); err == nil && ctr != nil && ctr.Running() && ctr.Host == "" {
		if ip := ctr.IP(e.Stack.NetworkName()); ip != "" && ip != reg.Address {
			reg.Address = ip
			reg.Check = moveCheck(reg.Check, prev.Address, ip)
		}
	}
	return c.Register(ctx, reg)
}

// moveCheck points a check URL at a new address.
func moveCheck(chk *Check, from, to string) *Check {
	if chk == nil || from == "" {
		return chk
	}
	out := *chk
	prefix := "http://" + from + ":"
	if len(out.URL) > len(prefix) && out.URL[:len(prefix)] == prefix {
		out.URL = "http://" + to + ":" + out.URL[len(prefix):]
	}
	return &out
}

// restore puts a container slot back: the old container under its name,
// running as before, registered as before and passing; then every
// container the apply made for the slot leaves Consul, the LB, and Docker.
func (e *Executor) restore(ctx context.Context, applyID string, r *Restore) error {
	if r == nil {
		return nil
	}
	news, err := e.newContainers(ctx, applyID, r)
	if err != nil {
		return err
	}
	var errs *multierror.Error
	if r.Role == plan.RoleConsul && r.OldID != "" {
		// A Consul agent on its host's network holds its ports: the new
		// one goes before the old one can start again.
		for _, n := range news {
			if err := e.Docker.RemoveContainer(ctx, n.ID); err != nil {
				return fmt.Errorf("remove %s: %w", n.Name, err)
			}
		}
		news = nil
	}
	since := time.Now().UTC()
	served := e.servedByNew(ctx, r, news)
	if r.OldID != "" {
		if err := e.restoreOld(ctx, r, news); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	if served && r.OldReg != nil {
		// The slot's registration points at the old container again: the
		// new one leaves only once the LB no longer routes to it.
		e.waitLBMembership(ctx, since)
	}
	if c := e.consul.current(); c != nil && r.Role == plan.RoleWorker {
		ids := []string{}
		if r.OldReg == nil {
			ids = append(ids, r.Name)
		}
		if r.TmpName != "" {
			ids = append(ids, r.TmpName)
		}
		for _, n := range news {
			if n.Name != r.Name && n.Name != r.TmpName {
				ids = append(ids, n.Name)
			}
		}
		for _, id := range ids {
			if err := e.deregister(ctx, id); err != nil {
				errs = multierror.Append(errs, err)
			}
		}
		// A worker that moved host left the slot's ID on the new host's
		// agent; the old host's has it again.
		for _, n := range news {
			if r.OldReg != nil && n.Host != "" && n.Host != r.OldReg.Host {
				if err := e.deregisterMoved(ctx, n.Host, r.Name); err != nil {
					errs = multierror.Append(errs, err)
				}
			}
		}
	}
	for _, n := range news {
		if err := e.Docker.RemoveContainer(ctx, n.ID); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("remove %s: %w", n.Name, err))
		}
	}
	if r.Role == plan.RoleConsul && r.OldID == "" && len(news) > 0 && errs == nil {
		// The server this apply created goes with its data.
		if err := e.removeConsulVolume(ctx); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

func (e *Executor) restoreOld(ctx context.Context, r *Restore, news []plan.Container) error {
	old, err := e.Docker.InspectContainer(ctx, r.OldID)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", r.Name, err)
	}
	if old == nil {
		return fmt.Errorf("the previous container %s (%.12s) no longer exists: it cannot be restored", r.Name, r.OldID)
	}
	if old.Name != r.Name {
		for _, n := range news {
			if n.Name == r.Name {
				aside := r.TmpName
				if aside == "" {
					aside = r.Name + plan.SuffixRollback + n.ID[:min(12, len(n.ID))]
				}
				if err := e.Docker.RenameContainer(ctx, n.ID, aside); err != nil {
					return fmt.Errorf("rename %s out of the way: %w", n.Name, err)
				}
			}
		}
		if err := e.Docker.RenameContainer(ctx, old.ID, r.Name); err != nil {
			return fmt.Errorf("rename %s back to %s: %w", old.Name, r.Name, err)
		}
	}
	switch {
	case r.OldRunning && !old.Running():
		if err := e.Docker.StartContainer(ctx, old.ID); err != nil {
			return fmt.Errorf("start %s again: %w", r.Name, err)
		}
		if old, err = e.Docker.InspectContainer(ctx, old.ID); err != nil || old == nil {
			return fmt.Errorf("inspect %s: %v", r.Name, orMissing(err))
		}
	case !r.OldRunning && old.Running():
		if err := e.Docker.StopContainer(ctx, old.ID, workerStopTimeout); err != nil {
			return fmt.Errorf("stop %s again: %w", r.Name, err)
		}
	}
	if r.OldReg == nil || e.consul.current() == nil {
		return nil
	}
	reg := *r.OldReg
	if ip := old.IP(e.Stack.NetworkName()); old.Host == "" && ip != "" && ip != reg.Address {
		reg.Check = moveCheck(reg.Check, reg.Address, ip)
		reg.Address = ip
	}
	deadline := time.Duration(r.Deadline) * time.Millisecond
	if r.OldRunning && reg.Check != nil {
		// As admit does: the old container is asked itself, and put back
		// in service passing, at once; the one that replaced it leaves the
		// LB in the same change.
		releaseSlot(ctx)
		switch err := e.awaitHealthy(ctx, reg.ID, reg.Check.URL, reg.Check.Timeout, max(deadline, time.Second)); {
		case err == nil:
			reg.Passing = true
		case errors.Is(err, errProbeUnreachable):
		default:
			return err
		}
	}
	if err := e.consul.current().Register(ctx, reg); err != nil {
		return fmt.Errorf("register %s again: %w", reg.ID, err)
	}
	if !r.OldRunning {
		return nil
	}
	releaseSlot(ctx) // waiting for the check is Consul's work, not Docker's
	if reg.Passing {
		return e.waitServing(ctx, reg, max(deadline, time.Second))
	}
	return e.waitPassing(ctx, reg.ID, deadline)
}

// servedByNew reports whether the slot's registration points at one of the
// containers the apply made for it, so that the LB may route to it.
func (e *Executor) servedByNew(ctx context.Context, r *Restore, news []plan.Container) bool {
	c := e.consul.current()
	if c == nil || r.Role != plan.RoleWorker || len(news) == 0 {
		return false
	}
	reg, err := c.Registration(ctx, r.Name)
	if err != nil || reg == nil {
		return false
	}
	svc := e.Stack.Service(r.Service)
	for _, n := range news {
		if svc != nil && e.registeredAt(reg, svc, &n) {
			return true
		}
	}
	return false
}

// newContainers are the containers apply applyID made for a slot.
func (e *Executor) newContainers(ctx context.Context, applyID string, r *Restore) ([]plan.Container, error) {
	all, err := e.Docker.ListContainers(ctx, e.Stack.Name)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []plan.Container
	for _, c := range all {
		l := c.Labels
		if c.ID == r.OldID || l[LabelApply] != applyID || l[spec.LabelRole] != r.Role {
			continue
		}
		if r.Role == plan.RoleWorker && (l[spec.LabelService] != r.Service || l[spec.LabelSlot] != strconv.Itoa(r.Slot)) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// removeKept removes the containers a successful apply kept stopped:
// the replaced and destroyed ones, at most Workers at once. Consul's own
// container goes last of all, after the journal (which lives in it) is
// deleted, and the network after it.
func (e *Executor) removeKept(ctx context.Context, consul bool) error {
	return e.removeKeptOf(ctx, e.journal.snapshot(), consul)
}

// removeKeptOf is removeKept for the steps of a journal.
func (e *Executor) removeKeptOf(ctx context.Context, steps []JournalStep, consul bool) error {
	var kept []*Restore
	var networks []*Undo
	for _, st := range steps {
		u := st.Undo
		if st.Status != plan.JournalDone || u == nil {
			continue
		}
		if u.Restore != nil && u.Restore.Discard && u.Restore.OldID != "" && (u.Restore.Role == plan.RoleConsul) == consul {
			kept = append(kept, u.Restore)
		}
		if consul && u.Op == UndoNone && st.ID == plan.StepID(plan.Step{Kind: plan.KindNetwork, Target: u.Name, Host: u.Host}) {
			networks = append(networks, u)
		}
	}
	errs := multierror.Append(nil, bounded(e.opts.Workers, kept, func(r *Restore) error {
		if err := e.Docker.RemoveContainer(ctx, r.OldID); err != nil {
			return fmt.Errorf("remove %s: %w", r.Name, err)
		}
		return nil
	}))
	for _, u := range networks {
		ctx, n := withHost(ctx, u.Host), u.Name
		if err := e.Docker.RemoveNetwork(ctx, n); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("remove network %s%s: %w%s", n, onHostSuffix(u.Host), err, e.staleEndpointHint(ctx, n, err)))
		}
	}
	return errs.ErrorOrNil()
}

// staleEndpointHint explains a network Docker will not remove for "active
// endpoints" while no container is attached to it: Docker 20.10 sometimes
// keeps counting an endpoint of a removed container (moby/moby#42119).
// Nothing but a restart of the Docker daemon clears the count.
func (e *Executor) staleEndpointHint(ctx context.Context, name string, err error) string {
	if !strings.Contains(err.Error(), "active endpoints") {
		return ""
	}
	subnet, used, ierr := e.Docker.NetworkAddresses(ctx, name)
	if ierr != nil {
		return ""
	}
	gateway := 0 // NetworkAddresses counts a configured subnet's gateway
	if subnet != "" {
		gateway = 1
	}
	if len(used) > gateway {
		return ""
	}
	return " (no container is attached: Docker keeps a stale endpoint count, a known engine bug, moby/moby#42119; " +
		"the network is unused but keeps its address range until the Docker daemon restarts, then `docker network rm " + name + "` removes it)"
}
