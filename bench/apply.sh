#!/usr/bin/env bash
# Times `stackctl apply` of the reference stack from nothing to 20 workers
# passing their Consul checks (interval 1s) and served by the LB, RUNS times
# (destroying in between), and prints each time and the median. The stack
# is the reference one under another name (a new one each run, so a network
# that Docker failed to remove, see docs/apply.md, is never silently reused)
# and with Docker-chosen host ports, so it never collides with a running
# demo. Needs `make images build`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-5}
STACKCTL=${STACKCTL:-./bin/stackctl}
dir=$(mktemp -d)
cp stacks/primes/nginx.ctmpl "$dir/"
stackfile() { # stackfile NAME: the reference stack as NAME
	sed -e "s/^name: primes/name: $1/" -e 's/127.0.0.1:8500:8500/127.0.0.1::8500/' \
		-e 's/127.0.0.1:8080:80/127.0.0.1::80/' stacks/primes/stack.yaml >"$dir/stack.yaml"
}
destroy() {
	"$STACKCTL" destroy -f "$dir/stack.yaml" --auto-approve >"$dir/destroy.out" 2>&1 || { cat "$dir/destroy.out"; exit 1; }
	if grep -q 'could not be removed' "$dir/destroy.out"; then grep -A3 'could not be removed' "$dir/destroy.out" >&2; fi
}
trap 'destroy >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
times=()
for i in $(seq "$RUNS"); do
	stackfile "bench-$i-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	start=$(date +%s.%N)
	"$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve >"$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
	if [[ -n "${BENCH_LOG:-}" ]]; then cp "$dir/out" "$BENCH_LOG.$i"; fi
	end=$(date +%s.%N)
	t=$(echo "$end - $start" | bc)
	times+=("$t")
	printf 'stackctl run %d: %.2fs\n' "$i" "$t"
	destroy
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "stackctl median of %d: %.2fs\n", NR, a[int((NR+1)/2)]}'
