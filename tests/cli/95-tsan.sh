#!/usr/bin/env bash
# The registry tests (60-registry.sh, 80-faults.sh) once more, against the
# ThreadSanitizer build (make tsan; make check sets FERRY_TSAN_BIN): the upload
# workers, the reader and the registry client they share must not race. A TSan report
# makes the program exit 66 (halt_on_error), which the test that ran it sees, and is
# also written to a file here: any such file fails this script, whatever the exit
# code the test expected. Then a pack pulling several images at once. 80-faults runs its cases with upload workers only
# (FERRY_FAULTS_THREADS_ONLY): the single-request faults are covered by its ASan run.
. "$FERRY_ROOT/tests/lib.sh"
tsan_bin=${FERRY_TSAN_BIN:-}
if [ -z "$tsan_bin" ] || [ ! -x "$tsan_bin/ferry-load" ] || [ ! -x "$tsan_bin/ferry-pack" ]; then
	skip "ThreadSanitizer run of the registry tests: no build in FERRY_TSAN_BIN (make tsan; make check sets it)"
	exit 0
fi
reports=$T/tsan
mkdir -p "$reports"
for t in 60-registry.sh 80-faults.sh; do
	echo "# $t against $tsan_bin (ThreadSanitizer)"
	started=$SECONDS
	FERRY_FAULTS_THREADS_ONLY=1 FERRY_BIN=$tsan_bin TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$reports/report" \
		bash "$FERRY_ROOT/tests/cli/$t"
	rc=$?
	echo "# $t under ThreadSanitizer: $((SECONDS - started)) s"
	[ $rc -eq 0 ] || fail "$t under ThreadSanitizer exited $rc"
done
# A pack pulling three images at once (their manifests read on threads of their own,
# the layers fetched jobs at a time, catalogued as they land, the bundle flushed by its
# writer's thread as it grows).
. "$FERRY_ROOT/tests/services.sh"
if need_fixtures && start_registry && new_gpg_home; then
	for img in app-a app-b; do skopeo copy -q --dest-tls-verify=false "docker-archive:$FX/$img.docker.tar" "docker://$REG_ADDR/ferry/$img:1"; done
	skopeo copy -q --all --dest-tls-verify=false "oci-archive:$FX/multi.oci.tar" "docker://$REG_ADDR/ferry/multi:1"
	printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: tsan, version: 1.0.0, vendor: Ferry Tests}\nimages:\n' >"$T/pull.yaml"
	for img in app-a app-b multi; do printf '  - {ref: %s/ferry/%s:1}\n' "$REG_ADDR" "$img" >>"$T/pull.yaml"; done
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$reports/report" \
		expect 0 "ThreadSanitizer: a pack pulling three images at once (--jobs 4)" \
		"$tsan_bin/ferry-pack" build "$T/pull.yaml" -o "$T/pull.ferry" --plain-http "$REG_ADDR" --jobs 4 -q
else
	fail "ThreadSanitizer pull: $SVC_WHY"
fi
found=$(find "$reports" -type f -name 'report*' 2>/dev/null)
assert "ThreadSanitizer found no data race in the registry tests" test -z "$found"
for f in $found; do sed 's/^/#   /' "$f" | head -40; done
exit 0
