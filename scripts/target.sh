# target.sh: sourced by image-runtime.sh and dist.sh in the Dockerfile's
# build stages. What is being built for: this machine's architecture, or
# with CROSS set (a Debian architecture, arm64) another one, cross-compiled.
#
#   multiarch      the target's multiarch triplet (x86_64-linux-gnu, aarch64-linux-gnu)
#   uname_arch     the target's `uname -m` (x86_64, aarch64): bundle names
#   tool NAME      the target's binutils NAME (aarch64-linux-gnu-strip, or strip)
#   tldd FILE      what ldd says of FILE, asked of the target's own dynamic
#                  loader (through qemu-user, binfmt, for another
#                  architecture: ldd itself only knows this machine's),
#                  looking in libvips' directory and the target's first
#   target_loader  that loader (set from BINARY by target_init BINARY)
#   tldd_checked FILE OUT WHO
#                  tldd FILE into OUT; a library it cannot find stops the
#                  script, WHO: saying which
#   vips_of FILE   the libvips FILE loads, its real path (WHO: none stops)
#   tmake ARGS     make, with the target's compiler, archiver and pkg-config
# (dpkg-architecture warns that the native CC is not the target's: it is not asked to be)
multiarch=$(dpkg-architecture ${CROSS:+-a"$CROSS"} -qDEB_HOST_MULTIARCH 2>/dev/null)
gnu_type=$(dpkg-architecture ${CROSS:+-a"$CROSS"} -qDEB_HOST_GNU_TYPE 2>/dev/null)
uname_arch=${gnu_type%%-*}

tool() {
	if [ -n "${CROSS:-}" ]; then echo "$gnu_type-$1"; else echo "$1"; fi
}

vips_libdir=$("$(tool pkg-config)" --variable=libdir vips) ||
	{ echo "target: $(tool pkg-config) knows no vips" >&2; exit 1; }

target_init() {
	target_loader=$(readelf -l "$1" | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
	[ -n "$target_loader" ] && [ -e "$target_loader" ] ||
		{ echo "target: $1 has no loader here (${target_loader:-none})" >&2; exit 1; }
}

tldd() {
	LD_LIBRARY_PATH="$vips_libdir:/usr/lib/$multiarch:/lib/$multiarch" "$target_loader" --list "$1"
}

tldd_checked() {
	tldd "$1" >"$2"
	if grep -q 'not found' "$2"; then
		echo "$3: $1: a library is missing:" >&2
		cat "$2" >&2
		exit 1
	fi
}

vips_of() {
	_vips=$(tldd "$1" | awk '$1 ~ /^libvips\.so/ { print $3 }')
	[ -n "$_vips" ] || { echo "target: $1 does not load libvips" >&2; exit 1; }
	readlink -f "$_vips"
}

tmake() {
	if [ -n "${CROSS:-}" ]; then
		make CC="$(tool gcc)" AR="$(tool ar)" PKG_CONFIG="$(tool pkg-config)" "$@"
	else
		make "$@"
	fi
}
