#!/usr/bin/env bash
# image-base.sh: make sure the base image the Dockerfile starts from,
# debian:trixie-slim, is in the container tool's local store. Where a
# registry can be reached it is simply pulled; where none can (this
# project's machines and CI reach Debian's package mirror and nothing
# else), it is built here: debootstrap --variant=minbase trixie from the
# same Debian mirror apt uses, trimmed as Docker's slim images are (no apt
# lists, caches, docs, man pages or locales, and dpkg told to keep it so),
# then imported and tagged debian:trixie-slim.
#
# The root file system is cached as build/base/debian-trixie-slim.tar, so
# a second import (after `podman rmi`, on a machine kept) skips debootstrap.
#
#   scripts/image-base.sh [--force] [--arch amd64|arm64]
#
# --force: debootstrap again. --arch: another architecture's base, for
# `make image ARCH=arm64`: tagged debian:trixie-slim-arm64 (the runtime
# stage's base; the build stages stay on this machine's architecture and
# cross-compile). debootstrap runs its second stage through qemu-user
# (scripts/image-deps.sh --arch arm64 sets that up).
set -euo pipefail
cd "$(dirname "$0")/.."

CTR=scripts/ctr
force=0
arch=$(dpkg --print-architecture)
while [ $# -gt 0 ]; do
	case $1 in
	--force) force=1 ;;
	--arch) arch=$2; shift ;;
	*) echo "image-base: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	IMAGE=debian:trixie-slim
	CACHE=build/base/debian-trixie-slim.tar
else
	IMAGE=debian:trixie-slim-$arch
	CACHE=build/base/debian-trixie-slim-$arch.tar
fi

if [ $force -eq 0 ] && $CTR image inspect "$IMAGE" >/dev/null 2>&1; then
	exit 0
fi
if [ $force -eq 0 ] && [ "${IMGPIPE_BASE_PULL:-1}" = 1 ] &&
   timeout 60 $CTR pull -q --arch "$arch" docker.io/library/debian:trixie-slim >/dev/null 2>&1; then
	[ "$IMAGE" = debian:trixie-slim ] || $CTR tag docker.io/library/debian:trixie-slim "$IMAGE"
	echo "imgpipe: pulled $IMAGE"
	exit 0
fi

# The Debian mirror this machine's apt uses (deb822 URIs: or one-line deb).
mirror() {
	local f u
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		u=$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z]+://[^[:space:]]+/debian/?([[:space:]]|$)' "$f" |
		    grep -oE '[a-z]+://[^[:space:]]+' | head -n1) || true
		if [ -n "$u" ]; then
			echo "${u%/}"
			return
		fi
	done
	echo "http://deb.debian.org/debian"
}

if [ $force -eq 1 ] || [ ! -s "$CACHE" ]; then
	command -v debootstrap >/dev/null || { echo "imgpipe: debootstrap is missing: scripts/image-deps.sh" >&2; exit 1; }
	[ "$(id -u)" -eq 0 ] || { echo "imgpipe: debootstrap needs root" >&2; exit 1; }
	MIRROR="${IMGPIPE_DEBIAN_MIRROR:-$(mirror)}"
	root=$(mktemp -d /tmp/imgpipe-base.XXXXXX)
	trap 'rm -rf "$root"' EXIT
	echo "imgpipe: debootstrap --variant=minbase --arch=$arch trixie from $MIRROR (a minute or two)"
	start=$(date +%s)
	if ! debootstrap --variant=minbase --arch="$arch" trixie "$root" "$MIRROR" >"$root.log" 2>&1; then
		tail -n 30 "$root.log" >&2
		rm -f "$root.log"
		exit 1
	fi
	rm -f "$root.log"
	# as Docker's debian slim images: no docs, man pages or locales now or later
	cat >"$root/etc/dpkg/dpkg.cfg.d/imgpipe-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
	cat >"$root/etc/apt/apt.conf.d/imgpipe-slim" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CFG
	find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
	       "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/*
	mkdir -p "$(dirname "$CACHE")"
	tar --numeric-owner -C "$root" -cf "$CACHE.tmp" .
	mv "$CACHE.tmp" "$CACHE"
	echo "imgpipe: base root file system $(du -sh "$root" | cut -f1) in $(( $(date +%s) - start )) s"
fi

$CTR import -q --arch "$arch" --change 'CMD ["bash"]' "$CACHE" "$IMAGE" >/dev/null
# the name a Dockerfile's FROM resolves to, whatever the short-name settings
$CTR tag "$IMAGE" "docker.io/library/$IMAGE" 2>/dev/null || true
echo "imgpipe: imported $IMAGE"
