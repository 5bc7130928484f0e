#!/usr/bin/env bash
# Measures a stack over several hosts on boxes (docs/boxes.md), for
# docs/SCALE.md: for each N in BOXES (default "3 5"), N boxes, a stack of
# PER_HOST (default 4) workers per box with a Consul server on the first
# three and the LB on box1; then, RUNS times (default 3): apply from nothing,
# a no-op plan (the cost of observing every host and the cluster), and
# destroy. Prints each time and the medians. The boxes are `make boxes`'s
# (stackctl-box1..N), removed at the end.
# Needs `make images build`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-3}
BOXES=${BOXES:-"3 5"}
PER_HOST=${PER_HOST:-4}
STACKCTL=${STACKCTL:-./bin/stackctl}
export CONSUL_HTTP_TOKEN=${CONSUL_HTTP_TOKEN:-$(cat /proc/sys/kernel/random/uuid)}
dir=$(mktemp -d)
cp stacks/primes/nginx-rendered.ctmpl "$dir/nginx.ctmpl"
boxes() { go run ./internal/boxes/cmd/boxes "$@"; }
trap '"$STACKCTL" destroy -f "$dir/stack.yaml" --auto-approve >/dev/null 2>&1 || true; boxes down >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { # timed CMD...: runs it quietly, prints its seconds
	local start out
	start=$(now)
	out=$("$@" 2>&1) || { echo "$out" >&2; exit 1; }
	echo "$(now) - $start" | bc
}
uptime
for n in $BOXES; do
	mapfile -t lines < <(boxes up "$n")
	{
		echo "version: 1"
		echo "name: bench-hosts"
		echo "hosts:"
		i=0
		for line in "${lines[@]}"; do
			i=$((i + 1))
			endpoint=${line#* }
			address=${endpoint#tcp://}
			address=${address%:*}
			[[ $i == 1 ]] && lb=$address
			echo "  - {name: box$i, docker: \"$endpoint\", address: $address, insecure: true}"
		done
		echo "consul: {image: stackctl.local/consul:1.14.8, servers: [box1, box2, box3]}"
		echo "services:"
		echo "  web:"
		echo "    image: stackctl.local/primes:v1"
		echo "    replicas: $((n * PER_HOST))"
		echo "    port: 5000"
		echo "    check: {http: /healthz, interval: 1s, timeout: 1s}"
		echo "lb: {image: stackctl.local/nginx:1.30, template: nginx.ctmpl, host: box1, ports: [\"$lb:8080:80\"]}"
	} >"$dir/stack.yaml"
	a=() p=() d=()
	for r in $(seq "$RUNS"); do
		a+=("$(timed "$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve)")
		p+=("$(timed "$STACKCTL" plan -f "$dir/stack.yaml" --detailed-exitcode)")
		d+=("$(timed "$STACKCTL" destroy -f "$dir/stack.yaml" --auto-approve)")
		printf '%d boxes, %d workers, run %d: apply %.2fs, no-op plan %.2fs, destroy %.2fs\n' "$n" $((n * PER_HOST)) "$r" "${a[-1]}" "${p[-1]}" "${d[-1]}"
	done
	printf '%d boxes, %d workers, medians of %d: apply %.2fs, no-op plan %.2fs, destroy %.2fs\n' "$n" $((n * PER_HOST)) "$RUNS" \
		"$(printf '%s\n' "${a[@]}" | median)" "$(printf '%s\n' "${p[@]}" | median)" "$(printf '%s\n' "${d[@]}" | median)"
done
uptime
