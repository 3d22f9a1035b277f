#!/usr/bin/env bash
# image.sh [--quick] [run.py options]: `make bench-image`. The bench inside the production
# image: builds imgpipe-bench:latest from bench/Containerfile on top of
# imgpipe:latest (run `make image` first), then runs bench/run.py in it with
# the repository mounted, so the report lands in bench/results/ labelled
# "image". The corpus is prepared on the host first (bench/corpus.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
ctr=scripts/ctr
quick=() extra=()
for a in "$@"; do
	case $a in --quick) quick=(--quick) ;; *) extra+=("$a") ;; esac
done
$ctr image inspect imgpipe:latest >/dev/null 2>&1 || {
	echo "bench-image: no imgpipe:latest: run 'make image' first" >&2; exit 2; }
bench/corpus.sh "${quick[@]}" build/bench/corpus
# sharp from the npm registry, installed here on the host (whose network
# and certificates npm is known to work with), used by the container
# through the mounted repository
if [ ! -f bench/sharp/node_modules/.package-lock.json ] ||
   [ bench/sharp/package-lock.json -nt bench/sharp/node_modules/.package-lock.json ]; then
	(cd bench/sharp && npm ci --no-audit --no-fund --loglevel=error)
fi
# the commit measured, for bench/history.csv (the image has no git)
bench_commit() {
	local c
	c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	git status --porcelain --untracked-files=no -- . ':!bench/results' ':!bench/history.csv' \
		2>/dev/null | grep -q . && c="$c-dirty"
	echo "$c"
}
# s3rver (tests/node_modules), the S3 stand-in of the I/O measurement
make -s tests/node_modules/.package-lock.json
pull=$(test "$($ctr --which)" = podman && echo --pull=never)
# imgpipe-bench, built against the image's libvips (the Dockerfile's dist stage)
$ctr build $pull --network=host --target dist -t imgpipe-dist:latest .
$ctr build $pull --network=host -f bench/Containerfile -t imgpipe-bench:latest .
# the repository is mounted: sharp (bench/sharp/node_modules, npm ci'd by
# run.py when missing; its prebuilt binaries carry their own libvips), the
# corpus and the results are shared with the host
$ctr run --rm --network=host -v "$here:/work" -w /work \
	-e IMGPIPE_BENCH_LABEL=image -e IMGPIPE_BENCH_COMMIT="$(bench_commit)" imgpipe-bench:latest \
	python3 bench/run.py --bin /usr/local/bin/imgpipe \
	--bench-bin /usr/local/bin/imgpipe-bench "${quick[@]}" "${extra[@]}"
