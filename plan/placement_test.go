package plan

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/stackctl/stackctl/spec"
)

// placementKeys are service names enough to see that a property holds by
// construction, not by the luck of one name's hashes.
func placementKeys() []string {
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("primes/svc-%d", i)
	}
	return keys
}

func slotRange(n int) []int {
	slots := make([]int, n)
	for i := range slots {
		slots[i] = i + 1
	}
	return slots
}

func hostNames(n int) []string {
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("node-%d", i+1)
	}
	return hosts
}

func loads(placed map[int]string) map[string]int {
	l := map[string]int{}
	for _, h := range placed {
		l[h]++
	}
	return l
}

// moved returns the slots of before that are on another host in after.
func moved(before, after map[int]string) []int {
	var out []int
	for slot, host := range before {
		if h, ok := after[slot]; ok && h != host {
			out = append(out, slot)
		}
	}
	slices.Sort(out)
	return out
}

// checkPlaced checks what every placement must be: each slot on one of
// hosts, no host over ceil(slots/hosts).
func checkPlaced(t *testing.T, key string, slots []int, hosts []string, placed map[int]string) {
	t.Helper()
	if len(placed) != len(slots) {
		t.Fatalf("%s: placed %d slots, want %d", key, len(placed), len(slots))
	}
	bound := (len(slots) + len(hosts) - 1) / len(hosts)
	for _, slot := range slots {
		if !slices.Contains(hosts, placed[slot]) {
			t.Fatalf("%s: slot %d on %q, not one of %v", key, slot, placed[slot], hosts)
		}
	}
	for h, n := range loads(placed) {
		if n > bound {
			t.Fatalf("%s: %s holds %d slots, more than the bound %d", key, h, n, bound)
		}
	}
}

func TestPlaceIsDeterministic(t *testing.T) {
	slots, hosts := slotRange(12), hostNames(3)
	for _, key := range placementKeys()[:50] {
		a := Place(key, slots, hosts, nil)
		// Another order and repeats of the same slots and hosts.
		reversed := slices.Clone(slots)
		slices.Reverse(reversed)
		b := Place(key, append(reversed, 3, 7), append(slices.Clone(hosts[1:]), hosts[0], hosts[1]), nil)
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, Place(key, slots, hosts, nil)) {
			t.Fatalf("%s: placements differ:\n%v\n%v", key, a, b)
		}
	}
	if reflect.DeepEqual(Place("primes/web", slots, hosts, nil), Place("primes/api", slots, hosts, nil)) {
		t.Error("two services placed alike: the key is not in the weights")
	}
}

func TestPlaceTwelveOverThreeIsFourEach(t *testing.T) {
	slots, hosts := slotRange(12), hostNames(3)
	for _, key := range placementKeys() {
		placed := Place(key, slots, hosts, nil)
		checkPlaced(t, key, slots, hosts, placed)
		if l := loads(placed); l["node-1"] != 4 || l["node-2"] != 4 || l["node-3"] != 4 {
			t.Fatalf("%s: loads %v, want 4 on each host", key, l)
		}
	}
}

// TestPlaceAddingAHostMovesSlotsOnlyOntoIt: from the placement on three
// hosts, only the slots the lower bound sheds move, and onto the fourth
// host, or onto an old host that had room under the new bound (7 slots
// on 3/3/1 shed one from each full host: one goes to the host holding 1).
func TestPlaceAddingAHostMovesSlotsOnlyOntoIt(t *testing.T) {
	for _, n := range []int{12, 7, 10, 20, 1} {
		slots := slotRange(n)
		for _, key := range placementKeys() {
			before := Place(key, slots, hostNames(3), nil)
			after := Place(key, slots, hostNames(4), before)
			checkPlaced(t, key, slots, hostNames(4), after)
			bound := (n + 3) / 4
			shed := 0
			for _, l := range loads(before) {
				shed += max(0, l-bound)
			}
			m := moved(before, after)
			if len(m) != shed {
				t.Fatalf("%d slots, %s: moved %v, want the %d the old hosts shed", n, key, m, shed)
			}
			for _, slot := range m {
				if to := after[slot]; to != "node-4" && loads(before)[to] >= bound {
					t.Fatalf("%d slots, %s: slot %d moved %s -> %s, which had no room, want it onto node-4", n, key, slot, before[slot], to)
				}
			}
			// 4/4/4 to 3/3/3/3: one slot off each old host, onto the new one.
			if n == 12 && (len(m) > 4 || loads(after)["node-4"] != len(m)) {
				t.Fatalf("%s: moved %v, want 3 slots, all onto node-4", key, m)
			}
		}
	}
}

func TestPlaceRemovingAHostMovesOnlyItsSlots(t *testing.T) {
	for _, n := range []int{12, 7, 10, 20} {
		slots := slotRange(n)
		for _, key := range placementKeys()[:100] {
			four := Place(key, slots, hostNames(4), nil)
			for _, gone := range hostNames(4) {
				left := slices.DeleteFunc(hostNames(4), func(h string) bool { return h == gone })
				after := Place(key, slots, left, four)
				checkPlaced(t, key, slots, left, after)
				for _, slot := range moved(four, after) {
					if four[slot] != gone {
						t.Fatalf("%d slots, %s without %s: slot %d moved off %s", n, key, gone, slot, four[slot])
					}
				}
			}
		}
	}
}

func TestPlaceScalingUpMovesNothing(t *testing.T) {
	hosts := hostNames(3)
	for _, key := range placementKeys()[:100] {
		before := Place(key, slotRange(12), hosts, nil)
		for _, n := range []int{13, 15, 40} {
			after := Place(key, slotRange(n), hosts, before)
			checkPlaced(t, key, slotRange(n), hosts, after)
			if m := moved(before, after); len(m) > 0 {
				t.Fatalf("%s: scaling 12 -> %d moved %v", key, n, m)
			}
		}
	}
}

// TestPlaceScalingDownMovesOnlyWhatTheBoundSheds: the slots that stay move
// only off a host left holding more than the new bound.
func TestPlaceScalingDownMovesOnlyWhatTheBoundSheds(t *testing.T) {
	hosts := hostNames(3)
	for _, key := range placementKeys()[:100] {
		before := Place(key, slotRange(13), hosts, nil)
		for _, n := range []int{12, 9, 4} {
			after := Place(key, slotRange(n), hosts, before)
			checkPlaced(t, key, slotRange(n), hosts, after)
			remaining := map[string]int{}
			for _, slot := range slotRange(n) {
				remaining[before[slot]]++
			}
			bound := (n + 2) / 3
			for _, slot := range moved(before, after) {
				if remaining[before[slot]] <= bound {
					t.Fatalf("%s: scaling 13 -> %d moved slot %d off %s, which holds %d of the remaining slots, within the bound %d",
						key, n, slot, before[slot], remaining[before[slot]], bound)
				}
			}
		}
	}
}

// TestPlaceUncontendedIsRendezvous: while no host is full, each slot goes
// to the host of highest weight, as plain rendezvous hashing would.
func TestPlaceUncontendedIsRendezvous(t *testing.T) {
	hosts := hostNames(5)
	for _, key := range placementKeys() {
		best, bestWeight := "", uint64(0)
		for _, h := range hosts {
			if w := hashWeight(key, 1, h); best == "" || w > bestWeight {
				best, bestWeight = h, w
			}
		}
		if got := Place(key, []int{1}, hosts, nil)[1]; got != best {
			t.Fatalf("%s: slot 1 on %s, want %s, the host of highest weight", key, got, best)
		}
	}
}

// TestPlaceFollowsPlacement places the services of a stack file on the
// hosts its placement leaves them, and moves what a narrower placement
// takes away, and only that.
func TestPlaceFollowsPlacement(t *testing.T) {
	src := `version: 1
name: fleet
hosts:
  - {name: node-1, docker: "ssh://node-1", address: 10.0.0.1, labels: {zone: eu-1, disk: ssd}}
  - {name: node-2, docker: "ssh://node-2", address: 10.0.0.2, labels: {zone: eu-1}}
  - {name: node-3, docker: "ssh://node-3", address: 10.0.0.3, labels: {zone: eu-2, disk: ssd}}
  - {name: node-4, docker: "ssh://node-4", address: 10.0.0.4, labels: {zone: eu-2}}
services:
  web: {image: x, port: 1, replicas: 12}
  eu1: {image: x, port: 1, replicas: 5, placement: {labels: {zone: eu-1}}}
  ssd: {image: x, port: 1, replicas: 6, placement: {labels: {disk: ssd}}}
  pinned: {image: x, port: 1, replicas: 3, placement: {hosts: [node-4]}}
`
	st, err := spec.Parse("stack.yaml", []byte(src), nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"web":    {"node-1", "node-2", "node-3", "node-4"},
		"eu1":    {"node-1", "node-2"},
		"ssd":    {"node-1", "node-3"},
		"pinned": {"node-4"},
	}
	for _, svc := range st.Services {
		eligible := st.EligibleHosts(svc)
		if !reflect.DeepEqual(eligible, want[svc.Name]) {
			t.Fatalf("%s: eligible %v, want %v", svc.Name, eligible, want[svc.Name])
		}
		key := st.Name + "/" + svc.Name
		placed := Place(key, slotRange(svc.Replicas), eligible, nil)
		checkPlaced(t, key, slotRange(svc.Replicas), eligible, placed)
	}

	// web narrowed to zone eu-2: the slots on eu-1 hosts move, the others stay.
	key := "fleet/web"
	before := Place(key, slotRange(12), want["web"], nil)
	eu2 := []string{"node-3", "node-4"}
	after := Place(key, slotRange(12), eu2, before)
	checkPlaced(t, key, slotRange(12), eu2, after)
	for slot, host := range before {
		if slices.Contains(eu2, host) && after[slot] != host {
			t.Errorf("slot %d moved off %s, which the new placement keeps", slot, host)
		}
	}
}

func TestPlaceEdgeCases(t *testing.T) {
	if got := Place("k", slotRange(3), nil, nil); len(got) != 0 {
		t.Errorf("no hosts: %v, want no slot placed", got)
	}
	if got := Place("k", nil, hostNames(3), nil); len(got) != 0 {
		t.Errorf("no slots: %v, want none", got)
	}
	// current may name slots scaled away and hosts that are gone.
	current := map[int]string{1: "node-1", 2: "gone", 9: "node-2"}
	got := Place("k", slotRange(3), hostNames(3), current)
	checkPlaced(t, "k", slotRange(3), hostNames(3), got)
	if got[1] != "node-1" {
		t.Errorf("slot 1 moved off node-1: %v", got)
	}
	if _, ok := got[9]; ok {
		t.Errorf("slot 9 placed, want only the slots asked for: %v", got)
	}
}

// TestPlaceGolden pins placements: running workers sit where these
// weights put them, so a change here moves containers on the next apply
// of every multi-host stack. It must be deliberate, never a by-product.
func TestPlaceGolden(t *testing.T) {
	got := Place("primes/web", slotRange(6), hostNames(3), nil)
	want := map[int]string{1: "node-3", 2: "node-2", 3: "node-1", 4: "node-2", 5: "node-3", 6: "node-1"}
	if !maps.Equal(got, want) {
		t.Errorf("Place = %v, want %v", got, want)
	}
	if w := hashWeight("primes/web", 1, "node-1"); w != 0x2ccf881bd836eab8 {
		t.Errorf("hashWeight = %#x, want 0x2ccf881bd836eab8", w)
	}
}
