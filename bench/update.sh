#!/usr/bin/env bash
# The rolling-update benchmark, side by side in one run:
#
#   stackctl: apply v1 → v2 (and back) of the reference stack with N workers
#             (parallelism 4, start-first, check interval 1s), under
#             `wrk -t2 -c16 --timeout 3s` through the stack's LB, counting
#             what wrk saw fail (non-2xx, socket errors, timeouts);
#   swarm:    `docker service update --image` of N tasks of the same image in
#             a one-node Swarm (start-first, parallelism 4, delay 0,
#             monitor 1s), the tool a user would pick instead.
#
# RUNS updates each way (default 3); prints every time and the medians.
#   bash bench/update.sh            # N=20
#   N=200 RUNS=3 bash bench/update.sh
#
# The Swarm half needs the engine in swarm mode: if it is not, the script
# makes it a one-node swarm and leaves swarm mode at the end (SWARM=0 skips
# that half). Nothing else on the engine is touched: the stack is
# bench-update on Docker-chosen loopback ports, the service bench-swarm.
# Needs `make images build` and wrk (scripts/deps.sh installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-3}
N=${N:-20}
SWARM=${SWARM:-1}
STACKCTL=${STACKCTL:-./bin/stackctl}
V1=stackctl.local/primes:v1
V2=stackctl.local/primes:v2
dir=$(mktemp -d)
swarm_made=false
wrk_pid=

log() { printf 'update: %s\n' "$*" >&2; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }

stackfile() { # stackfile IMAGE
	cp stacks/primes/nginx.ctmpl "$dir/"
	sed -e 's/^name: primes/name: bench-update/' -e 's/127.0.0.1:8500:8500/127.0.0.1::8500/' \
		-e 's/127.0.0.1:8080:80/127.0.0.1::80/' -e "s/replicas: 20/replicas: $N/" \
		-e "s|image: $V1|image: $1|" stacks/primes/stack.yaml >"$dir/stack.yaml"
}

cleanup() {
	if [[ -f $dir/stack.yaml ]] && ! "$STACKCTL" destroy -f "$dir/stack.yaml" --auto-approve >"$dir/destroy.out" 2>&1; then
		cat "$dir/destroy.out" >&2
	fi
	docker service rm bench-swarm >/dev/null 2>&1 || true
	if $swarm_made; then
		docker swarm leave --force >/dev/null 2>&1 || true
		# swarm init made it; leaving swarm mode does not remove it.
		docker network rm docker_gwbridge >/dev/null 2>&1 || true
	fi
	if [[ -n $wrk_pid ]]; then kill "$wrk_pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT

lb_url() {
	local port
	port=$(docker port bench-update-lb 80/tcp | head -1)
	printf 'http://%s/' "$port"
}

# timed_apply IMAGE LABEL: applies the stack with IMAGE under wrk; prints
# "seconds non2xx socket_errors" and keeps wrk's output in $dir/wrk.LABEL.
timed_apply() {
	local image=$1 label=$2 url start end errors non2xx
	stackfile "$image"
	url=$(lb_url)
	# Longer than any update; stopped with SIGINT once the apply is done, so
	# wrk still prints its summary.
	wrk -t2 -c16 --timeout 3s -d 600s "$url" >"$dir/wrk.$label" 2>&1 &
	wrk_pid=$!
	sleep 2 # wrk at full rate before the update starts
	start=$(date +%s.%N)
	"$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve >"$dir/apply.$label" 2>&1 || { cat "$dir/apply.$label" >&2; exit 1; }
	end=$(date +%s.%N)
	sleep 2 # and after it, so that late errors are counted
	kill -INT "$wrk_pid"
	wait "$wrk_pid" || true
	wrk_pid=
	non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.$label")
	errors=$(awk -F'[ ,]+' '/Socket errors/ {print $5+$7+$9+$11}' "$dir/wrk.$label")
	printf '%s %s %s\n' "$(echo "$end - $start" | bc)" "${non2xx:-0}" "${errors:-0}"
}

stackctl_half() {
	local i r
	log "stackctl: first apply of $N workers (not timed)"
	stackfile "$V1"
	"$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve >"$dir/first" 2>&1 || { cat "$dir/first" >&2; exit 1; }
	for i in $(seq "$RUNS"); do
		r=$(timed_apply "$V2" "up$i")
		printf 'stackctl v1→v2 run %d: %.2fs  non-2xx %s  socket errors %s\n' "$i" $r
		echo "$r" >>"$dir/stackctl.times"
		grep -E 'Requests/sec|Socket errors|Non-2xx|requests in' "$dir/wrk.up$i" | sed 's/^/    wrk: /'
		r=$(timed_apply "$V1" "down$i")
		printf 'stackctl v2→v1 run %d: %.2fs  non-2xx %s  socket errors %s\n' "$i" $r
		echo "$r" >>"$dir/stackctl.times"
	done
}

swarm_half() {
	local i image t start end
	if [[ $(docker info -f '{{.Swarm.LocalNodeState}}') != active ]]; then
		docker swarm init --advertise-addr 127.0.0.1 >/dev/null
		swarm_made=true
	fi
	# --no-resolve-image: the images are local only; there is no registry.
	docker service create --detach=false --quiet --no-resolve-image --name bench-swarm --replicas "$N" \
		--update-parallelism 4 --update-delay 0s --update-order start-first --update-monitor 1s \
		--env PRIME_DIGITS=8 --limit-memory 64m --limit-cpu 0.25 "$V1" >/dev/null
	for i in $(seq "$RUNS"); do
		for image in "$V2" "$V1"; do
			start=$(date +%s.%N)
			docker service update --detach=false --quiet --no-resolve-image --image "$image" bench-swarm >/dev/null
			end=$(date +%s.%N)
			t=$(echo "$end - $start" | bc)
			printf 'swarm → %s run %d: %.2fs\n' "${image##*:}" "$i" "$t"
			echo "$t" >>"$dir/swarm.times"
		done
	done
}

uptime
stackctl_half
if [[ $SWARM == 1 ]]; then swarm_half; fi
s=$(cut -d' ' -f1 "$dir/stackctl.times" | median)
printf '\nN=%d, %d updates each: stackctl median %ss (non-2xx total %d, socket errors total %d)\n' "$N" "$((RUNS * 2))" "$s" \
	"$(awk '{s+=$2} END {print s+0}' "$dir/stackctl.times")" "$(awk '{s+=$3} END {print s+0}' "$dir/stackctl.times")"
if [[ $SWARM == 1 ]]; then
	w=$(median <"$dir/swarm.times")
	printf 'swarm median %ss; stackctl/swarm = %.2f\n' "$w" "$(echo "$s / $w" | bc -l)"
fi
uptime
