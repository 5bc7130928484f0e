#!/usr/bin/env bash
# Test machines: N containers that each run a Docker engine of their own, on
# a private network (docs/boxes.md).
#
#   scripts/boxes.sh up N   start boxes stackctl-box1..N (or keep those that
#                           run) and print "NAME tcp://IP:2375" for each
#   scripts/boxes.sh down   remove them and their network
#
# The recipe (docker run flags, addresses, the wait for each engine) is Go
# code in internal/boxes, which the end-to-end harness uses too.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "${BASH_SOURCE[0]}")/.."

case ${1:-} in
up)
	# Builds the box image when it is missing or its recipe changed; a few
	# seconds otherwise.
	bash scripts/images.sh box
	exec go run ./internal/boxes/cmd/boxes up "${2:-3}"
	;;
down) exec go run ./internal/boxes/cmd/boxes down ;;
*)
	echo "usage: scripts/boxes.sh up N | down" >&2
	exit 2
	;;
esac
