#!/usr/bin/env bash
# Checks `stackctl stress --find-max` against wrk on the reference stack,
# side by side in one run, ROUNDS times (default 3), and prints each round
# and the medians:
#   - find-max's rate R (an open model: the highest rate whose p99 stays
#     under 500 ms with at most 0.1% failed);
#   - wrk at that rate for 20 s: wrk offers no rate of its own, so it is
#     paced with its Lua delay() hook (each of C connections waits D ms
#     after each answer, C chosen so that C / (D + L) is R, where L is the
#     mean latency of a 5 s run just before). What it achieved, its p99 and
#     its errors say whether R is real;
#   - wrk unpaced (-c16, 20 s), a closed model: the stack's throughput at
#     16 requests in flight, the figure wrk users quote.
# The reference stack must be applied (make demo); load goes only to its
# LB on 127.0.0.1:8080. Needs wrk (scripts/deps.sh installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${ROUNDS:-3}
STACKCTL=${STACKCTL:-./bin/stackctl}
URL=http://127.0.0.1:8080/
DELAY_MS=20
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/paced.lua" <<'LUA'
-- Each connection waits DELAY ms after each answer before its next request.
local delay_ms = 20
function init(args) delay_ms = tonumber(args[1]) end
function delay() return delay_ms end
LUA
# connections R L: how many connections, each waiting DELAY_MS after an
# answer that takes L ms, send R requests a second.
connections() { awk -v r="$1" -v l="$2" -v d="$DELAY_MS" 'BEGIN {c = int(r * (d + l) / 1000 + 0.5); print (c < 2 ? 2 : c)}'; }
# mean_ms FILE: wrk's mean latency in ms.
mean_ms() {
	awk '$1 == "Latency" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v); exit}' "$1"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
errors() { awk '/Non-2xx|Socket errors/ {print}' "$1" | tr '\n' ' '; }
uptime
fm=() paced=() closed=()
for i in $(seq "$ROUNDS"); do
	"$STACKCTL" stress -f stack.example.yaml --find-max --json >"$dir/fm.json" 2>"$dir/fm.err"
	r=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["find_max"]["rate"])' "$dir/fm.json")
	# A paced connection sends every D ms plus the time its answer takes:
	# a 5 s run at 1 ms measures that time, and the 20 s run uses it.
	conns=$(connections "$r" 1)
	wrk -t2 -c"$conns" -d5s --timeout 3s -s "$dir/paced.lua" "$URL" -- "$DELAY_MS" >"$dir/calibrate.txt" 2>&1
	conns=$(connections "$r" "$(mean_ms "$dir/calibrate.txt")")
	wrk -t2 -c"$conns" -d20s --timeout 3s --latency -s "$dir/paced.lua" "$URL" -- "$DELAY_MS" >"$dir/paced.txt" 2>&1
	wrk -t2 -c16 -d20s --timeout 3s --latency "$URL" >"$dir/closed.txt" 2>&1
	sed -n 's/^ */    /p' "$dir/fm.err" | grep '/s ' # find-max's steps
	a=$(rps "$dir/paced.txt") c=$(rps "$dir/closed.txt")
	fm+=("$r") paced+=("$a") closed+=("$c")
	printf 'round %d: find-max %d/s | wrk paced at it (%d connections, %d ms apart): %.0f/s (%.2fx), p99 %s %s| wrk -c16: %.0f/s (find-max %.2fx)\n' \
		"$i" "$r" "$conns" "$DELAY_MS" "$a" "$(echo "$a / $r" | bc -l)" "$(p99 "$dir/paced.txt")" "$(errors "$dir/paced.txt")" "$c" "$(echo "$r / $c" | bc -l)"
done
mf=$(printf '%s\n' "${fm[@]}" | median) ma=$(printf '%s\n' "${paced[@]}" | median) mc=$(printf '%s\n' "${closed[@]}" | median)
printf 'medians of %d: find-max %d/s, wrk paced at it %.0f/s (%.2fx), wrk -c16 %.0f/s (find-max %.2fx)\n' \
	"$ROUNDS" "$mf" "$ma" "$(echo "$ma / $mf" | bc -l)" "$mc" "$(echo "$mf / $mc" | bc -l)"
uptime
