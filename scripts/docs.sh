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

# shot URL TEXT OUT: a PNG of URL once TEXT is on the page, taken by
# tools/screenshot (headless Chromium over the DevTools protocol).
shot() {
	"$SHOOTER" -url "$1" -wait "//body[contains(normalize-space(.), \"$2\")]" -out "$3"
}

screenshot() {
	local passing
	passing=$(curl -fsS "$CONSUL/v1/health/service/$SERVICE?passing" 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)))') ||
		die "no Consul at $CONSUL: start the demo first (make demo)"
	((passing > 0)) || die "service $SERVICE has no passing instance in $CONSUL: is the demo up? (make demo)"
	SHOOTER=$(mktemp -d)/screenshot
	(cd tools/screenshot && go build -o "$SHOOTER" .)
	shot "$CONSUL/ui/dc1/services" "$passing instances" docs/img/consul-ui.png
	shot "$CONSUL/ui/dc1/services/$SERVICE/instances" "-$SERVICE-1" docs/img/consul-ui-instances.png
	rm -rf "$(dirname "$SHOOTER")"
	log "took docs/img/consul-ui.png and docs/img/consul-ui-instances.png ($passing passing instances of $SERVICE)"
}

bash scripts/deps.sh docs
case ${1:-all} in
diagram) diagram ;;
all) diagram && screenshot ;;
*) die "unknown target $1 (all or diagram)" ;;
esac
