#!/bin/sh
# dist.sh: run in the Dockerfile's dist stage, after imgpipe and
# imgpipe-bench are built against trixie's libvips. Makes a self-contained,
# relocatable build, the way aws-lambda-cpp's packager bundles libc: the
# binaries, every shared library they, libvips' heif module and libheif's
# codec plugins load, the dynamic loader and libc itself, all in lib/, and
# small start scripts that run the binaries through the bundled loader with
# the bundled libraries only. So it runs on any x86_64 (or aarch64) glibc
# Linux, whatever glibc and libvips that machine has: Debian 12's older
# glibc, Lambda's Amazon Linux 2023, a laptop.
#
#   dist.sh VERSION OUT     (in /src, after make build/imgpipe build/imgpipe-bench)
#
# OUT/imgpipe-VERSION-linux-ARCH.tar.gz     imgpipe-VERSION-linux-ARCH/
#     imgpipe             the command (a start script)
#     imgpipe-bench       imgpipe's side of `make bench`, on your own photos
#     bootstrap           `imgpipe lambda`, for Lambda's provided.al2023
#     lib/                imgpipe.bin, imgpipe-bench.bin, ld-linux, libc, libvips...
#     lib/imgpipe/vips-heif.so   lib/libheif/plugins/*.so
# OUT/imgpipe-VERSION-lambda-ARCH.zip       the same, bootstrap at its root
set -eu
version=$1
out=$2
. "$(dirname "$0")/target.sh"
target_init build/imgpipe
arch=$uname_arch
libdir=/usr/lib/$multiarch
name=imgpipe-$version-linux-$arch
root=$out/$name
# libvips as scripts/build-vips.sh built it, and its heif module, which
# imgpipe loads from lib/imgpipe when it first needs it
vips_so=$(vips_of build/imgpipe)
module=$(ls "$(dirname "$vips_so")"/vips-modules-*/vips-heif.so | head -n1)
mods=imgpipe

rm -rf "$root"
mkdir -p "$root/lib/$mods" "$root/lib/libheif/plugins"
cp build/imgpipe "$root/lib/imgpipe.bin"
cp build/imgpipe-bench "$root/lib/imgpipe-bench.bin"
"$(tool strip)" "$root/lib/imgpipe.bin" "$root/lib/imgpipe-bench.bin"
cp "$module" "$root/lib/$mods/"
cp "$libdir"/libheif/plugins/*.so "$root/lib/libheif/plugins/"

# every library any of them loads, the loader included, flat in lib/
for f in "$root/lib/imgpipe.bin" "$root/lib/imgpipe-bench.bin" "$root/lib/$mods/vips-heif.so" \
         "$root"/lib/libheif/plugins/*.so; do
	tldd_checked "$f" "$out/ldd.tmp" dist
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' \
		"$out/ldd.tmp" | while read -r lib; do
		[ -e "$root/lib/$(basename "$lib")" ] || cp -L "$lib" "$root/lib/"
	done
done
rm -f "$out/ldd.tmp"
loader=$(cd "$root/lib" && ls ld-linux-*.so.* | head -n1)
[ -n "$loader" ] || { echo "dist: no dynamic loader found" >&2; exit 1; }
"$(tool strip)" --strip-unneeded "$root"/lib/*.so* "$root/lib/$mods"/*.so "$root"/lib/libheif/plugins/*.so \
	2>/dev/null || true

# The start scripts. The bundled loader runs the binary with the bundled
# libraries only (--library-path, and nothing of the system's: it has no
# cache of its own); VIPSHOME keeps libvips from loading another libvips'
# modules from this machine (it finds none under lib/: heif is loaded by
# imgpipe itself, from lib/imgpipe, when first needed),
# LIBHEIF_PLUGIN_PATH makes libheif load its codecs from lib/; GCONV_PATH
# and LOCPATH keep glibc from loading another glibc's iconv modules or
# locales; MALLOC_ARENA_MAX=2 (unless set) is the container image's
# allocator setting, for the same reason (README, "The allocator").
start() { # FILE BINARY [ARGS]
	cat >"$root/$1" <<EOF
#!/bin/sh
# $1: runs lib/$2 through the loader and libraries of this bundle ($name).
# Where it lives, without a subprocess unless it was reached through a link.
self=\$0
case \$self in */*) ;; *) self=\$(command -v -- "\$self") ;; esac
[ -L "\$self" ] && self=\$(readlink -f -- "\$self")
here=\${self%/*}
VIPSHOME=\$here/lib LIBHEIF_PLUGIN_PATH=\$here/lib/libheif/plugins \\
GCONV_PATH=\$here/lib/gconv LOCPATH=\$here/lib/locale MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-2} \\
exec "\$here/lib/$loader" --library-path "\$here/lib" --argv0 "\$0" "\$here/lib/$2" $3 "\$@"
EOF
	chmod 755 "$root/$1"
}
start imgpipe imgpipe.bin ""
start imgpipe-bench imgpipe-bench.bin ""
start bootstrap imgpipe.bin ""   # run as "bootstrap", imgpipe serves Lambda

# it must run from here, with nothing of this machine's libvips, and
# carry every codec the image does
"$root/imgpipe" --version | tee "$out/version.txt"
grep -q '^reads.* heic avif; writes.* avif$' "$out/version.txt" ||
	{ echo "dist: the bundle lost a codec" >&2; exit 1; }
rm -f "$out/version.txt"
(cd "$out" && tar -czf "$name.tar.gz" "$name")
rm -f "$out/imgpipe-$version-lambda-$arch.zip"
(cd "$root" && zip -qry "$out/imgpipe-$version-lambda-$arch.zip" bootstrap imgpipe lib)
du -sh "$root" "$out/$name.tar.gz" "$out/imgpipe-$version-lambda-$arch.zip"
