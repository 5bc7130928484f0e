package stress

import (
	"fmt"
	"maps"
	"strings"
)

// Advice texts, by what failed. They name the settings of this project's
// LB template and stack file; docs/stress.md explains each.
const (
	adviseHung   = "Give the LB short upstream timeouts (proxy_connect_timeout 1s; proxy_read_timeout just above the slowest good answer) with proxy_next_upstream error timeout and passive health (max_fails=1 fail_timeout=5s on each server), so a hung worker costs one retry instead of a timeout; a shorter check.interval takes it out of Consul sooner."
	adviseRetry  = "Let nginx retry the next worker (proxy_next_upstream error timeout http_502 http_503; non_idempotent stays off), and shorten check.interval so Consul takes a failing worker out sooner."
	adviseReload = "nginx closes idle keep-alive connections when it reloads its config, and clients that do not retry see that. Use reload-free membership: the template's resolve form (server NAME.service.consul resolve), so membership changes need no reload."
	adviseOneLB  = "One LB is a single point of failure: its open connections die with it and nothing listens until it is back. Run two behind a virtual IP or DNS with health checks; clients that retry a refused connection ride over a restart."
)

// Advise turns what failed into what to change. Failures are read by the
// fault they came with (Hit.Failures), then those with no fault on.
func Advise(r *Report) []string {
	var out []string
	for _, h := range r.Faults {
		if n := total(h.Failures); n > 0 {
			out = append(out, adviseFault(h, n))
		}
	}
	unexplained := r.Unattributed
	if unexplained == nil && len(r.Faults) == 0 {
		unexplained = r.Failures
	}
	out = append(out, adviseUnexplained(r, unexplained)...)
	if rv := r.Recovery; rv != nil {
		switch {
		case rv.WholeAt == nil:
			out = append(out, "The stack was not whole again at the end ("+rv.Missing+"): run stackctl plan to see what is missing, and stackctl apply (or stress --heal) to restore it.")
		case rv.Drift != "" && rv.Heal == nil:
			out = append(out, "The faults left the stack drifted from its file ("+rv.Drift+"); --heal applies the file as soon as the faults end.")
		}
	}
	if r.Apply != nil && r.Apply.ExitCode != 0 {
		out = append(out, fmt.Sprintf("The apply of %s failed (exit %d); see its output above.", r.Apply.File, r.Apply.ExitCode))
	}
	if len(r.UndoErrors) > 0 {
		out = append(out, "Some faults could not be undone; they stay recorded, and the next stackctl apply, destroy or stress --undo undoes them.")
	}
	if len(out) == 0 {
		switch {
		case r.Requests == 0:
			out = append(out, "No request was sent.")
		case len(r.Faults) > 0:
			out = append(out, "No request failed, through every fault: nothing to change.")
		default:
			out = append(out, "No request failed. Add --chaos to see how the stack takes faults, or --find-max for its highest rate.")
		}
	}
	return out
}

func total(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// adviseFault explains the n failures that came with one fault.
func adviseFault(h Hit, n uint64) string {
	head := fmt.Sprintf("%s: %d requests failed (%s).", h.Spec, n, failureList(h.Failures))
	switch h.Kind {
	case RestartLB:
		return head + " " + adviseOneLB
	case Pause:
		if h.Failures[FailTimeout] > 0 {
			return head + " A hung worker holds each request the LB sends it until the client gives up. " + adviseHung
		}
		return head + " " + adviseRetry
	case Kill, Disconnect:
		return head + " The LB sent requests to workers that were gone before Consul's check took them out. " + adviseRetry
	case CutConsul:
		return head + " Consul took healthy workers out; the rest carried the load. If they could not, add replicas or resources."
	case RestartConsul:
		return head + " While Consul restarts, the LB keeps its last view; failures here mean it lost it. Run Consul as a cluster of three servers so one can restart."
	}
	return head
}

// adviseUnexplained reads failures no fault explains by their kind.
func adviseUnexplained(r *Report, f map[string]uint64) []string {
	var out []string
	var http5xx uint64
	kinds := maps.Clone(f)
	for _, k := range FailureKinds(kinds) {
		n := kinds[k]
		switch {
		case k == FailTimeout:
			out = append(out, fmt.Sprintf("%d requests timed out with no fault on: the stack is slower than the load (see --find-max), or a worker hangs. %s", n, adviseHung))
		case k == FailClosed || k == FailReset:
			out = append(out, fmt.Sprintf("%d requests saw the connection %s with no fault on: %s", n, map[string]string{FailClosed: "closed before an answer", FailReset: "reset"}[k], adviseReload))
		case k == FailRefused:
			out = append(out, fmt.Sprintf("%d connections were refused: nothing listened on the LB's port. %s", n, adviseOneLB))
		case k == FailUnreachable:
			out = append(out, fmt.Sprintf("%d requests found no route to the LB: its address was not on the network.", n))
		case strings.HasPrefix(k, "http 5"):
			http5xx += n
		case strings.HasPrefix(k, "http 4"):
			out = append(out, fmt.Sprintf("%d answers were %s: the path %s is wrong for this app, or the LB routes it nowhere; stress counts them as failures.", n, k, r.Path))
		case k == FailOther:
			out = append(out, fmt.Sprintf("%d requests failed otherwise, for example: %s", n, r.Examples[k]))
		}
	}
	if http5xx > 0 {
		out = append(out, fmt.Sprintf("%d answers were 5xx from the LB with no fault on: a worker failed or was gone. %s", http5xx, adviseRetry))
	}
	return out
}
