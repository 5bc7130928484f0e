package stress

import (
	"fmt"
	"strings"
)

// Advise turns what failed into what to change, most failures first. The
// advice names the settings of this project's LB template and stack file;
// docs/stress.md explains each.
func Advise(r *Report) []string {
	var out []string
	has := func(k Kind) bool {
		for _, h := range r.Faults {
			if h.Kind == k && h.Error == "" {
				return true
			}
		}
		return false
	}
	var http5xx uint64
	for _, k := range FailureKinds(r.Failures) {
		n := r.Failures[k]
		switch {
		case k == FailTimeout:
			cause := "a worker that hangs (or cannot be reached) holds each request nginx sends it until the client gives up"
			if !has(Pause) && !has(Disconnect) {
				cause = "requests waited longer than --timeout: the stack is slower than the load, or a worker hangs"
			}
			out = append(out, fmt.Sprintf("%d requests timed out: %s. Give the LB short upstream timeouts (proxy_connect_timeout 1s; proxy_read_timeout just above the slowest good answer) with proxy_next_upstream error timeout and passive health (max_fails=1 fail_timeout=5s on each server), so a hung worker costs one retry instead of a timeout; a shorter check.interval takes it out of Consul sooner.", n, cause))
		case k == FailClosed || k == FailReset:
			out = append(out, fmt.Sprintf("%d requests saw the connection %s: nginx closes idle keep-alive connections when it reloads its config, and clients that do not retry see that. Use reload-free membership: the template's resolve form (server NAME.service.consul resolve), so membership changes need no reload.", n, map[string]string{FailClosed: "closed before an answer", FailReset: "reset"}[k]))
		case k == FailRefused:
			why := "nothing listened on the LB's port"
			if has(RestartLB) {
				why = "the LB was down while it restarted"
			}
			out = append(out, fmt.Sprintf("%d connections were refused: %s. One LB is a single point of failure: run two behind a virtual IP or DNS with health checks, and keep its restart quick (it renders before it listens).", n, why))
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
		out = append(out, fmt.Sprintf("%d answers were 5xx from the LB: it sent requests to a worker that was gone or failing before Consul's check took it out. Let nginx retry the next worker (proxy_next_upstream error timeout http_502 http_503 non_idempotent off), and shorten check.interval so Consul notices sooner.", http5xx))
	}
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
