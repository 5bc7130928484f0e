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
# Both are timed twice over: under the same load (the same wrk against the
# stackctl stack's LB runs while Swarm updates, so both share the machine
# with it) and idle (no wrk at all). On a 2-core machine wrk and nginx take
# most of the CPU, and the engine's container starts are what both wait on.
#
# RUNS updates each way (default 3); prints every time and the medians.
#   bash bench/update.sh            # N=20
#   N=200 RUNS=3 bash bench/update.sh
#   IDLE=0 bash bench/update.sh     # the loaded comparison only
#   ALONE=1 N=200 bash bench/update.sh
#
# ALONE=1 (the default from N=100 on) times each tool with nothing of the
# other on the engine: stackctl's N workers are destroyed before Swarm's N
# tasks are created, and only the idle comparison is made (wrk needs the
# stackctl stack's LB). With 2×200 workers alive at once the 2-core machine
# ran at a load of 40–70 and neither figure said anything about the tool.
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
IDLE=${IDLE:-1}
ALONE=${ALONE:-$((N >= 100 ? 1 : 0))}
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

# load_start LABEL / load_stop: wrk against the stack's LB, in the
# background, for as long as a timed update runs. Its output is kept in
# $dir/wrk.LABEL.
load_start() {
	# Longer than any update; stopped with SIGINT, so wrk still prints its
	# summary.
	wrk -t2 -c16 --timeout 3s -d 3600s "$(lb_url)" >"$dir/wrk.$1" 2>&1 &
	wrk_pid=$!
	sleep 2 # wrk at full rate before the update starts
}
load_stop() {
	sleep 2 # and after it, so that late errors are counted
	kill -INT "$wrk_pid"
	wait "$wrk_pid" || true
	wrk_pid=
}

# timed_apply IMAGE LABEL LOADED: applies the stack with IMAGE, under wrk
# when LOADED is 1; prints "seconds non2xx socket_errors".
timed_apply() {
	local image=$1 label=$2 loaded=$3 start end errors=0 non2xx=0
	stackfile "$image"
	if [[ $loaded == 1 ]]; then load_start "$label"; fi
	start=$(date +%s.%N)
	"$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve >"$dir/apply.$label" 2>&1 || { cat "$dir/apply.$label" >&2; exit 1; }
	end=$(date +%s.%N)
	if [[ $loaded == 1 ]]; then
		load_stop
		non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.$label")
		errors=$(awk -F'[ ,]+' '/Socket errors/ {print $5+$7+$9+$11}' "$dir/wrk.$label")
	fi
	printf '%s %s %s\n' "$(echo "$end - $start" | bc)" "${non2xx:-0}" "${errors:-0}"
}

stackctl_half() { # stackctl_half LOADED
	local i r label loaded=$1 how
	how=$([[ $loaded == 1 ]] && echo "under wrk" || echo "idle")
	for i in $(seq "$RUNS"); do
		label=up$i.$loaded
		r=$(timed_apply "$V2" "$label" "$loaded")
		printf 'stackctl %s v1→v2 run %d: %.2fs  non-2xx %s  socket errors %s\n' "$how" "$i" $r
		echo "$r" >>"$dir/stackctl.times.$loaded"
		if [[ $loaded == 1 ]]; then
			grep -E 'Requests/sec|Socket errors|Non-2xx|requests in' "$dir/wrk.$label" | sed 's/^/    wrk: /'
		fi
		label=down$i.$loaded
		r=$(timed_apply "$V1" "$label" "$loaded")
		printf 'stackctl %s v2→v1 run %d: %.2fs  non-2xx %s  socket errors %s\n' "$how" "$i" $r
		echo "$r" >>"$dir/stackctl.times.$loaded"
	done
}

swarm_setup() {
	if [[ $(docker info -f '{{.Swarm.LocalNodeState}}') != active ]]; then
		docker swarm init --advertise-addr 127.0.0.1 >/dev/null
		swarm_made=true
	fi
	# --no-resolve-image: the images are local only; there is no registry.
	docker service create --detach=false --quiet --no-resolve-image --name bench-swarm --replicas "$N" \
		--update-parallelism 4 --update-delay 0s --update-order start-first --update-monitor 1s \
		--env PRIME_DIGITS=8 --limit-memory 64m --limit-cpu 0.25 "$V1" >/dev/null
}

swarm_half() { # swarm_half LOADED: the stackctl stack's LB under wrk when LOADED is 1
	local i image t start end loaded=$1 how
	how=$([[ $loaded == 1 ]] && echo "under wrk" || echo "idle")
	for i in $(seq "$RUNS"); do
		for image in "$V2" "$V1"; do
			if [[ $loaded == 1 ]]; then load_start "swarm.$i.${image##*:}"; fi
			start=$(date +%s.%N)
			docker service update --detach=false --quiet --no-resolve-image --image "$image" bench-swarm >/dev/null
			end=$(date +%s.%N)
			if [[ $loaded == 1 ]]; then load_stop; fi
			t=$(echo "$end - $start" | bc)
			printf 'swarm %s → %s run %d: %.2fs\n' "$how" "${image##*:}" "$i" "$t"
			echo "$t" >>"$dir/swarm.times.$loaded"
		done
	done
}

report() { # report LOADED
	local s w how
	how=$([[ $1 == 1 ]] && echo "under wrk" || echo "idle")
	s=$(cut -d' ' -f1 "$dir/stackctl.times.$1" | median)
	printf 'N=%d, %s, %d updates each: stackctl median %ss' "$N" "$how" "$((RUNS * 2))" "$s"
	if [[ $1 == 1 ]]; then
		printf ' (non-2xx total %d, socket errors total %d)' \
			"$(awk '{s+=$2} END {print s+0}' "$dir/stackctl.times.$1")" "$(awk '{s+=$3} END {print s+0}' "$dir/stackctl.times.$1")"
	fi
	if [[ $SWARM == 1 ]]; then
		w=$(median <"$dir/swarm.times.$1")
		printf '; swarm median %ss; stackctl/swarm = %.2f' "$w" "$(echo "$s / $w" | bc -l)"
	fi
	printf '\n'
}

uptime
log "stackctl: first apply of $N workers (not timed)"
stackfile "$V1"
"$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve >"$dir/first" 2>&1 || { cat "$dir/first" >&2; exit 1; }
if [[ $ALONE == 1 ]]; then
	loads=(0)
	stackctl_half 0
	log "stackctl: destroy of $N workers (not timed), so that Swarm's run alone"
	"$STACKCTL" destroy -f "$dir/stack.yaml" --auto-approve >"$dir/destroy.out" 2>&1 || { cat "$dir/destroy.out" >&2; exit 1; }
	rm "$dir/stack.yaml" # nothing left for cleanup to destroy
	if [[ $SWARM == 1 ]]; then
		swarm_setup
		swarm_half 0
	fi
else
	if [[ $SWARM == 1 ]]; then swarm_setup; fi
	loads=(1)
	if [[ $IDLE == 1 ]]; then loads+=(0); fi
	for loaded in "${loads[@]}"; do
		stackctl_half "$loaded"
		if [[ $SWARM == 1 ]]; then swarm_half "$loaded"; fi
	done
fi
echo
for loaded in "${loads[@]}"; do report "$loaded"; done
uptime
