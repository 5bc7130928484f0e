#!/usr/bin/env bash
# Times `stackctl destroy --auto-approve` of N workers of the reference image
# against `docker-compose down -t 1` of N containers of the same image, side
# by side in one run: for each N in COUNTS (default "20 200"), RUNS times
# (default 3) each, alternating, and prints each time, the medians and
# their ratio. Only the removal is timed; the apply / `up -d` before it is
# not, and both tools wait SETTLE seconds (default 5) after it, so that the
# engine's and the kernel's work left from creating N containers (dirty
# pages, exits of short-lived processes) does not land in the timed
# removal of either (SETTLE=0: time from the moment the apply / up returns).
# The stackctl stack is the reference one named bench-destroy (LB on
# 127.0.0.1:18180, Consul on 127.0.0.1:18600), never the primes demo.
# Needs `make images build`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-3}
SETTLE=${SETTLE:-5}
COUNTS=${COUNTS:-"20 200"}
STACKCTL=${STACKCTL:-./bin/stackctl}
PRIMES_COMPOSE=bench/primes-compose.yml # the script runs from the repository root
PROJECT=stackctl-bench-destroy
export COMPOSE_HTTP_TIMEOUT=${COMPOSE_HTTP_TIMEOUT:-600} # `up` of 200 can take minutes on a busy engine
dir=$(mktemp -d)
cp stacks/primes/nginx.ctmpl "$dir/"
stackfile() { # stackfile N: the reference stack as bench-destroy with N workers
	sed -e 's/^name: primes/name: bench-destroy/' -e 's/127.0.0.1:8500:8500/127.0.0.1:18600:8500/' \
		-e 's/127.0.0.1:8080:80/127.0.0.1:18180:80/' -e "s/replicas: 20/replicas: $1/" \
		-e 's/healthy_deadline: 60s/healthy_deadline: 600s/' stacks/primes/stack.yaml >"$dir/stack.yaml"
}
compose() { # output kept in $dir/out, shown when it fails
	docker-compose -p "$PROJECT" -f "$PRIMES_COMPOSE" "$@" >"$dir/out" 2>&1 && return
	# Docker 20.10 sometimes keeps counting an endpoint of a removed
	# container (moby/moby#42119): every container is gone, the network is
	# not. The time still counts; the next `up` adopts the network.
	if [[ $1 == down ]] && grep -q "has active endpoints" "$dir/out" && ! docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | grep -q .; then
		echo "(docker-compose down: network kept by the engine's stale endpoint count, moby/moby#42119; containers all gone)" >&2
		return
	fi
	tail -20 "$dir/out" >&2
	exit 1
}
stackctl() { "$STACKCTL" "$@" -f "$dir/stack.yaml" --auto-approve >"$dir/out" 2>&1 || { cat "$dir/out" >&2; exit 1; }; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
trap '("$STACKCTL" destroy -f "$dir/stack.yaml" --auto-approve; docker-compose -p "$PROJECT" -f "$PRIMES_COMPOSE" down -t 1) >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
uptime
for n in $COUNTS; do
	stackfile "$n"
	s=() c=()
	for i in $(seq "$RUNS"); do
		stackctl apply
		sleep "$SETTLE"
		start=$(now)
		stackctl destroy
		t=$(echo "$(now) - $start" | bc)
		if [[ -n "${BENCH_LOG:-}" ]]; then cp "$dir/out" "$BENCH_LOG.$n.$i"; fi
		if docker ps -aq --filter label=io.stackctl.stack=bench-destroy | grep -q .; then
			echo "destroy left containers behind" >&2; exit 1
		fi
		s+=("$t")
		compose up -d --scale web="$n"
		sleep "$SETTLE"
		start=$(now)
		compose down -t 1
		u=$(echo "$(now) - $start" | bc)
		c+=("$u")
		printf 'N=%d run %d: stackctl destroy %.2fs, docker-compose down -t 1 %.2fs\n' "$n" "$i" "$t" "$u"
	done
	ms=$(printf '%s\n' "${s[@]}" | median)
	mc=$(printf '%s\n' "${c[@]}" | median)
	printf 'N=%d medians of %d: stackctl destroy %.2fs, docker-compose down -t 1 %.2fs, ratio %.2f\n' \
		"$n" "$RUNS" "$ms" "$mc" "$(echo "$ms / $mc" | bc -l)"
done
uptime
