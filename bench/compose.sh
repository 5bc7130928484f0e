#!/usr/bin/env bash
# Times `docker-compose up -d --scale web=20` of the primes image (the same
# image, env and limits as the reference stack's workers), RUNS times, and
# prints each time and the median. Compose only starts containers: no health
# gate, no service discovery, no load balancer. Compare with bench/apply.sh,
# or run bench/sidebyside.sh for both in one run.
set -euo pipefail
RUNS=${RUNS:-5}
PRIMES_COMPOSE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/primes-compose.yml
PROJECT=stackctl-bench-compose
dir=$(mktemp -d)
trap 'docker-compose -p "$PROJECT" -f "$PRIMES_COMPOSE" down -t 1 >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
compose() { docker-compose -p "$PROJECT" -f "$PRIMES_COMPOSE" "$@"; }
times=()
for i in $(seq "$RUNS"); do
	compose down -t 1 >/dev/null 2>&1 || true
	start=$(date +%s.%N)
	compose up -d --scale web=20 >/dev/null 2>&1
	end=$(date +%s.%N)
	t=$(echo "$end - $start" | bc)
	times+=("$t")
	printf 'compose run %d: %.2fs\n' "$i" "$t"
done
compose down -t 1 >/dev/null 2>&1
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "compose median of %d: %.2fs\n", NR, a[int((NR+1)/2)]}'
