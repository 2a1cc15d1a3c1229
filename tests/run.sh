#!/usr/bin/env bash
# Runs every test layer and ends with "N passed, N failed[, N skipped]".
# FERRY_BIN: directory of ferry-pack/ferry-load; FERRY_UNIT: directory of unit test binaries.
# TESTS="pattern" runs only the CLI scripts whose name matches.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export FERRY_BIN=${FERRY_BIN:-$here/../build}
export FERRY_UNIT=${FERRY_UNIT:-$here/../build/asan/unit}
export FERRY_ROOT=$(cd "$here/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

for u in "$FERRY_UNIT"/test_*; do
	[ -x "$u" ] || continue
	name=$(basename "$u")
	if out=$("$u" 2>&1); then
		echo "ok - unit/$name"; echo pass >>"$results"
	else
		printf '%s\n' "$out" | tail -20
		echo "not ok - unit/$name"; echo fail >>"$results"
	fi
done

for t in "$here"/cli/*.sh; do
	[ -f "$t" ] || continue
	case "$(basename "$t")" in *${TESTS:-}*) ;; *) continue ;; esac
	echo "# $(basename "$t")"
	started=$SECONDS
	FERRY_RESULTS=$results bash "$t"
	rc=$?
	echo "# $(basename "$t"): $((SECONDS - started)) s"
	if [ $rc -ne 0 ]; then
		echo "not ok - $(basename "$t") exited $rc"; echo fail >>"$results"
	fi
done

p=$(grep -c '^pass$' "$results"); f=$(grep -c '^fail$' "$results"); s=$(grep -c '^skip$' "$results")
if [ $((p + f)) -eq 0 ]; then
	echo "no test ran"; echo "0 passed, 1 failed"; exit 1
fi
if [ "$s" -gt 0 ]; then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
[ "$f" -eq 0 ]
