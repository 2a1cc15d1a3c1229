#!/usr/bin/env bash
# Interruptions, full disks and overwrites: nothing half-written is ever left
# looking complete, and a re-run completes.
. "$FERRY_ROOT/tests/lib.sh"
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
mkdir in && echo doc >in/doc.md && head -c 3000000 /dev/urandom >in/rand.bin
cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: big, version: "1"}
docs: [{path: in/doc.md}]
files: [{path: in/rand.bin}]
EOS
"$PACK" build -q spec.yaml -o b.ferry || fail "build the test bundle"

# the input is never overwritten, even with --force
expect_err 2 "is an input of the spec" "-o naming an input is refused" "$PACK" build spec.yaml -o in/doc.md --force
assert "the input is intact" test "$(cat in/doc.md)" = doc

# a full disk: a 1 MiB tmpfs as output
if mkdir -p small && mount -t tmpfs -o size=1m tmpfs small 2>/dev/null; then
	at_exit "umount '$T/small'"
	expect_err 3 "No space left on device" "build onto a full disk: exit 3 naming the cause" "$PACK" build spec.yaml -o small/b.ferry
	assert "build onto a full disk leaves nothing" test -z "$(ls -A small)"
	expect_err 3 "No space left on device" "extract onto a full disk: exit 3" "$LOAD" extract b.ferry -C small/x --keyring "$KEYRING"
	assert "extract onto a full disk leaves nothing" test -z "$(ls -A small)"
	mkdir small/keep && echo mine >small/keep/mine
	expect 3 "extract into an existing dir on a full disk: exit 3" "$LOAD" extract b.ferry -C small/keep --keyring "$KEYRING"
	assert "the existing dir is left as it was" test "$(ls -A small/keep)" = mine
	# an image load into oci: on a disk too small for it
	. "$FERRY_ROOT/tests/services.sh"
	if need_fixtures; then
		printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: img, version: "1"}\nimages: [{ref: %s, from: %s}]\n' \
			"$APP_A_REF" "$FX/app-a.docker.tar" >img.yaml
		"$PACK" build -q img.yaml -o img.ferry --allow-outside-paths || fail "build an image bundle"
		mkdir -p tiny && mount -t tmpfs -o size=256k tmpfs tiny && at_exit "umount '$T/tiny'"
		expect_err 4 "ferry.test/app-a:1: not loaded: .*No space left on device" "load into oci: on a full disk: exit 4 (a target failed) naming image and cause" \
			"$LOAD" load img.ferry --keyring "$KEYRING" --to oci:tiny/oci
		assert "full disk: no index.json points at missing blobs" test ! -e tiny/oci/index.json
		assert "full disk: no temporary blob files left" test -z "$(find tiny -name '*.tmp*' -o -name '.*' -type f)"
	else
		skip "image fixtures: $SVC_WHY"
	fi
else
	skip "full-disk tests: cannot mount a tmpfs here (not root?)"
fi

# SIGINT in the middle of extract and load: nothing left, a re-run completes
slow_kill() { # GLOB CMD...: start CMD, interrupt it once GLOB exists (it is under way), echo its exit code
	local glob=$1 pid i
	shift
	"$@" >/dev/null 2>"$T/int.err" &
	pid=$!
	for i in $(seq 500); do
		compgen -G "$glob" >/dev/null && break
		sleep 0.01
	done
	kill -INT $pid 2>/dev/null; wait $pid; echo $?
}
truncate -s 2G in/sparse.bin
cat >bigspec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: huge, version: "1"}
files: [{path: in/sparse.bin}]
EOS
"$PACK" build -q bigspec.yaml -o huge.ferry --no-sign || fail "build a 2 GiB bundle"
rm -f in/sparse.bin
rc=$(slow_kill "$T/hx/.ferry-extract.*/files" "$LOAD" extract huge.ferry -C hx --allow-unsigned)
assert "SIGINT during extract: non-zero exit ($rc)" test "$rc" -ne 0
assert "SIGINT during extract: nothing left (the directory it made is gone)" test ! -e hx
expect 0 "extract again after the interruption completes" "$LOAD" extract b.ferry -C hx2 --keyring "$KEYRING"
assert "SIGINT message says interrupted" grep -q interrupted "$T/int.err"
# an impatient second signal ends the process at once: the signal handler removes the
# staging directory itself before the process dies (both signals are delivered before
# the program runs another line: it is stopped while they are sent)
"$LOAD" extract huge.ferry -C hx3 --allow-unsigned >/dev/null 2>&1 &
pid=$!
for i in $(seq 500); do
	compgen -G "$T/hx3/.ferry-extract.*/files" >/dev/null && break
	sleep 0.01
done
assert "two signals: the staging directory was there" compgen -G "$T/hx3/.ferry-extract.*/files"
kill -STOP $pid; kill -INT $pid; kill -TERM $pid; kill -CONT $pid
wait $pid; rc=$?
assert "two signals during extract: the second ends it at once ($rc)" test "$rc" -gt 128
assert "two signals during extract: no staging directory left" test -z "$(ls -A hx3 2>/dev/null)"
rm -f huge.ferry
exit 0
