#!/usr/bin/env bash
# fuzz.sh: run each libFuzzer target for FUZZ_SECONDS and say how many
# inputs each one ran. Called by `make fuzz` with the targets to run.
#
# Per target: the corpus grows in $FUZZ_BUILD/corpus/<target> (seeded from
# testdata/fuzz/<target>, which is never written to), the dictionary is
# fuzz/<target>.dict, a crash is written to $FUZZ_BUILD/artifacts/<target>/
# and the log to $FUZZ_BUILD/logs/<target>.log. Exits 1 when any target
# found a crash, a leak or a timeout; the summary is also kept in
# $FUZZ_BUILD/summary.txt.
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SUPP=$PWD/tests/lsan.supp

# bytes of input each target is worth: parsers of text get a few pages,
# images enough for a small photo (the render target also gates dimensions)
max_len() {
	case "$1" in
	fuzz_render) echo 65536 ;;
	fuzz_event|fuzz_s3xml) echo 32768 ;;
	fuzz_config|fuzz_runtime_headers) echo 8192 ;;
	*) echo 2048 ;;
	esac
}

# libvips and glib keep type tables and thread pools for the life of the
# process; those, not imgpipe's allocations, are what tests/lsan.supp hides
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SUPP:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mkdir -p "$FUZZ_BUILD/corpus" "$FUZZ_BUILD/artifacts" "$FUZZ_BUILD/logs"
summary="$FUZZ_BUILD/summary.txt"
: > "$summary"
total=0
failed=()
for t in "$@"; do
	bin="$FUZZ_BUILD/$t"
	corpus="$FUZZ_BUILD/corpus/$t"
	seeds="testdata/fuzz/$t"
	log="$FUZZ_BUILD/logs/$t.log"
	mkdir -p "$corpus" "$FUZZ_BUILD/artifacts/$t"
	args=(-max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=25
	      -max_len="$(max_len "$t")" -print_final_stats=1
	      -artifact_prefix="$FUZZ_BUILD/artifacts/$t/")
	[ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
	echo "== $t: ${FUZZ_SECONDS}s" >&2
	"$bin" "${args[@]}" "$corpus" "$seeds" > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	execs=${execs:-0}
	total=$((total + execs))
	if [ $rc -ne 0 ]; then
		failed+=("$t")
		printf '%-24s %12s execs  FAILED (exit %d; see %s)\n' "$t" "$execs" "$rc" "$log" \
			| tee -a "$summary"
		grep -m3 -E '^==[0-9]+==ERROR|SUMMARY|runtime error|Test unit written' "$log" >&2
	else
		printf '%-24s %12s execs  %s corpus files\n' "$t" "$execs" \
			"$(ls "$corpus" | wc -l)" | tee -a "$summary"
	fi
done
printf '%-24s %12s execs\n' total "$total" | tee -a "$summary"
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: failed: ${failed[*]}" >&2; exit 1; }
