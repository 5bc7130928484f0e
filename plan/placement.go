package plan

import (
	"encoding/binary"
	"hash/fnv"
	"sort"
	"strconv"
)

// Place decides the host of every slot of one service: rendezvous hashing
// (highest random weight, Thaler and Ravishankar), bounded in load (after
// Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded
// Loads"), and sticky. It is a pure function of its arguments: key names
// the service (stack and service, like "primes/web"), slots are its slot
// numbers, hosts the hosts it may run on (spec.Stack.EligibleHosts), and
// current where its slots run now, as observed (nil for none). The result
// maps every slot to a host; it is empty when there is no host.
//
// Every (slot, host) pair has a weight, hashWeight(key, slot, host): a
// slot prefers the hosts in the order of their weights. Plain rendezvous
// hashing gives each slot its favourite, which moves only the slots it
// must when a host comes or goes, but balances small counts badly: 12
// slots land 4/4/4 on 3 hosts for only one service name in fifteen. So no
// host takes more than ceil(len(slots)/len(hosts)) slots, and a slot whose
// favourite is full falls to its next-best host with room, the pairs
// taken in order of weight, heaviest first. The bound is on the most a
// host holds, not on the spread: 10 slots over 4 hosts land 3/3/3/1 for
// nearly half of service names, not 3/3/2/2.
//
// Bounding loads costs the minimal movement: without memory, a host that
// comes or goes changes which slots fill which host first, and slots move
// between hosts that did not change (12 slots going from 3 hosts to 4:
// for two service names in three some slot moves between the old hosts,
// and for one in six 5 or 6 slots move instead of 3). So Place
// remembers through current: a slot stays on its host while that host is
// still eligible and within the bound; a host over the bound keeps the
// slots it weighs heaviest; only the slots left over are placed, by weight
// as above. Then adding a host moves only the slots the lower bound sheds,
// onto the new host or an old one with room (12 slots from 3 hosts to 4:
// exactly 3, one off each old host, all onto the new one); a host that
// goes moves only its own slots; scaling up moves nothing.
func Place(key string, slots []int, hosts []string, current map[int]string) map[int]string {
	slots, hosts = distinct(slots), distinct(hosts)
	placed := make(map[int]string, len(slots))
	if len(hosts) == 0 {
		return placed
	}
	bound := (len(slots) + len(hosts) - 1) / len(hosts)
	load := make(map[string]int, len(hosts))
	for host, kept := range keptSlots(key, slots, hosts, current, bound) {
		for _, slot := range kept {
			placed[slot] = host
		}
		load[host] = len(kept)
	}
	var pairs []weighted
	for _, slot := range slots {
		if _, ok := placed[slot]; ok {
			continue
		}
		for _, host := range hosts {
			pairs = append(pairs, weighted{slot, host, hashWeight(key, slot, host)})
		}
	}
	sortHeaviestFirst(pairs)
	for _, p := range pairs {
		if _, ok := placed[p.slot]; ok || load[p.host] >= bound {
			continue
		}
		placed[p.slot] = p.host
		load[p.host]++
	}
	return placed
}

// weighted is one slot on one host, with the pair's weight.
type weighted struct {
	slot   int
	host   string
	weight uint64
}

// sortHeaviestFirst orders pairs by weight, heaviest first; equal weights
// (a 64-bit collision) by slot, then host, so the order is total.
func sortHeaviestFirst(pairs []weighted) {
	sort.Slice(pairs, func(i, j int) bool {
		a, b := pairs[i], pairs[j]
		if a.weight != b.weight {
			return a.weight > b.weight
		}
		if a.slot != b.slot {
			return a.slot < b.slot
		}
		return a.host < b.host
	})
}

// keptSlots returns, by host, the slots that stay where current has them:
// on a host still among hosts, at most bound of them, those the host
// weighs heaviest.
func keptSlots(key string, slots []int, hosts []string, current map[int]string, bound int) map[string][]int {
	eligible := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		eligible[h] = true
	}
	byHost := map[string][]weighted{}
	for _, slot := range slots {
		if host, ok := current[slot]; ok && eligible[host] {
			byHost[host] = append(byHost[host], weighted{slot, host, hashWeight(key, slot, host)})
		}
	}
	kept := make(map[string][]int, len(byHost))
	for host, pairs := range byHost {
		sortHeaviestFirst(pairs)
		for _, p := range pairs[:min(len(pairs), bound)] {
			kept[host] = append(kept[host], p.slot)
		}
	}
	return kept
}

// hashWeight is the weight of slot on host for the service key: FNV-1a
// (64 bits) over the three fields, each length-prefixed so that no two
// triples write the same bytes, then a SplitMix64 finaliser, since FNV's
// last bytes (the host name's, which often differ only there: node-1,
// node-2) barely reach its high bits, and the weights are compared as
// whole numbers. Placements of running stacks depend on it: it must never
// change.
func hashWeight(key string, slot int, host string) uint64 {
	h := fnv.New64a()
	for _, field := range []string{key, strconv.Itoa(slot), host} {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(field)))
		h.Write(n[:])
		h.Write([]byte(field))
	}
	return splitmix64(h.Sum64())
}

// splitmix64 is the finaliser of Steele, Lea and Flood's SplitMix64: every
// input bit reaches every output bit.
func splitmix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// distinct returns items without repeats, in their first order.
func distinct[T comparable](items []T) []T {
	seen := make(map[T]bool, len(items))
	out := make([]T, 0, len(items))
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}
