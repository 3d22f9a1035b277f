#!/bin/sh
# build-vips.sh PREFIX: run in the Dockerfile's vips stage. libvips 8.16
# from Debian trixie's own source package, built with only what imgpipe
# uses: JPEG (libjpeg-turbo), PNG (spng, libpng and libimagequant for
# palettes), WebP, GIF (libvips' own nsgif), TIFF, HEIC and AVIF (libheif,
# as a module imgpipe loads when first needed), lcms2, libexif, Highway.
#
# Debian's libvips links about a hundred libraries (ImageMagick, poppler,
# OpenEXR, HDF5, cairo, pango, X11, ...) for loaders imgpipe blocks; each
# is mapped and relocated at every start. This one links about forty: a
# cold start 8 to 10 ms shorter (README, "Cold start"), a smaller image.
set -eu
prefix=$1
src=/tmp/vips-src
mkdir -p "$src"
cd "$src"
# the orig tarball is what is built; a mirror missing the package's .dsc
# (seen here) is not a reason to stop, a tarball that does not match the
# index's checksum is
apt-get source --download-only vips >/dev/null 2>&1 || true
tarball=$(ls vips_*.orig.tar.* | head -n1)
want=$(apt-cache showsrc vips | awk -v f="$tarball" '
	/^Checksums-Sha256:/ { in_sums = 1; next }
	/^[^ ]/ { in_sums = 0 }
	in_sums && $3 == f { print $1; exit }')
[ -n "$want" ] || { echo "build-vips: no checksum for $tarball in the index" >&2; exit 1; }
echo "$want  $tarball" | sha256sum -c -
top=$(tar tf "$tarball" | head -n1 | cut -d/ -f1)
tar xf "$tarball"
cd "$top"
# CROSS (the Dockerfile's): another Debian architecture, cross-compiled
cross=
if [ -n "${CROSS:-}" ]; then
	t=$(dpkg-architecture -a"$CROSS" -qDEB_HOST_GNU_TYPE)
	cpu=$(dpkg-architecture -a"$CROSS" -qDEB_HOST_GNU_CPU)
	pc=$(command -v "$t-pkg-config" || echo pkg-config)
	printf '%s\n' "[binaries]" "c = '$t-gcc'" "cpp = '$t-g++'" "ar = '$t-ar'" \
		"strip = '$t-strip'" "pkg-config = '$pc'" "" "[host_machine]" "system = 'linux'" \
		"cpu_family = '$cpu'" "cpu = '$cpu'" "endian = 'little'" >cross.ini
	cross="--cross-file=$PWD/cross.ini"
fi
meson setup build $cross --prefix="$prefix" --libdir=lib --buildtype=release \
	-Ddeprecated=false -Dexamples=false -Dcplusplus=false -Dintrospection=disabled \
	-Dmodules=enabled -Dheif=enabled -Dheif-module=enabled \
	-Djpeg=enabled -Dspng=enabled -Dpng=enabled -Dimagequant=enabled -Dwebp=enabled \
	-Dtiff=enabled -Dnsgif=true -Dlcms=enabled -Dexif=enabled -Dhighway=enabled \
	-Dzlib=enabled \
	-Dcfitsio=disabled -Dcgif=disabled -Dfftw=disabled -Dfontconfig=disabled \
	-Darchive=disabled -Djpeg-xl=disabled -Dmagick=disabled -Dmatio=disabled \
	-Dnifti=disabled -Dopenexr=disabled -Dopenjpeg=disabled -Dopenslide=disabled \
	-Dorc=disabled -Dpangocairo=disabled -Dpdfium=disabled -Dpoppler=disabled \
	-Dquantizr=disabled -Drsvg=disabled -Dppm=false -Danalyze=false -Dradiance=false \
	>meson.log 2>&1 || { tail -n 40 meson.log >&2; exit 1; }
ninja -C build install >ninja.log 2>&1 || { tail -n 40 ninja.log >&2; exit 1; }
# what is linked against it finds it (ldd, the build stage's tests)
echo "$prefix/lib" >/etc/ld.so.conf.d/imgpipe-vips.conf
ldconfig
echo "build-vips: $top${CROSS:+ for $CROSS} in $prefix, needing $(readelf -d "$prefix"/lib/libvips.so.42 | grep -c NEEDED) libraries directly"
rm -rf "$src"
