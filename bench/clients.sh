#!/usr/bin/env bash
# What clients see of everything that changes the reference stack's
# membership, one scenario at a time, each under
# `wrk -t2 -c16 --timeout 3s` through the stack's LB (keep-alive, no
# retries): wrk's own lines are printed for each, and the totals of non-2xx
# responses and socket errors (connect, read, write, timeout) at the end.
#
#   update     apply v1 → v2 of N workers (start-first, parallelism 4)
#   scale      apply 20 → 30, then 30 → 20
#   rollback   apply of an image whose health check fails: the failed update
#              rolls back; the time from the first failed step to the end of
#              the rollback is printed too
#   kill       `docker kill` of 5 workers, then an apply that heals them
#   pause      `docker pause` of 2 workers for 10 s (hung processes)
#
# The stack is bench-clients on Docker-chosen loopback ports; it is
# destroyed at the end. Needs `make images build` and wrk.
#   bash bench/clients.sh
#   SCENARIOS="kill pause" bash bench/clients.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${N:-20}
STACKCTL=${STACKCTL:-./bin/stackctl}
SCENARIOS=${SCENARIOS:-"update scale rollback kill pause"}
dir=$(mktemp -d)
wrk_pid=
cp stacks/primes/nginx.ctmpl "$dir/"

log() { printf 'clients: %s\n' "$*" >&2; }

stackfile() { # stackfile IMAGE REPLICAS
	sed -e 's/^name: primes/name: bench-clients/' -e 's/127.0.0.1:8500:8500/127.0.0.1::8500/' \
		-e 's/127.0.0.1:8080:80/127.0.0.1::80/' -e "s/replicas: 20/replicas: $2/" \
		-e 's/healthy_deadline: 60s/healthy_deadline: 10s/' \
		-e "s|image: stackctl.local/primes:v1|image: $1|" stacks/primes/stack.yaml >"$dir/stack.yaml"
}
apply() { # apply IMAGE REPLICAS [may-fail]
	stackfile "$1" "$2"
	if ! "$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve >"$dir/apply.out" 2>&1 && [[ ${3:-} != may-fail ]]; then
		cat "$dir/apply.out" >&2
		exit 1
	fi
}
cleanup() {
	if [[ -n $wrk_pid ]]; then kill "$wrk_pid" 2>/dev/null || true; fi
	"$STACKCTL" destroy -f "$dir/stack.yaml" --auto-approve >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

load_start() { # load_start LABEL
	local url
	url=http://$(docker port bench-clients-lb 80/tcp | head -1)/
	wrk -t2 -c16 --timeout 3s -d 3600s "$url" >"$dir/wrk.$1" 2>&1 &
	wrk_pid=$!
	sleep 2
}
load_stop() { # load_stop LABEL: prints wrk's lines, adds to the totals
	sleep 2
	kill -INT "$wrk_pid"
	wait "$wrk_pid" || true
	wrk_pid=
	grep -E 'requests in|Requests/sec|Socket errors|Non-2xx' "$dir/wrk.$1" | sed 's/^/    /'
	awk '/Non-2xx/ {n+=$NF} /Socket errors/ {split($0, f, /[ ,]+/); s+=f[5]+f[7]+f[9]+f[11]} END {print n+0, s+0}' \
		"$dir/wrk.$1" >>"$dir/totals"
}

workers() { docker ps --filter label=io.stackctl.stack=bench-clients --filter label=io.stackctl.role=worker --format '{{.Names}}' | sort; }

scenario_update() {
	load_start update
	apply stackctl.local/primes:v2 "$N"
	load_stop update
	apply stackctl.local/primes:v1 "$N"
}
scenario_scale() {
	load_start scale
	apply stackctl.local/primes:v1 30
	apply stackctl.local/primes:v1 "$N"
	load_stop scale
}
scenario_rollback() {
	local failed end
	load_start rollback
	apply stackctl.local/primes:bad "$N" may-fail
	end=$(date +%s.%N)
	load_stop rollback
	grep -q 'as it was before' "$dir/apply.out" || { cat "$dir/apply.out" >&2; exit 1; }
	# The first failed step's line: "HH:MM:SS.mmm   ✗ replace ..."
	failed=$(awk '/✗/ {print $1; exit}' "$dir/apply.out")
	printf '    from the first failure (%s) to "as it was before": %.2fs\n' "$failed" \
		"$(echo "$end - $(date -d "$(date +%F) $failed" +%s.%N)" | bc)"
}
scenario_kill() {
	load_start kill
	workers | head -5 | xargs docker kill >/dev/null
	sleep 5
	apply stackctl.local/primes:v1 "$N"
	load_stop kill
}
scenario_pause() {
	local two
	two=$(workers | head -2)
	load_start pause
	# shellcheck disable=SC2086 # two names
	docker pause $two >/dev/null
	sleep 10
	# shellcheck disable=SC2086
	docker unpause $two >/dev/null
	load_stop pause
}

uptime
log "first apply of $N workers (not timed)"
apply stackctl.local/primes:v1 "$N"
for s in $SCENARIOS; do
	echo "$s:"
	"scenario_$s"
done
awk '{n+=$1; s+=$2} END {printf "\nall scenarios: non-2xx %d, socket errors %d\n", n, s}' "$dir/totals"
uptime
