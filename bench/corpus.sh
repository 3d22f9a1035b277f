#!/usr/bin/env bash
# corpus.sh DIR: the benchmark's photographs, fetched from Debian's packages
# and prepared here; nothing is downloaded from anywhere else.
#
#   apt-get download plasma-workspace-wallpapers gnome-backgrounds
#   dpkg-deb -x both into DIR/pkg, then copy the picked files to DIR/ with
#   plain names, and make the phone-sized JPEGs from the photos.
#
# What the packages hold (looked at, picture by picture, for 5.27.5 and 43.1):
# KDE's 2560x1600 JPEGs are real photographs (a jetty, boats at sunset, a
# forest path, a leaf, cups, a lake at dawn...); its 3840x2160 and 5120x2880
# PNGs and JPEGs are renders and illustrations, and so are GNOME 43's
# 4096x4096 WebPs. So the corpus is:
#   photo-*.jpg            the real 4.1 MP photographs, as packaged
#   photo-<name>.png/.webp two of them re-encoded as PNG and WebP (lossless
#                          WebP would be unlike an upload: q90 lossy)
#   camera-12mp.jpg        4000x3000, camera-24mp.jpg 6000x4000: the largest
#                          photos cropped to 4:3 / 3:2, enlarged with
#                          Lanczos, given a sensor's grain (Gaussian noise:
#                          luminance sigma 3, each colour 1.5 more, fixed
#                          seeds) and saved as a camera does (q92, 4:2:0):
#                          2.8 MB for 12 MP, 0.23 bytes a pixel, as phones
#                          write them. Enlarged photos without the grain are
#                          smooth, a third of the bytes and cheaper to
#                          decode than real uploads: the report lists each
#                          file's bytes per pixel
#   art-8mp.png            a packaged 3840x2160 PNG (Canopee)
#   art-17mp.webp          a packaged 4096x4096 WebP (GNOME's wood-l)
#   camera-*.jpg           the camera set, 14 of these: 2 to 24 MP, 4:3, 3:2,
#                          16:9, 1:1 and portrait, saved at q80 to q95
#                          (0.1 to 0.5 bytes a pixel); the bench's headline is
#                          their median
# `--quick` keeps three of the camera set (12 MP, 5 MP 3:2, 12 MP portrait),
# one photo JPEG, the PNG and the WebP.
set -euo pipefail

QUICK=0
[ "${1:-}" = "--quick" ] && { QUICK=1; shift; }
DIR=${1:?usage: corpus.sh [--quick] DIR}
mkdir -p "$DIR/pkg" "$DIR/debs"

PKGS=(plasma-workspace-wallpapers gnome-backgrounds)
W=usr/share/wallpapers
PHOTOS=(BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf
        Grey Kite OneStandsOut Path summer_1am)

stamp="$DIR/.corpus-3-$QUICK"   # 3: the camera set
[ -f "$stamp" ] && { echo "corpus: $DIR is ready"; exit 0; }

# vips and vipsheader (libvips-tools) and bc make the corpus on the host,
# before any bench container exists: install them where they are missing
tools=()
command -v vips >/dev/null || tools+=(libvips-tools)
command -v bc >/dev/null || tools+=(bc)
if [ ${#tools[@]} -gt 0 ]; then
	echo "corpus: installing ${tools[*]}" >&2
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${tools[@]}" >/dev/null
fi

need=0
for p in "${PKGS[@]}"; do
	ls "$DIR/debs/${p}"_*.deb >/dev/null 2>&1 || need=1
done
if [ $need = 1 ]; then
	echo "corpus: apt-get download ${PKGS[*]}" >&2
	if ! (cd "$DIR/debs" && apt-get download "${PKGS[@]}" 2>/dev/null); then
		sudo=""
		[ "$(id -u)" -ne 0 ] && sudo="sudo"
		$sudo apt-get update -qq
		(cd "$DIR/debs" && apt-get download "${PKGS[@]}")
	fi
fi
for d in "$DIR"/debs/*.deb; do
	dpkg-deb -x "$d" "$DIR/pkg"
done

pick() { cp "$DIR/pkg/$1" "$DIR/$2"; }

names=()
for p in "${PHOTOS[@]}"; do
	n=$(echo "$p" | tr 'A-Z_' 'a-z-')
	pick "$W/$p/contents/images/2560x1600.jpg" "photo-$n.jpg"
	names+=("photo-$n.jpg")
done
pick "$W/Canopee/contents/images/3840x2160.png" art-8mp.png
pick usr/share/backgrounds/gnome/wood-l.webp art-17mp.webp

# the same photographs in the two other upload formats
vips copy "$DIR/photo-bythewater.jpg" "$DIR/photo-bythewater.png"
vips copy "$DIR/photo-eveningglow.jpg" "$DIR/photo-eveningglow.webp[Q=90]"

# camera-sized JPEGs: crop to the camera's aspect, enlarge, add a sensor's
# grain, save as a camera does
camera() { # SRC W H OUT [Q]
	local src=$1 w=$2 h=$3 out=$4 q=${5:-92} sw sh cw ch t=$DIR/.tmp
	sw=$(vipsheader -f width "$src")
	sh=$(vipsheader -f height "$src")
	cw=$sw; ch=$(( sw * h / w ))
	if [ "$ch" -gt "$sh" ]; then ch=$sh; cw=$(( sh * w / h )); fi
	mkdir -p "$t"
	vips crop "$src" "$t/crop.v" $(( (sw - cw) / 2 )) $(( (sh - ch) / 2 )) "$cw" "$ch"
	vips resize "$t/crop.v" "$t/big.v" "$(echo "$w / $cw" | bc -l)" \
		--vscale "$(echo "$h / $ch" | bc -l)" --kernel lanczos3
	vips gaussnoise "$t/luma.v" "$w" "$h" --sigma 3 --mean 0 --seed 1
	for i in 2 3 4; do
		vips gaussnoise "$t/c$i.v" "$w" "$h" --sigma 1.5 --mean 0 --seed "$i"
	done
	vips bandjoin "$t/c2.v $t/c3.v $t/c4.v" "$t/chroma.v"
	vips add "$t/luma.v" "$t/chroma.v" "$t/grain.v"
	vips add "$t/big.v" "$t/grain.v" "$t/noisy.v"
	vips cast "$t/noisy.v" "$t/out.v" uchar
	vips copy "$t/out.v" "$DIR/$out[Q=$q,optimize_coding,subsample_mode=on]"
	rm -rf "$t"
}
camera "$DIR/photo-bythewater.jpg" 4000 3000 camera-12mp.jpg
camera "$DIR/photo-eveningglow.jpg" 6000 4000 camera-24mp.jpg
# the camera set: every size, aspect and bytes per pixel uploads come in
# (2-24 MP; 4:3, 3:2, 16:9, 1:1, portrait; a camera's q80 to q95), each
# from another of the photographs. Five of them need less than a 2x shrink
# to their 1,600 px variant, so no DCT shrink helps there.
camera "$DIR/photo-kite.jpg" 1920 1080 camera-2mp-16x9.jpg 85
camera "$DIR/photo-path.jpg" 1536 2048 camera-3mp-portrait.jpg 90
camera "$DIR/photo-coldripple.jpg" 2592 1944 camera-5mp.jpg 88
camera "$DIR/photo-fallenleaf.jpg" 2725 1817 camera-5mp-3x2.jpg 90
camera "$DIR/photo-grey.jpg" 2000 3000 camera-6mp-portrait.jpg 92
camera "$DIR/photo-summer-1am.jpg" 3840 2160 camera-8mp-16x9.jpg 90
camera "$DIR/photo-colorfulcups.jpg" 3264 2448 camera-8mp.jpg 80
camera "$DIR/photo-onestandsout.jpg" 3000 3000 camera-9mp-square.jpg 88
camera "$DIR/photo-darkesthour.jpg" 3024 4032 camera-12mp-portrait.jpg 95
camera "$DIR/photo-path.jpg" 4608 3456 camera-16mp.jpg 90
camera "$DIR/photo-kite.jpg" 5184 3456 camera-18mp-3x2.jpg 95
camera "$DIR/photo-coldripple.jpg" 5472 3648 camera-20mp-3x2.jpg 85

if [ $QUICK = 1 ]; then
	keep="camera-12mp.jpg camera-5mp-3x2.jpg camera-12mp-portrait.jpg photo-path.jpg photo-bythewater.png photo-eveningglow.webp"
else
	keep="$(cd "$DIR" && ls camera-*.jpg | tr '\n' ' ') ${names[*]} photo-bythewater.png photo-eveningglow.webp art-8mp.png art-17mp.webp"
fi
mkdir -p "$DIR/set-$QUICK"
rm -f "$DIR/set-$QUICK"/*
for f in $keep; do ln -s "../$f" "$DIR/set-$QUICK/$f"; done
touch "$stamp"
echo "corpus: $(ls "$DIR/set-$QUICK" | wc -l) images in $DIR/set-$QUICK"
