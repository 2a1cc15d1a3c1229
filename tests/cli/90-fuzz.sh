#!/usr/bin/env bash
# Every libFuzzer target (tests/fuzz/fuzz_*.c) builds, survives FUZZ_CHECK_SECONDS of
# fuzzing from a copy of its seed corpus, and runs every committed seed once (crash
# inputs found earlier are kept there as regression seeds). `make fuzz` runs longer.
. "$FERRY_ROOT/tests/lib.sh"
secs=${FUZZ_CHECK_SECONDS:-5}
root=$FERRY_ROOT
cores=$(nproc 2>/dev/null || echo 2)

# clang with the libFuzzer runtime (scripts/install-deps.sh: clang, libclang-rt-14-dev)
if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	echo "# SKIPPED: ${FUZZ_CC:-clang} is not installed: the fuzz targets were NOT built or run" >&2
	skip "fuzz targets: ${FUZZ_CC:-clang} not installed (run make deps)"
	exit 0
fi
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$T/probe.c"
if ! "${FUZZ_CC:-clang}" -fsanitize=fuzzer,address,undefined "$T/probe.c" -o "$T/probe" >"$T/probe.err" 2>&1; then
	sed 's/^/#   /' "$T/probe.err" | head -5
	echo "# SKIPPED: ${FUZZ_CC:-clang} cannot link -fsanitize=fuzzer (libFuzzer runtime missing): the fuzz targets were NOT built or run" >&2
	skip "fuzz targets: no libFuzzer runtime for ${FUZZ_CC:-clang} (install libclang-rt-14-dev)"
	exit 0
fi

# a make of its own, not the jobserver of a surrounding make check
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$root" -j"$cores" fuzz-build >"$T/build.log" 2>&1; then
	tail -n 20 "$T/build.log" | sed 's/^/#   /'
	fail "fuzz targets build (make fuzz-build)"
	exit 0
fi
pass "fuzz targets build (make fuzz-build)"

mkdir -p "$T/tmp" "$T/crash" "$T/empty"
export TMPDIR=$T/tmp
targets=()
for src in "$root"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	if [ ! -x "$root/build/fuzz/$t" ]; then
		fail "$t: built binary missing"
		continue
	fi
	targets+=("$t")
done

# the committed seeds of a target: corpus/fuzz_x/ or corpus/x/
seeds_of() { if [ -d "$root/tests/fuzz/corpus/$1" ]; then echo "$root/tests/fuzz/corpus/$1"; else echo "$root/tests/fuzz/corpus/${1#fuzz_}"; fi; }

# fuzz T: a short fuzzing run from a working copy of the seeds (never the committed dir)
fuzz() {
	local t=$1 c=$T/corpus/$1
	mkdir -p "$c"
	local s
	s=$(seeds_of "$t")
	if [ -d "$s" ]; then cp -R "$s/." "$c/"; fi
	"$root/build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$T/crash/$t-" "$c" >"$T/$t.fuzz.log" 2>&1
	echo $? >"$T/$t.fuzz.rc"
}
running=0
for t in "${targets[@]}"; do
	fuzz "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$cores" ]; then wait -n; running=$((running - 1)); fi
done
wait

keep=$root/build/fuzz/crash
for t in "${targets[@]}"; do
	if [ "$(cat "$T/$t.fuzz.rc" 2>/dev/null)" = 0 ]; then
		pass "$t: ${secs}s of fuzzing, no crash ($(grep -Eo 'Done [0-9]+ runs' "$T/$t.fuzz.log" | head -n 1))"
	else
		grep -E 'ERROR|SUMMARY|==[0-9]+==|runtime error|Test unit written' "$T/$t.fuzz.log" | head -n 15 | sed 's/^/#   /'
		mkdir -p "$keep" && cp "$T"/crash/"$t"-* "$keep"/ 2>/dev/null
		fail "$t: fuzzing found a crash (inputs kept in build/fuzz/crash/)"
	fi
done

# every committed seed, run once: earlier crash inputs stay fixed
for t in "${targets[@]}"; do
	seeds=$(seeds_of "$t")
	if [ ! -d "$seeds" ]; then
		pass "$t: committed seeds (none yet)"
		continue
	fi
	n=$(find "$seeds" -type f | wc -l)
	if "$root/build/fuzz/$t" -runs=0 -timeout=10 -artifact_prefix="$T/crash/$t-seed-" "$T/empty" "$seeds" \
	    >"$T/$t.seeds.log" 2>&1; then
		pass "$t: all $n committed seeds run clean"
	else
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$T/$t.seeds.log" | head -n 15 | sed 's/^/#   /'
		fail "$t: a committed seed crashes"
	fi
done
