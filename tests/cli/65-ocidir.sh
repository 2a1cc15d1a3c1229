#!/usr/bin/env bash
# The oci:DIR target against what may already be in the directory: concurrent loads
# into one layout (the index update is serialised), blobs already there that are
# damaged (checked and replaced, so a re-run repairs the layout), and FIFOs planted
# where the layout's files go (refused at once, not waited on). skopeo is the
# independent reader.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "image fixtures: $SVC_WHY"; exit 0; }
command -v skopeo >/dev/null || { skip "skopeo not installed"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1

# ---------------------------------------------------------------- four bundles
# One image each, under four references; they share base layers, so the parallel
# loads also race on the same blobs.
froms=("$FX/app-a.docker.tar" "$FX/app-b.docker.tar" "$FX/app-a.oci.tar" "$FX/multi.oci.tar")
for k in 1 2 3 4; do
	cat >p$k.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: par-$k, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: ferry.test/par-$k:1, from: ${froms[$((k - 1))]}}
EOS
	expect 0 "pack bundle $k of 4" "$PACK" build p$k.yaml -o p$k.ferry --allow-outside-paths || exit 1
done

# ---------------------------------------------------------------- concurrent loads (#13 item 1)
# Four loads into one directory at once, ten times over: every image in the index
# every round (before the lock, 2 or 3 of the 4 were left in about half the rounds).
lost=0 failed=0
for round in 1 2 3 4 5 6 7 8 9 10; do
	rm -rf par
	pids=()
	for k in 1 2 3 4; do
		"$LOAD" load p$k.ferry --keyring "$KEYRING" --to oci:par -q >"par-$k.out" 2>"par-$k.err" &
		pids+=($!)
	done
	for k in 1 2 3 4; do
		wait "${pids[$((k - 1))]}" || { failed=$((failed + 1)); sed 's/^/#   /' "par-$k.err" | head -5; }
	done
	n=$(jq '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | unique | length' par/index.json)
	[ "$n" = 4 ] || { lost=$((lost + 1)); echo "# round $round: $n of 4 images in the index"; }
done
assert "ten rounds of four parallel loads into one oci: dir: every load exited 0" test "$failed" = 0
assert "ten rounds of four parallel loads into one oci: dir: all four images in the index every round" test "$lost" = 0
ok_all=1
for k in 1 2 3 4; do
	skopeo inspect --raw "oci:$T/par:ferry.test/par-$k:1" >/dev/null 2>&1 || ok_all=0
done
assert "skopeo reads all four images of the last round" test "$ok_all" = 1
assert "the lock file is all that is left beside the layout (no temporary files)" \
	test "$(find par -name '*.tmp*' -o -name '.tmp-*' | wc -l)" = 0

# ---------------------------------------------------------------- damaged blobs (#13 item 5)
expect 0 "load into a fresh layout" "$LOAD" load p1.ferry --keyring "$KEYRING" --to oci:dmg
mdig=$(jq -r '.manifests[0].digest' dmg/index.json)
layer=$(jq -r '.layers[-1].digest' "dmg/blobs/sha256/${mdig#sha256:}")
config=$(jq -r '.config.digest' "dmg/blobs/sha256/${mdig#sha256:}")
lsize=$(stat -c %s "dmg/blobs/sha256/${layer#sha256:}")
head -c "$lsize" /dev/urandom >garbage && cp garbage "dmg/blobs/sha256/${layer#sha256:}"
truncate -s 7 "dmg/blobs/sha256/${config#sha256:}"
expect_err 0 "${layer#sha256:} was damaged \\(does not hash to its name\\): replaced" \
	"a garbage blob of the right size in the layout is found and replaced (exit 0)" \
	"$LOAD" load p1.ferry --keyring "$KEYRING" --to oci:dmg
assert "a truncated blob is found too, named with its size" \
	grep -Eq "${config#sha256:} was damaged \\(7 bytes, not [0-9]+\\): replaced" "$T/err"
assert "the summary counts what it wrote and replaced" grep -q 'blobs: 2 written, .* 2 damaged blobs replaced' "$T/err"
assert "skopeo copies the repaired image out of the layout" skopeo copy -q "oci:$T/dmg:ferry.test/par-1:1" "dir:$T/dmg-copy"
expect_err 0 "blobs: 0 written" "a load over the repaired layout writes nothing" \
	"$LOAD" load p1.ferry --keyring "$KEYRING" --to oci:dmg
assert "and reads no blob of the bundle again (they are checked in the layout)" \
	grep -q 'blobs already held by every target by digest: not read again' "$T/err"

# ---------------------------------------------------------------- FIFOs (#13 item 7)
# Each under a timeout: a load that waits on the FIFO fails the test instead of hanging it.
expect 0 "load into a layout for the FIFO cases" "$LOAD" load p2.ferry --keyring "$KEYRING" --to oci:fifo
mdig=$(jq -r '.manifests[0].digest' fifo/index.json)
rm fifo/index.json && mkfifo fifo/index.json
expect_err 4 "fifo/index.json: not a regular file \\(a FIFO\\)" "a FIFO at DIR/index.json: exit 4 at once, naming it" \
	timeout 60 "$LOAD" load p2.ferry --keyring "$KEYRING" --to oci:fifo
rm fifo/index.json fifo/oci-layout && mkfifo fifo/oci-layout
expect_err 4 "fifo/oci-layout: not a regular file \\(a FIFO\\)" "a FIFO at DIR/oci-layout: exit 4, naming it" \
	timeout 60 "$LOAD" load p2.ferry --keyring "$KEYRING" --to oci:fifo
rm fifo/oci-layout
rm "fifo/blobs/sha256/${mdig#sha256:}" && mkfifo "fifo/blobs/sha256/${mdig#sha256:}"
expect_err 4 "ferry.test/par-2:1: not loaded: .*/blobs/sha256/${mdig#sha256:}: not a regular file \\(a FIFO\\)" \
	"a FIFO at a blob's path: exit 4, the image and the path named" \
	timeout 60 "$LOAD" load p2.ferry --keyring "$KEYRING" --to oci:fifo
rm "fifo/blobs/sha256/${mdig#sha256:}"
rm -f fifo/.ferry-lock && ln -s /etc/hostname fifo/.ferry-lock
expect_err 4 "fifo/.ferry-lock: a symbolic link" "a symbolic link at the layout's lock file is refused" \
	timeout 60 "$LOAD" load p2.ferry --keyring "$KEYRING" --to oci:fifo
rm fifo/.ferry-lock
expect 0 "with the FIFOs gone, the same load succeeds" timeout 60 "$LOAD" load p2.ferry --keyring "$KEYRING" --to oci:fifo
assert "and skopeo reads the image" skopeo inspect --raw "oci:$T/fifo:ferry.test/par-2:1"
exit 0
