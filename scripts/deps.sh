#!/usr/bin/env bash
# Makes this machine able to build, test and demo stackctl: installs the
# Debian packages that are missing and starts the Docker daemon when it is
# installed but not running. `make demo`, `make images`, `make test` and
# .ci/run all start here, so the README's two commands are the whole set-up.
#
# Safe to run again: with nothing missing it installs nothing and says so in
# one line. Needs root for apt-get and dockerd, and uses sudo when not root.
#
#   scripts/deps.sh          what the images, tests and demo need
#   scripts/deps.sh docs     also what docs/ is drawn with (graphviz, chromium)
set -euo pipefail

log() { printf 'deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for: $* (run as root, or install sudo)"
	fi
}

# /usr/sbin is not on every user's PATH, and debootstrap lives there.
have() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 ]]; }

# Why each tool is needed, said when it is installed.
declare -A why=(
	[debootstrap]="builds the nginx image from Debian's packages (no registry is reachable)"
	[wrk]="puts HTTP load on the load balancer in benchmarks and tests"
	[hyperfine]="times whole commands side by side in bench/"
	[docker.io]="the Docker engine stackctl drives"
	[graphviz]="draws docs/img/stack.svg from docs/img/stack.dot"
	[chromium]="takes the Consul UI screenshot in docs/"
)

apt_updated=false
apt_install() {
	local pkg
	for pkg in "$@"; do log "installing $pkg: ${why[$pkg]:-}"; done
	if ! $apt_updated; then
		as_root apt-get update -qq
		apt_updated=true
	fi
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# missing_packages PROFILE: the Debian packages PROFILE needs that are absent.
missing_packages() {
	local missing=() tool
	for tool in debootstrap wrk hyperfine; do
		have "$tool" || missing+=("$tool")
	done
	# Only when there is no Docker at all: docker.io conflicts with Docker's
	# own docker-ce packages, which many machines have instead.
	have docker || have dockerd || missing+=(docker.io)
	if [[ $1 == docs ]]; then
		have dot || missing+=(graphviz)
		have chromium || missing+=(chromium)
	fi
	if ((${#missing[@]})); then printf '%s\n' "${missing[@]}"; fi
}

docker_up() { docker info >/dev/null 2>&1; }
dockerd_running() { pgrep -x dockerd >/dev/null 2>&1; }

# wait_docker SECONDS: true once the engine answers.
wait_docker() {
	local i
	for ((i = 0; i < $1; i++)); do
		docker_up && return 0
		sleep 1
	done
	return 1
}

# An init system starts Docker properly; inside a container there is none,
# so dockerd is started by hand and left running for later runs.
start_docker() {
	docker_up && return 0
	log "starting the Docker daemon: it is installed but not answering"
	if as_root service docker start >/dev/null 2>&1 && wait_docker 30; then
		return 0
	fi
	if ! dockerd_running; then
		as_root setsid dockerd >/tmp/dockerd.log 2>&1 </dev/null &
	fi
	wait_docker 60 && return 0
	tail -n 20 /tmp/dockerd.log >&2 || true
	die "the Docker daemon did not come up within 60 s (log: /tmp/dockerd.log)"
}

main() {
	local profile=${1:-build} missing
	case $profile in build | docs) ;; *) die "unknown profile $profile (build or docs)" ;; esac
	command -v go >/dev/null 2>&1 || die "Go is missing: install the Go release go.mod names first"
	mapfile -t missing < <(missing_packages "$profile")
	if ((${#missing[@]})); then
		apt_install "${missing[@]}"
	fi
	start_docker
	if ((${#missing[@]} == 0)); then log "nothing to install; Docker is running"; fi
}

main "$@"
