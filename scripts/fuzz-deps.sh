#!/usr/bin/env bash
# fuzz-deps.sh: what `make fuzz` needs on top of scripts/deps.sh: clang and
# its libFuzzer runtime (libclang_rt.fuzzer, in libclang-rt-*-dev on
# Debian). Installs them with apt-get when missing; quiet when present.
set -euo pipefail

have_fuzzer() {
	command -v clang >/dev/null || return 1
	local dir
	dir=$(clang -print-resource-dir 2>/dev/null) || return 1
	ls "$dir"/lib/linux/libclang_rt.fuzzer-x86_64.a "$dir"/lib/*/libclang_rt.fuzzer*.a \
		>/dev/null 2>&1
}

have_fuzzer && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "imgpipe: installing clang and its libFuzzer runtime" >&2
$sudo apt-get update -qq
if ! command -v clang >/dev/null; then
	$sudo apt-get install -y -qq --no-install-recommends clang >/dev/null
fi
# the runtime package follows clang's major version (bookworm: 14)
major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
$sudo apt-get install -y -qq --no-install-recommends "libclang-rt-${major}-dev" >/dev/null
have_fuzzer || { echo "imgpipe: clang has no libFuzzer runtime" >&2; exit 1; }
