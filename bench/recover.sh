#!/usr/bin/env bash
# The crash-recovery benchmark: kill -9 of a first apply of the reference
# stack (20 workers, consul, LB) at KILLS random points, each followed by a
# plain `stackctl apply --auto-approve` (no -lock-timeout), timed from its
# start to "Apply complete"; and FIRST plain first applies from nothing,
# timed the same way. Prints both medians, their difference and ratio, and
# whether the recovery median is within first-apply median + 5 s.
#
# The stack is stack.example.yaml's shape under its own name, bench-recover,
# on its own ports (LB 127.0.0.1:18080, Consul 127.0.0.1:18500), so that it
# never touches the primes demo. It is destroyed before every run (untimed)
# and at the end. Kill points are drawn with bash's RANDOM seeded by SEED,
# uniformly within the median first apply. Needs `make images build`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KILLS=${KILLS:-10}
FIRST=${FIRST:-3}
SEED=${SEED:-1}
STACKCTL=${STACKCTL:-./bin/stackctl}
NAME=bench-recover
dir=$(mktemp -d)
cp stacks/primes/nginx.ctmpl "$dir/"
sed -e "s/^name: primes/name: $NAME/" -e 's/127.0.0.1:8500:8500/127.0.0.1:18500:8500/' \
	-e 's/127.0.0.1:8080:80/127.0.0.1:18080:80/' stacks/primes/stack.yaml >"$dir/stack.yaml"
grep -q "^name: $NAME$" "$dir/stack.yaml" || { echo "could not rename the stack" >&2; exit 1; }

destroy() {
	"$STACKCTL" destroy -f "$dir/stack.yaml" --auto-approve >"$dir/destroy.out" 2>&1 || { cat "$dir/destroy.out" >&2; return 1; }
}
# On failure the outputs of every run stay in $dir, for a look.
trap 'rc=$?; destroy || true; if ((rc)); then echo "outputs kept in $dir" >&2; else rm -rf "$dir"; fi' EXIT

# timed_apply OUT: runs a plain apply, its output to OUT, and prints the
# seconds from its start to the line "Apply complete" (or to its end, with
# a note, if it said "No changes."). Fails if apply fails.
timed_apply() {
	local out=$1 start done_at
	start=$(date +%s.%N)
	: >"$out"
	"$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve 2>&1 | while IFS= read -r line; do
		printf '%s\n' "$line" >>"$out"
		if [[ $line == *"Apply complete"* ]]; then date +%s.%N >"$out.done"; fi
	done
	if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
		echo "apply failed:" >&2
		tail -20 "$out" >&2
		return 1
	fi
	if [[ -f $out.done ]]; then done_at=$(cat "$out.done"); else done_at=$(date +%s.%N); fi
	echo "$done_at - $start" | bc
}

# plan_is_empty: the stack matches its file.
plan_is_empty() {
	"$STACKCTL" plan -f "$dir/stack.yaml" --detailed-exitcode >"$dir/plan.out" 2>&1 || {
		echo "plan after recovery is not empty:" >&2
		cat "$dir/plan.out" >&2
		return 1
	}
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

destroy
firsts=()
for i in $(seq "$FIRST"); do
	t=$(timed_apply "$dir/first.$i")
	firsts+=("$t")
	printf 'first apply %d: %.2fs\n' "$i" "$t"
	destroy
done
first_median=$(printf '%s\n' "${firsts[@]}" | median)

RANDOM=$SEED
window_ms=$(echo "$first_median * 1000 / 1" | bc)
recovers=()
for k in $(seq "$KILLS"); do
	delay_ms=$((300 + RANDOM * RANDOM % (window_ms - 300)))
	delay=$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))
	"$STACKCTL" apply -f "$dir/stack.yaml" --auto-approve >"$dir/killed.$k" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	steps=$(grep -c '✓' "$dir/killed.$k" || true)
	t=$(timed_apply "$dir/recover.$k")
	plan_is_empty
	how="no lock to take over"
	if grep -q 'took the lock over' "$dir/recover.$k"; then how="took the lock over"; fi
	if grep -q 'Rolled back the unfinished' "$dir/recover.$k"; then how="$how, rolled back"; fi
	if grep -q 'carries on from what it left' "$dir/recover.$k"; then how="$how, resumed"; fi
	if grep -q 'Apply complete' "$dir/killed.$k"; then how="$how (the killed apply had completed)"; fi
	if grep -q 'waiting for the lock' "$dir/recover.$k"; then how="$how, WAITED for the lock"; fi
	recovers+=("$t")
	printf 'kill %2d after %5.2fs (%2d steps done): next apply %.2fs, %s\n' "$k" "$delay" "$steps" "$t" "$how"
	destroy
done
recover_median=$(printf '%s\n' "${recovers[@]}" | median)

printf 'first apply median of %d: %.2fs\n' "$FIRST" "$first_median"
printf 'apply after kill -9, median of %d: %.2fs\n' "$KILLS" "$recover_median"
diff=$(echo "$recover_median - $first_median" | bc)
ratio=$(echo "scale=2; $recover_median / $first_median" | bc)
verdict=PASS
if [[ $(echo "$diff > 5" | bc) -eq 1 ]]; then verdict=FAIL; fi
printf 'difference %+.2fs, ratio %.2f: %s (at most first apply + 5s)\n' "$diff" "$ratio" "$verdict"
[[ $verdict == PASS ]]
