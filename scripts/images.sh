#!/usr/bin/env bash
# Builds the images in scripts/images.env, offline: no registry is reachable,
# so every image starts from scratch or from a debootstrapped Debian.
#
# Each image carries a label with a hash of what it was built from; an image
# whose label matches is left alone, so a run with nothing to do takes seconds.
# Go binaries are rebuilt every run (the build cache makes that cheap) and
# hashed, because their bytes are the only honest summary of their inputs:
# sources, dependencies and the Go toolchain.
set -euo pipefail
# Without this, a failing command inside $(...) would go unnoticed.
shopt -s inherit_errexit

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/images.env
source scripts/images.env

readonly CACHE=.cache
readonly BUILD=$CACHE/build
readonly LABEL=io.stackctl.inputs
# Reproducible binaries: without -trimpath and -buildvcs=false every checkout
# or commit would change their hash and force a rebuild.
readonly GOBUILD=(go build -trimpath -buildvcs=false)
export CGO_ENABLED=0 GOWORK=off
# debootstrap lives in /usr/sbin, which not every PATH has.
export PATH=$PATH:/usr/sbin:/sbin

log() { printf 'images: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
hash_stdin() { sha256sum | cut -d' ' -f1; }
hash_files() { cat "$@" | hash_stdin; }

label_of() {
	docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

# needs_build IMAGE INPUTS: true when IMAGE is missing or was built from other inputs.
needs_build() {
	if [[ "$(label_of "$1")" == "$2" ]]; then
		log "$1 up to date"
		return 1
	fi
	return 0
}

# quietly CMD...: runs CMD, showing its output only when it fails.
quietly() {
	local out
	out=$(mktemp)
	if ! "$@" >"$out" 2>&1; then
		cat "$out" >&2
		rm -f "$out"
		return 1
	fi
	rm -f "$out"
}

# Rebuilding a tag leaves the old image dangling; drop it unless something
# still uses it (a container, or an image built on top of it).
drop_replaced() {
	local image=$1 old=$2
	[[ -n "$old" ]] || return 0
	[[ "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ]] || return 0
	docker image rm "$old" >/dev/null 2>&1 || true
}

# docker_build IMAGE INPUTS CONTEXT [docker build flags...]
docker_build() {
	local image=$1 inputs=$2 context=$3 old
	shift 3
	old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
	log "building $image"
	quietly docker build --force-rm --label "$LABEL=$inputs" -t "$image" "$@" "$context"
	drop_replaced "$image" "$old"
}

# fresh_context NAME: an empty build context directory.
fresh_context() {
	local dir=$BUILD/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	printf '%s' "$dir"
}

# Hard links keep the 100 MB consul binary from being copied on each build.
link_or_copy() { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }

# --- consul -------------------------------------------------------------------

# Building Consul takes minutes, so its binary is kept in .cache and rebuilt
# only when the tool module that pins it changes.
consul_binary() {
	local want stamp=$CACHE/consul.inputs
	want=$(hash_files tools/consul/go.mod tools/consul/go.sum)
	if [[ -x $CACHE/consul && -f $stamp && "$(<"$stamp")" == "$want" ]]; then
		return
	fi
	# Whether this takes seconds (Go's build cache has it) or minutes (a cold
	# cache compiles all of Consul) is only known afterwards, so say it then.
	local start=$SECONDS
	log "compiling consul from tools/consul (go build)"
	(cd tools/consul && "${GOBUILD[@]}" -ldflags "-s -w" -o "../../$CACHE/consul.tmp" github.com/hashicorp/consul)
	mv "$CACHE/consul.tmp" "$CACHE/consul"
	log "compiled consul in $((SECONDS - start)) s"
	printf '%s\n' "$want" >"$stamp"
}

consul_image() {
	local inputs ctx
	consul_binary
	inputs=$({ sha256sum "$CACHE/consul"; cat scripts/images/consul.Dockerfile; } | hash_stdin)
	needs_build "$CONSUL_IMAGE" "$inputs" || return 0
	ctx=$(fresh_context consul)
	link_or_copy "$CACHE/consul" "$ctx/consul"
	mkdir -p "$ctx/rootfs/tmp" "$ctx/rootfs/consul/data"
	chmod 1777 "$ctx/rootfs/tmp"
	docker_build "$CONSUL_IMAGE" "$inputs" "$ctx" -f scripts/images/consul.Dockerfile
}

# --- nginx-base ----------------------------------------------------------------

# debian_mirror prints the Debian archive apt already uses, so that the image
# is built from the same (possibly local or snapshot) mirror as the host; the
# archive that serves the host's bookworm serves sid too. DEBIAN_MIRROR
# overrides it.
debian_mirror() {
	if [[ -n "${DEBIAN_MIRROR:-}" ]]; then
		printf '%s\n' "$DEBIAN_MIRROR"
		return
	fi
	local files=() f mirror
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		if [[ -f $f ]]; then files+=("$f"); fi
	done
	((${#files[@]})) || die "no /etc/apt/sources.list*; set DEBIAN_MIRROR=http://<mirror>/debian"
	# Prefer an entry for bookworm itself; else any main archive entry.
	mirror=$(awk '
		FNR == 1 { flush() }
		function want(uri, suites) {
			if (uri == "" || suites ~ /-security/) return
			if (!best && (" " suites " ") ~ / bookworm /) best = uri
			if (!any && uri ~ /\/debian\/?$/) any = uri
		}
		# one-line format: deb [options] URI SUITE COMPONENTS...
		FILENAME !~ /\.sources$/ && $1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
			want($i, $(i + 1))
			next
		}
		# deb822 format: stanzas separated by blank lines
		FILENAME ~ /\.sources$/ {
			if ($0 ~ /^[ \t]*$/) { flush(); next }
			if (tolower($1) == "types:") types = $0
			if (tolower($1) == "uris:") uri = $2
			if (tolower($1) == "suites:") { $1 = ""; suites = $0 }
			if (tolower($1) == "enabled:" && tolower($2) == "no") disabled = 1
		}
		function flush() {
			if (!disabled && types ~ /[ \t]deb([ \t]|$)/) want(uri, suites)
			types = uri = suites = ""; disabled = 0
		}
		END { flush(); print (best ? best : any) }
	' "${files[@]}")
	[[ -n "$mirror" ]] || die "no Debian mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR=http://<mirror>/debian"
	printf '%s\n' "$mirror"
}

# debian_rootfs DIR MIRROR SUITE PACKAGES: a minimal Debian SUITE with
# PACKAGES (comma-separated; recommends stay out), without what a container
# never reads.
debian_rootfs() {
	local dir=$1 mirror=$2 suite=$3 packages=$4
	quietly debootstrap --variant=minbase --include="$packages" "$suite" "$dir" "$mirror"
	rm -rf "${dir:?}"/var/lib/apt/lists/* "${dir:?}"/var/cache/apt/* "${dir:?}"/var/cache/debconf/*-old \
		"${dir:?}"/usr/share/man/* "${dir:?}"/usr/share/info/* "${dir:?}"/usr/share/locale/* \
		"${dir:?}"/usr/share/lintian "${dir:?}"/debootstrap
	# Log files go, their directories stay: nginx refuses to start without /var/log/nginx.
	find "${dir:?}"/var/log -type f -delete
	# Keep each package's copyright file; the rest of the docs are dead weight.
	find "${dir:?}"/usr/share/doc -mindepth 1 ! -name copyright ! -type d -delete
	find "${dir:?}"/usr/share/doc -mindepth 1 -type d -empty -delete
	# A container gets its own /dev, /proc and /sys from the engine.
	rm -rf "${dir:?}"/dev/* "${dir:?}"/proc/* "${dir:?}"/sys/*
}

# debian_image IMAGE ROOTFS: builds IMAGE by `docker import` of the folder
# the function ROOTFS (DIR MIRROR) fills with debootstrap. The source of
# ROOTFS and of debian_rootfs is the image's inputs hash, so editing a
# recipe rebuilds its image; the values a recipe reads (suite, packages)
# come as the remaining arguments and are hashed too.
debian_image() {
	local image=$1 rootfs=$2 inputs dir mirror old start=$SECONDS
	shift 2
	inputs=$({ declare -f debian_rootfs "$rootfs"; echo "$*"; } | hash_stdin)
	needs_build "$image" "$inputs" || return 0
	command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/deps.sh (make deps) to install it"
	[[ $(id -u) -eq 0 ]] || die "debootstrap needs root to build $image: run 'sudo make images' once"
	mirror=$(debian_mirror)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/stackctl-rootfs.XXXXXX")
	scratch_dirs+=("$dir")
	log "building $image with debootstrap from the apt mirror this machine uses (a minute or more)"
	"$rootfs" "$dir" "$mirror"
	old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
	# A command to run is the user's (the LB's, internal/boxes'), not the
	# image's: the image only holds the software.
	tar --numeric-owner --one-file-system -C "$dir" -c . |
		quietly docker import \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change "LABEL $LABEL=$inputs" \
			- "$image"
	drop_replaced "$image" "$old"
	log "built $image in $((SECONDS - start)) s"
}

# nginx-base: sid's nginx (nginx >= 1.27.3 resolves upstream servers at run
# time). sid's nginx package is nginx itself: nginx-light is gone; without
# recommends it adds only nginx-common, which holds /etc/nginx.
readonly NGINX_SUITE=sid NGINX_PACKAGE=nginx
nginx_rootfs() { debian_rootfs "$1" "$2" "$NGINX_SUITE" "$NGINX_PACKAGE"; }
nginx_base_image() { debian_image "$NGINX_BASE_IMAGE" nginx_rootfs "$NGINX_SUITE" "$NGINX_PACKAGE"; }

# --- box -----------------------------------------------------------------------

# box: a Docker engine, for the test machines of `make boxes`
# (docs/boxes.md). docker.io brings containerd, runc and iptables with it;
# tini is its init for the containers inside. Recommends stay out (no
# apparmor, git, xz).
readonly BOX_SUITE=bookworm BOX_PACKAGES=docker.io,iptables,procps
box_rootfs() {
	debian_rootfs "$1" "$2" "$BOX_SUITE" "$BOX_PACKAGES"
	# The engine's state starts empty: a box is a fresh machine every time.
	rm -rf "${1:?}"/var/lib/docker/* "${1:?}"/var/lib/containerd/*
}
box_image() { debian_image "$BOX_IMAGE" box_rootfs "$BOX_SUITE" "$BOX_PACKAGES"; }

# --- nginx ---------------------------------------------------------------------

# stackctl_binary prints the path of a fresh static stackctl, or nothing while
# cmd/stackctl does not exist yet.
stackctl_binary() {
	if [[ ! -d cmd/stackctl ]]; then
		log "warning: cmd/stackctl does not exist yet; $NGINX_IMAGE is built without stackctl"
		return
	fi
	if ! "${GOBUILD[@]}" -ldflags "-s -w" -o "$CACHE/stackctl" ./cmd/stackctl; then
		die "cmd/stackctl does not build, so $NGINX_IMAGE was not brought up to date"
	fi
	printf '%s\n' "$CACHE/stackctl"
}

nginx_image() {
	local inputs ctx bin
	bin=$(stackctl_binary)
	inputs=$({
		docker image inspect -f '{{.Id}}' "$NGINX_BASE_IMAGE"
		if [[ -n "$bin" ]]; then sha256sum <"$bin"; else echo "no stackctl"; fi
		cat scripts/images/nginx.Dockerfile scripts/images/nginx.conf
	} | hash_stdin)
	needs_build "$NGINX_IMAGE" "$inputs" || return 0
	ctx=$(fresh_context nginx)
	cp scripts/images/nginx.conf "$ctx/"
	mkdir "$ctx/bin"
	if [[ -n "$bin" ]]; then link_or_copy "$bin" "$ctx/bin/stackctl"; fi
	docker_build "$NGINX_IMAGE" "$inputs" "$ctx" -f scripts/images/nginx.Dockerfile \
		--build-arg "NGINX_BASE_IMAGE=$NGINX_BASE_IMAGE"
}

# --- stackctl ------------------------------------------------------------------

# stackctl: the static binary FROM scratch, the image of a stack's reconcile
# agent. The CA certificates come from the host, when it has them, so that
# the agent can check an https repository's server.
readonly CA_CERTS=/etc/ssl/certs/ca-certificates.crt
stackctl_image() {
	local inputs ctx bin
	bin=$(stackctl_binary)
	[[ -n "$bin" ]] || return 0
	inputs=$({
		sha256sum <"$bin"
		cat scripts/images/stackctl.Dockerfile
		if [[ -f $CA_CERTS ]]; then sha256sum <"$CA_CERTS"; fi
	} | hash_stdin)
	needs_build "$STACKCTL_IMAGE" "$inputs" || return 0
	ctx=$(fresh_context stackctl)
	link_or_copy "$bin" "$ctx/stackctl"
	mkdir -p "$ctx/rootfs/tmp" "$ctx/rootfs/var/cache/stackctl" "$ctx/rootfs/etc/ssl/certs"
	chmod 1777 "$ctx/rootfs/tmp"
	if [[ -f $CA_CERTS ]]; then cp "$CA_CERTS" "$ctx/rootfs$CA_CERTS"; fi
	docker_build "$STACKCTL_IMAGE" "$inputs" "$ctx" -f scripts/images/stackctl.Dockerfile
}

# --- primes --------------------------------------------------------------------

# primes_image IMAGE LDFLAGS: the reference app, with its variant baked in at
# link time so the images need no runtime configuration to differ.
primes_image() {
	local image=$1 ldflags=$2 ctx inputs
	ctx=$(fresh_context "primes-${image##*:}")
	"${GOBUILD[@]}" -ldflags "-s -w $ldflags" -o "$ctx/primes" ./stacks/primes/app
	cp stacks/primes/app/Dockerfile "$ctx/Dockerfile"
	inputs=$(hash_files "$ctx/primes" "$ctx/Dockerfile")
	needs_build "$image" "$inputs" || return 0
	docker_build "$image" "$inputs" "$ctx"
}

# Temporary directories removed on exit, whether the build worked or not.
scratch_dirs=()
remove_scratch_dirs() {
	# --one-file-system: never descend into a mount debootstrap left behind.
	if ((${#scratch_dirs[@]})); then rm -rf --one-file-system "${scratch_dirs[@]}"; fi
}
trap remove_scratch_dirs EXIT

main() {
	command -v docker >/dev/null || die "docker CLI not found"
	docker info >/dev/null 2>&1 || die "Docker engine not reachable: start it with 'service docker start' or 'dockerd &'"
	mkdir -p "$CACHE" "$BUILD"
	# Two runs at once (two terminals, parallel test jobs) would overwrite
	# each other's build contexts; the second waits and then finds little to do.
	exec 9>"$CACHE/images.lock"
	if ! flock -n 9; then
		log "waiting for another run of scripts/images.sh"
		flock 9
	fi
	if (($#)); then
		build_only "$@"
		return
	fi
	consul_image
	primes_images
	nginx_base_image
	box_image
	# Last, because they compile cmd/stackctl: while that is broken the other
	# images are still made, and the run still fails.
	nginx_image
	stackctl_image
}

primes_images() {
	primes_image "$PRIMES_V1_IMAGE" "-X main.version=v1"
	primes_image "$PRIMES_V2_IMAGE" "-X main.version=v2"
	primes_image "$PRIMES_BAD_IMAGE" "-X main.version=bad -X main.alwaysUnhealthy=1"
}

# build_only NAME...: `scripts/images.sh box` brings just those images up to
# date, e.g. while working on one recipe.
build_only() {
	local name
	for name in "$@"; do
		case $name in
		consul) consul_image ;;
		primes) primes_images ;;
		nginx-base) nginx_base_image ;;
		nginx) nginx_image ;;
		box) box_image ;;
		stackctl) stackctl_image ;;
		*) die "unknown image $name (consul, primes, nginx-base, nginx, box, stackctl)" ;;
		esac
	done
}

main "$@"
