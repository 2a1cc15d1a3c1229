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

# The CLI scripts run FERRY_TEST_JOBS at a time (default: one per core; each brings its
# own temporary directory, services on free ports and private daemons), the slowest
# first; each one's output is printed whole when it ends.
jobs=${FERRY_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
case "$jobs" in '' | *[!0-9]* | 0) jobs=1 ;; esac
slow_first="95-tsan.sh 80-faults.sh 90-fuzz.sh 10-bundle.sh 60-registry.sh 57-sbom.sh 95-deb.sh 65-serve.sh 70-docker.sh"
scripts=()
for n in $slow_first; do [ -f "$here/cli/$n" ] && scripts+=("$here/cli/$n"); done
for t in "$here"/cli/*.sh; do
	case " $slow_first " in *" $(basename "$t") "*) continue ;; esac
	scripts+=("$t")
done
logs=$(mktemp -d)
trap 'rm -f "$results"; rm -rf "$logs"; kill $(jobs -p) 2>/dev/null' EXIT
declare -A name_of=() start_of=()
running=0

# finish: waits for one script, prints its output, its time and its exit status
finish() {
	local pid rc n
	wait -n -p pid
	rc=$?
	n=${name_of[$pid]}
	cat "$logs/$n.log"
	echo "# $n: $((SECONDS - ${start_of[$pid]})) s"
	if [ $rc -ne 0 ]; then
		echo "not ok - $n exited $rc"; echo fail >>"$results"
	fi
	running=$((running - 1))
}

for t in "${scripts[@]}"; do
	[ -f "$t" ] || continue
	n=$(basename "$t")
	case "$n" in *${TESTS:-}*) ;; *) continue ;; esac
	while [ "$running" -ge "$jobs" ]; do finish; done
	{ echo "# $n"; FERRY_RESULTS=$results bash "$t"; } >"$logs/$n.log" 2>&1 </dev/null &
	name_of[$!]=$n
	start_of[$!]=$SECONDS
	running=$((running + 1))
done
while [ "$running" -gt 0 ]; do finish; done

p=$(grep -c '^pass$' "$results"); f=$(grep -c '^fail$' "$results"); s=$(grep -c '^skip$' "$results")
if [ $((p + f)) -eq 0 ]; then
	echo "no test ran"; echo "0 passed, 1 failed"; exit 1
fi
if [ "$s" -gt 0 ]; then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
[ "$f" -eq 0 ]
