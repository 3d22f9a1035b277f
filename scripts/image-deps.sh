#!/usr/bin/env bash
# image-deps.sh: what `make image` and `make image-test` need on a Debian
# machine without a Docker engine: podman with runc (crun is not wanted:
# the container settings in .ci/containers.conf name runc), uidmap, and
# debootstrap for scripts/image-base.sh. Quiet when all is there.
set -euo pipefail

# image-deps.sh --arch arm64: also qemu-user-static and binfmt-support, and
# the kernel told to run aarch64 binaries through qemu (the arm64 image's
# runtime stage and its tests run emulated; the compiling is cross).
PACKAGES=(podman runc uidmap debootstrap)
arch=
[ "${1:-}" = "--arch" ] && arch=${2:-}
case $arch in
""|amd64|x86_64) ;;
arm64|aarch64) PACKAGES+=(qemu-user-static binfmt-support) ;;
*) echo "image-deps: no support for --arch $arch" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

# aarch64 binaries run through qemu-user: binfmt_misc mounted, the handler
# enabled, with the F flag so that it works inside containers too
binfmt() {
	[ -n "$arch" ] && [ "$arch" != amd64 ] && [ "$arch" != x86_64 ] || return 0
	[ -e /proc/sys/fs/binfmt_misc/status ] ||
		$sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || $sudo update-binfmts --enable qemu-aarch64
	grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || {
		echo "image-deps: qemu-aarch64 is registered without the F flag: containers cannot use it" >&2
		exit 1; }
}

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && { binfmt; exit 0; }

echo "imgpipe: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
binfmt
