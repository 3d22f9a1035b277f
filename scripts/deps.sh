#!/usr/bin/env bash
# deps.sh: make sure the Debian packages imgpipe builds and tests with are
# installed; install the missing ones with apt-get (through sudo when not
# root). Quiet and quick when everything is there, so `make test` and
# `make demo` can call it every time on a fresh machine.
set -euo pipefail

# build: compiler, pkg-config and the -dev packages of the libraries we link
# test:  Criterion (the runner), awscli and node/npm (s3rver) for interop;
#        python3 for the demo's table and contact sheet
PACKAGES=(
	build-essential pkg-config
	libvips-dev liblcms2-dev libcurl4-openssl-dev libjansson-dev libssl-dev
	libxml2-dev zlib1g-dev libmicrohttpd-dev
	libcriterion-dev python3
	awscli nodejs npm
)

# the demo page's test in a real browser: wanted, not required (where it
# cannot be installed, that one test says so and is skipped)
OPTIONAL=(chromium)
for p in "${OPTIONAL[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		echo "imgpipe: installing the optional Debian package $p (the browser test)" >&2
		s=""
		[ "$(id -u)" -ne 0 ] && s="sudo"
		{ DEBIAN_FRONTEND=noninteractive $s apt-get install -y -qq --no-install-recommends "$p" \
			>/dev/null 2>&1 ||
		  { $s apt-get update -qq >/dev/null 2>&1 &&
		    DEBIAN_FRONTEND=noninteractive $s apt-get install -y -qq --no-install-recommends \
			"$p" >/dev/null 2>&1; }; } ||
			echo "imgpipe: $p could not be installed: the browser test will be skipped" >&2
	fi
done

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

# node and npm may come from elsewhere (nvm, NodeSource): accept any that runs
if command -v node >/dev/null && command -v npm >/dev/null; then
	kept=()
	for p in "${missing[@]}"; do
		case "$p" in nodejs|npm) ;; *) kept+=("$p") ;; esac
	done
	missing=("${kept[@]}")
	[ ${#missing[@]} -eq 0 ] && exit 0
fi

echo "imgpipe: installing Debian packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
