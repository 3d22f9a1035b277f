#!/usr/bin/env bash
# image-deps.sh: what `make image` and `make image-test` need on a Debian
# machine without a Docker engine: podman with runc (crun is not wanted:
# the container settings in .ci/containers.conf name runc), uidmap, and
# debootstrap for scripts/image-base.sh. Quiet when all is there.
set -euo pipefail

PACKAGES=(podman runc uidmap debootstrap)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "imgpipe: installing Debian packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
