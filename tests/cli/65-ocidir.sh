#!/usr/bin/env bash
# The oci:DIR target against what may already be in the directory: concurrent loads
# into one layout (the index update is serialised). skopeo is the independent reader.
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
	expect 0 "pack bundle $k of 4" "$PACK" build p$k.yaml -o p$k.ferry || exit 1
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

exit 0
