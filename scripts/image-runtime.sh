#!/bin/sh
# image-runtime.sh: run in the Dockerfile's build stage, after imgpipe is
# built. Works out what the runtime stage must carry, by asking the dynamic
# linker rather than trusting package dependencies (Debian's libvips42t64
# depends on ImageMagick, poppler, OpenEXR, ... for modules imgpipe never
# loads):
#   OUT/root/        files copied as they are: imgpipe, libvips itself (built
#                    by scripts/build-vips.sh) into /usr/local/lib, and its
#                    heif module into /usr/local/lib/imgpipe, where imgpipe
#                    loads it when it first needs it
#   OUT/packages     the Debian packages owning every other library that
#                    imgpipe, vips-heif and the libheif plugins load
#
#   image-runtime.sh BINARY OUT
set -eu
bin=$1
out=$2
. "$(dirname "$0")/target.sh"
target_init "$bin"
libdir=/usr/lib/$multiarch
vips_so=$(vips_of "$bin")
vips_lib=$(dirname "$vips_so")
module=$(ls "$vips_lib"/vips-modules-*/vips-heif.so | head -n1)
# HEIC/AVIF in and AVIF out: libvips' heif module and libheif's codec plugins
loaded="$bin $vips_so $module $(ls "$libdir"/libheif/plugins/*.so)"

mkdir -p "$out/root/usr/local/bin" "$out/root/usr/local/lib/imgpipe"
cp "$bin" "$out/root/usr/local/bin/imgpipe"
cp -P "$vips_lib"/libvips.so.42* "$out/root/usr/local/lib/"
cp "$module" "$out/root/usr/local/lib/imgpipe/"

: >"$out/packages.tmp"
for f in $loaded; do
	tldd_checked "$f" "$out/ldd.tmp" image-runtime
	# the file itself (a plugin) and every library it loads
	{ echo "$f"; awk '$2 == "=>" && $3 ~ /^\// { print $3 }' "$out/ldd.tmp"; } |
	while read -r lib; do
		case "$lib" in *libvips.so*|*/vips-modules-*|"$bin"|"$vips_lib"/*) continue ;; esac
		real=$(readlink -f "$lib")
		pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null ||
		      dpkg -S "/usr${real#/usr}" 2>/dev/null) || {
			echo "image-runtime: no package owns $lib" >&2; exit 1; }
		echo "${pkg%%:*}" | sed 's/,.*//' >>"$out/packages.tmp"
	done
done
sort -u "$out/packages.tmp" >"$out/packages"
rm -f "$out/packages.tmp" "$out/ldd.tmp"
echo "image-runtime: $(wc -l <"$out/packages") packages:" $(cat "$out/packages")
