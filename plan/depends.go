package plan

import (
	"fmt"
	"slices"
)

// link sets the DependsOn of every step Compute plans (docs/plan-json.md,
// "Dependencies"). It names everything a step needs; reduceDepends then
// keeps only the direct edges.
func (b *builder) link() {
	net, consul := stepIDs(b.netSteps), stepIDs(b.consulSteps)
	images, made := imageSteps{}, imageSteps{}
	for i, st := range b.imageSteps {
		if st.Action == ActionCopy { // after the build or pull that makes it
			b.imageSteps[i].DependsOn = append(b.imageSteps[i].DependsOn, made[st.Target]...)
		} else {
			made[st.Target] = append(made[st.Target], stepID(st))
		}
		images[st.Target] = append(images[st.Target], stepID(st))
	}
	setDepends(b.consulSteps, net, images.of(b.s.Consul.Image))
	if b.s.MultiHost() {
		// Nothing else runs while an agent of a running cluster is
		// replaced: the apply reaches the cluster through one of them,
		// and a step that ended while that one restarts could not write
		// its end to the journal.
		for i := range b.consulSteps {
			if b.consulSteps[i].Action == ActionReplace {
				b.consulSteps[i].DependsOn = append(b.consulSteps[i].DependsOn, stepIDs(b.imageSteps)...)
			}
		}
	}
	chainReplaces(b.consulSteps)
	served := b.linkWorkers(net, consul, images) // what an LB that serves must see before it changes
	setDepends(b.registrations, consul)
	served = append(served, stepIDs(b.registrations)...)
	if b.newLB() {
		served = nil // nothing serves yet: a new LB renders workers as they pass
	}
	setDepends(b.tmplSteps, consul, served)
	if b.s.LB != nil {
		setDepends(b.lbSteps, net, consul, images.of(b.s.LB.Image), stepIDs(b.tmplSteps), served)
	}
	b.linkRemovals()
	// Last, after the removals too: the agent starts once the stack it
	// keeps is as the file says, so that its first pass finds nothing to
	// heal.
	setDepends(b.reconcileSteps, b.sinks(), stepIDs(b.deregister), stepIDs(b.destroy))
	if b.s.MultiHost() {
		b.dropForeignHosts()
	}
}

// dropForeignHosts keeps a step on one host from waiting for the network or
// image steps of another: a worker on box1 needs box1's network and its
// copy of the image, and has no reason to wait while box3's copy is still
// streaming.
func (b *builder) dropForeignHosts() {
	hostOf := map[string]string{}
	for _, st := range append(append([]Step(nil), b.netSteps...), b.imageSteps...) {
		if st.Host != "" {
			hostOf[stepID(st)] = st.Host
		}
	}
	for _, steps := range append([][]Step{b.consulSteps, b.registrations, b.lbSteps, b.destroy}, b.workers...) {
		for i := range steps {
			if steps[i].Kind == KindConsul && steps[i].Action == ActionReplace {
				continue // waits for every host's images (link)
			}
			steps[i].DependsOn = slices.DeleteFunc(steps[i].DependsOn, func(id string) bool {
				h, ok := hostOf[id]
				return ok && h != steps[i].Host
			})
		}
	}
}

// imageSteps maps an image reference to the steps that make it: the build
// or pull on the control engine, then, for a stack with hosts, the copies
// to hosts (Compute lists the copies after the step they copy from).
type imageSteps map[string][]string

// of is the steps that make ref, if the plan has any. A container waits for
// the copies to every host, not only to its own: the edge costs little,
// since copies run in parallel, and keeps the graph one list per image.
func (m imageSteps) of(ref string) []string { return m[ref] }

// linkWorkers links the worker steps and returns their IDs. In a rolling
// update a service's slots go through a window of update.parallelism: each
// step waits for the one parallelism places before it, so that at most that
// many slots are being replaced at once and a slot starts as soon as one
// ahead of it is done, not when the slowest of a whole batch is (as
// Swarm's update.parallelism does). The batches stay, as groups, for
// display and for rollback.
func (b *builder) linkWorkers(net, consul []string, images imageSteps) []string {
	var ids []string
	rolling := rollingUpdates(b.workers)
	window := map[string][]Step{} // per rolling service, its steps so far
	for _, batch := range b.workers {
		svc := b.s.Service(batch[0].Service)
		setDepends(batch, net, consul, images.of(svc.Image))
		if rolling[svc.Name] {
			width := max(svc.Update.Parallelism, 1)
			for k := range batch {
				prev := window[svc.Name]
				if n := len(prev); n >= width {
					batch[k].DependsOn = append(batch[k].DependsOn, stepID(prev[n-width]))
				}
				window[svc.Name] = append(prev, batch[k])
			}
		}
		ids = append(ids, stepIDs(batch)...)
	}
	return ids
}

// linkRemovals makes every removal wait for everything else, so that what
// goes leaves only once what stays serves. A container goes after its own
// registration (which leaves the LB first), not after every other one: that
// would be an edge from each to each, 38,000 of them when 200 workers scale
// to 5. A removed LB's template key waits for the LB, which would otherwise
// render (and fail on) its absence.
func (b *builder) linkRemovals() {
	rest := b.sinks()
	setDepends(b.deregister, rest)
	leaves := map[string]string{} // registration ID → the step that deregisters it
	for _, st := range b.deregister {
		leaves[st.Target] = stepID(st)
	}
	var lbs []string
	for _, st := range b.destroy {
		if st.Kind == KindLB {
			lbs = append(lbs, stepID(st))
		}
	}
	for i := range b.destroy {
		st := &b.destroy[i]
		st.DependsOn = append(st.DependsOn, rest...)
		if id, ok := leaves[st.Target]; ok && st.Kind == KindWorker {
			st.DependsOn = append(st.DependsOn, id)
		}
		if st.Kind == KindTemplate {
			st.DependsOn = append(st.DependsOn, lbs...)
		}
	}
}

// sinks are the steps other than removals that no other step depends on:
// once they have finished, all of those have.
func (b *builder) sinks() []string {
	steps := [][]Step{b.netSteps, b.imageSteps, b.consulSteps, b.registrations, b.tmplSteps, b.lbSteps}
	steps = append(steps, b.workers...)
	awaited := map[string]bool{}
	for _, list := range steps {
		for _, st := range list {
			for _, id := range st.DependsOn {
				awaited[id] = true
			}
		}
	}
	var out []string
	for _, list := range steps {
		for _, st := range list {
			if !awaited[stepID(st)] {
				out = append(out, stepID(st))
			}
		}
	}
	return out
}

// rollingUpdates are the services whose worker steps are a rolling update:
// at least one replaces a container. Only then does a slot wait for one
// before it; a first apply, a scale-up or a restart of stopped workers
// replaces nothing that serves, and its batches overlap.
func rollingUpdates(batches [][]Step) map[string]bool {
	rolling := map[string]bool{}
	for _, batch := range batches {
		for _, st := range batch {
			if st.Action == ActionReplace {
				rolling[st.Service] = true
			}
		}
	}
	return rolling
}

func (b *builder) newLB() bool {
	return len(b.lbSteps) == 1 && b.lbSteps[0].Action == ActionCreate
}

// stepID is a step's ID: "<kind>/<target>".
// StepID is the ID Compute gives a step: "<kind>/<target>", with
// "@<host>" when it has a host.
func StepID(st Step) string { return stepID(st) }

func stepID(st Step) string {
	if st.Host != "" {
		return string(st.Kind) + "/" + st.Target + "@" + st.Host
	}
	return string(st.Kind) + "/" + st.Target
}

func stepIDs(steps []Step) []string {
	ids := make([]string, 0, len(steps))
	for _, st := range steps {
		ids = append(ids, stepID(st))
	}
	return ids
}

// setDepends adds the IDs to the DependsOn of each step.
func setDepends(steps []Step, ids ...[]string) {
	for i := range steps {
		for _, list := range ids {
			steps[i].DependsOn = append(steps[i].DependsOn, list...)
		}
	}
}

// reduceDepends leaves in each step's DependsOn only its direct edges,
// sorted: a step it depends on through another one it depends on is
// dropped, which leaves the order of the plan as it was. Every step must
// come after those it depends on; anything else is a bug of the plan's
// making, and panics.
func reduceDepends(steps []Step) {
	pos := make(map[string]int, len(steps))
	for i, st := range steps {
		pos[st.ID] = i
	}
	ancestors := make([]bitset, len(steps))
	for i := range steps {
		st := &steps[i]
		deps := make([]int, 0, len(st.DependsOn))
		for _, id := range st.DependsOn {
			j, ok := pos[id]
			if !ok || j >= i {
				panic(fmt.Sprintf("plan: step %s depends on %s, which is not before it", st.ID, id))
			}
			deps = append(deps, j)
		}
		slices.Sort(deps)
		deps = slices.Compact(deps)
		// A step is reached through another only if that one comes later.
		reached := newBitset(len(steps))
		st.DependsOn = nil
		for k := len(deps) - 1; k >= 0; k-- {
			j := deps[k]
			if !reached.has(j) {
				st.DependsOn = append(st.DependsOn, steps[j].ID)
			}
			reached.or(ancestors[j])
			reached.set(j)
		}
		slices.Sort(st.DependsOn)
		ancestors[i] = reached
	}
}

// bitset is a set of step positions.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) or(o bitset) {
	for i := range o {
		b[i] |= o[i]
	}
}

// chainReplaces makes each replace among steps wait for the one before:
// the Consul agents of a running cluster are replaced one at a time, so
// that the servers keep their quorum (apply waits for the cluster to be
// whole again before a replace step ends).
func chainReplaces(steps []Step) {
	prev := ""
	for i := range steps {
		if steps[i].Action != ActionReplace {
			continue
		}
		if prev != "" {
			steps[i].DependsOn = append(steps[i].DependsOn, prev)
		}
		prev = stepID(steps[i])
	}
}
