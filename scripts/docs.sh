#!/usr/bin/env bash
# Draws the pictures in docs/img from what is real:
#   docs/img/stack.svg         the reference stack, from docs/img/stack.dot (graphviz)
#   docs/img/consul-ui.png     Consul's UI showing a running demo's services, taken
#                              with headless Chromium (Debian's package)
# The screenshot needs the demo running (make demo); the diagram does not.
#
#   scripts/docs.sh            both
#   scripts/docs.sh diagram    only the diagram
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'docs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

CONSUL=${CONSUL_UI:-http://127.0.0.1:8500}
SERVICE=${SERVICE:-web}

diagram() {
	dot -Tsvg docs/img/stack.dot -o docs/img/stack.svg
	log "drew docs/img/stack.svg"
}

# chromium_shot URL OUT: a 1280x800 PNG of URL once its scripts have run.
chromium_shot() {
	local profile
	profile=$(mktemp -d)
	# --no-sandbox: Chromium's sandbox refuses to run as root, which CI is.
	# The virtual time budget lets the UI's JavaScript fetch and draw the
	# service list before the picture is taken.
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$profile" --window-size=1280,800 \
		--virtual-time-budget=8000 --screenshot="$2" "$1" >/dev/null 2>&1
	rm -rf "$profile"
}

screenshot() {
	local passing
	passing=$(curl -fsS "$CONSUL/v1/health/service/$SERVICE?passing" 2>/dev/null | grep -o '"ServiceID"' | wc -l) ||
		die "no Consul at $CONSUL: start the demo first (make demo)"
	((passing > 0)) || die "service $SERVICE has no passing instance in $CONSUL: is the demo up? (make demo)"
	chromium_shot "$CONSUL/ui/dc1/services" docs/img/consul-ui.png
	chromium_shot "$CONSUL/ui/dc1/services/$SERVICE/instances" docs/img/consul-ui-instances.png
	log "took docs/img/consul-ui.png and docs/img/consul-ui-instances.png ($passing passing instances of $SERVICE)"
}

bash scripts/deps.sh docs
case ${1:-all} in
diagram) diagram ;;
all) diagram && screenshot ;;
*) die "unknown target $1 (all or diagram)" ;;
esac
