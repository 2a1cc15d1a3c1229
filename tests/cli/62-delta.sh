#!/usr/bin/env bash
# Delta bundles: version 2 of one application packed --since version 1 leaves out the
# layers version 1 carries and says so in its signed bundle.yaml. Loaded on top of
# version 1 (registry, oci:) it runs; into a target without version 1 it is refused
# with the missing list and nothing is sent; --base v1.ferry supplies the blobs in the
# same run (registry, oci:, docker://). A tampered base, a base that is not the one the
# delta names, and a delta whose signed bundle.yaml leaves out a manifest are refused.
# skopeo, curl and docker are the independent readers.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "delta: image fixtures: $SVC_WHY"; exit 0; }
command -v skopeo >/dev/null || { skip "delta: skopeo not installed"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
TARX="python3 $FERRY_ROOT/tests/tools/tarx.py"

spec() { # spec FILE VERSION REF FROM
	cat >"$1" <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: app, version: "$2", vendor: Ferry Tests}
images:
  - {ref: $3, from: $4}
EOS
}
spec v1.yaml 1 ferry.test/app:1 "$FX/app-a.docker.tar"
spec v2.yaml 2 ferry.test/app:2 "$FX/app-b.docker.tar"
spec v2o.yaml 2 ferry.test/other:2 "$FX/app-b.docker.tar"
export SOURCE_DATE_EPOCH=1700000000
expect 0 "pack v1" "$PACK" build v1.yaml -o v1.ferry --allow-outside-paths || exit 1
expect 0 "pack v2 whole" "$PACK" build v2.yaml -o v2full.ferry --allow-outside-paths || exit 1
expect_err 0 "delta of app 1: 2 blobs \(.*\) left out" "pack v2 --since v1 (verified with --keyring)" \
	"$PACK" build v2.yaml -o v2.ferry --allow-outside-paths --since v1.ferry --keyring "$KEYRING" || exit 1
expect 0 "pack a delta into another repository" "$PACK" build v2o.yaml -o v2o.ferry --allow-outside-paths --since v1.ferry -q
SOURCE_DATE_EPOCH=1700000001 "$PACK" build v1.yaml -o v1-rebuilt.ferry --allow-outside-paths -q
unset SOURCE_DATE_EPOCH

# ---------------------------------------------------------------- the delta bundle
"$LOAD" inspect v2.ferry --keyring "$KEYRING" --json >v2.json
"$LOAD" inspect v1.ferry --keyring "$KEYRING" --json >v1.json
mkdir v1x && tar -xf v1.ferry -C v1x SHA256SUMS
v1sums="sha256:$(sha256sum v1x/SHA256SUMS | cut -d' ' -f1)"
assert "inspect --json: a delta of app 1 with v1's SHA256SUMS digest" \
	test "$(jq -r '.delta[0] | "\(.name) \(.version) \(.sums)"' v2.json)" = "app 1 $v1sums"
shared=$(jq -r '.delta[0].blobs[].digest' v2.json | sort)
assert "the left-out blobs are v2's base and common layers (v1 carries them)" \
	test "$(printf '%s\n' $shared)" = "$(comm -12 <(jq -r '.images[0].ref' v1.json >/dev/null; tar -tf v1.ferry | sed -n 's|images/blobs/sha256/|sha256:|p' | sort) <(tar -tf v2full.ferry | sed -n 's|images/blobs/sha256/|sha256:|p' | sort) | grep -v "$(jq -r '.images[0].digest' v2.json)")"
assert "the delta carries no left-out blob" sh -c "! tar -tf v2.ferry | grep -q '$(echo $shared | cut -c8-20)'"
assert "the delta is much smaller than v2 whole" test "$(stat -c %s v2.ferry)" -lt "$(($(stat -c %s v2full.ferry) / 4))"
expect 0 "inspect shows the delta" "$LOAD" inspect v2.ferry --keyring "$KEYRING"
assert "inspect: Delta line and the base" grep -q "^Delta: .*" "$T/out"
mkdir audit && tar -xf v2.ferry -C audit
assert "stock-tool audit of the delta: gpg --verify" gpg --verify audit/SHA256SUMS.asc audit/SHA256SUMS
assert "stock-tool audit of the delta: sha256sum -c --strict" sh -c "cd audit && sha256sum -c --strict SHA256SUMS"
expect 0 "verify the delta" "$LOAD" verify v2.ferry --keyring "$KEYRING"
assert "verify names the base and the blobs the target must hold" \
	sh -c "grep -q 'delta of app 1 .*2 blobs .* left out, for the target to hold' '$T/out' && grep -q '$(echo $shared | cut -d' ' -f1)' '$T/out'"
expect 0 "extract the delta" "$LOAD" extract v2.ferry --keyring "$KEYRING" -C ex
assert "extract lists what it left out" grep -q "a delta; left out" "$T/err"
assert "extract wrote what the delta holds, not the left-out blobs" \
	sh -c "test -s ex/images/index.json && ! ls ex/images/blobs/sha256 | grep -q '$(echo $shared | cut -d' ' -f1 | cut -c8-)'"
cp v1.ferry v1-head.ferry
$TARX flip v1-head.ferry "$($TARX offset v1-head.ferry bundle.yaml)"
expect_err 1 "--since v1-head.ferry" "pack --since a base whose head was tampered with: refused" \
	"$PACK" build v2.yaml -o bad.ferry --allow-outside-paths --since v1-head.ferry --keyring "$KEYRING"
assert "no output after a refused --since" test ! -e bad.ferry
port=$(free_port)
expect_err 2 "a delta bundle \(of app 1\) cannot be served: it lacks its base's blobs" \
	"serve refuses a delta (its base's blobs are not in it)" \
	"$LOAD" serve v2.ferry --keyring "$KEYRING" --listen "127.0.0.1:$port" -q
expect_err 2 "--keyring goes with --since" "pack --keyring without --since is a usage error" \
	"$PACK" build v2.yaml -o bad.ferry --allow-outside-paths --keyring "$KEYRING"

# ---------------------------------------------------------------- registry
start_registry || { skip "delta: registry: $SVC_WHY"; exit 0; }
R1=$REG_ADDR
catalog() { curl -s "http://$1/v2/_catalog" | jq -c '.repositories'; }
expect_err 4 "needs sha256:[0-9a-f]{64} \(.*\) from base app 1: not in the target" \
	"v2 delta into an empty registry: refused with the missing list" \
	"$LOAD" load v2.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http
assert "the refusal says nothing was loaded" grep -q "nothing was loaded (load the base bundle first, or give it with --base)" "$T/err"
assert "both left-out blobs listed" test "$(grep -c 'from base app 1: not in the target' "$T/err")" = 2
assert "nothing pushed: the registry has no repository" test "$(catalog "$R1")" = "[]"
expect_err 1 "--base v1-rebuilt.ferry: app 1, but not the build v2.ferry was made from" \
	"a base that is not the one the delta names (same name and version, another build): refused" \
	"$LOAD" load v2.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http --base v1-rebuilt.ferry
expect_err 1 "--base v2full.ferry: app 2 is not a base of v2.ferry" "another bundle as --base: refused" \
	"$LOAD" load v2.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http --base v2full.ferry
expect_err 1 "--base v1-head.ferry" "a base whose head was tampered with: refused" \
	"$LOAD" load v2.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http --base v1-head.ferry
assert "still nothing pushed" test "$(catalog "$R1")" = "[]"
layer=$(echo $shared | tr ' ' '\n' | head -1)
cp v1.ferry v1-blob.ferry
for d in $shared; do # the bigger of the two left-out blobs: a layer
	[ "$(jq -r --arg d "$d" '.delta[0].blobs[] | select(.digest == $d) | .size' v2.json)" -gt 1000 ] && layer=$d
done
$TARX flip v1-blob.ferry "$(($($TARX offset v1-blob.ferry "images/blobs/sha256/${layer#sha256:}") + 100))"
expect_err 1 "--base v1-blob.ferry: verification FAILED" "a base whose layer was tampered with: refused, the image is not loaded" \
	"$LOAD" load v2.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http --base v1-blob.ferry
assert "no tag after a tampered base" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R1/v2/app/manifests/2")" = 404
expect_err 2 "--base: v1.ferry is not a delta bundle" "--base with a whole bundle is a usage error" \
	"$LOAD" load v1.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http --base v1.ferry
expect 0 "v2 delta with --base v1.ferry into an empty registry" \
	"$LOAD" load v2.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http --base v1.ferry
want2=$(jq -r '.images[0].digest' v2.json)
assert "skopeo: app:2 has the bundle's digest" \
	test "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$R1/app:2")" = "$want2"
assert "skopeo copies app:2 out whole" skopeo copy -q --src-tls-verify=false "docker://$R1/app:2" "dir:$T/copy-base"
assert "only app:2 was tagged (v1 is not loaded by --base)" \
	test "$(curl -s "http://$R1/v2/app/tags/list" | jq -c .tags)" = '["2"]'

start_registry || { skip "delta: second registry: $SVC_WHY"; exit 0; }
R2=$REG_ADDR
expect 0 "v1 into a registry" "$LOAD" load v1.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http -q
expect_err 0 "1 images would be loaded" "a dry run of the delta on top of v1: would load" \
	"$LOAD" load v2.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http --dry-run
expect 0 "v2 delta on top of v1" "$LOAD" load v2.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http
assert "on top of v1: only the changed blobs pushed" grep -Eq 'blobs: 2 pushed, 2 skipped, 0 mounted' "$T/err"
assert "skopeo: app:2 on top of v1 has the bundle's digest" \
	test "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$R2/app:2")" = "$want2"
assert "skopeo copies app:2 (on top of v1) out whole" skopeo copy -q --src-tls-verify=false "docker://$R2/app:2" "dir:$T/copy-v2"
assert "its layers are v2's" test "$(ls "$T/copy-v2" | grep -c '^[0-9a-f]\{64\}$')" = 4
expect 0 "a delta into another repository: blobs mounted from v1's" \
	"$LOAD" load v2o.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http
assert "the left-out blobs were mounted across repositories" grep -Eq 'blobs: [0-9]+ pushed, 0 skipped, 2 mounted' "$T/err"
assert "skopeo copies other:2 out whole" skopeo copy -q --src-tls-verify=false "docker://$R2/other:2" "dir:$T/copy-o"

# ---------------------------------------------------------------- oci:
expect_err 4 "oci:lay: v2.ferry needs sha256:" "v2 delta into an empty layout: refused" \
	"$LOAD" load v2.ferry --keyring "$KEYRING" --to oci:lay
assert "nothing written into the layout" sh -c "test ! -e lay/index.json && test -z \"\$(ls lay/blobs/sha256 2>/dev/null)\""
expect 0 "v2 delta into an empty layout with --base" "$LOAD" load v2.ferry --keyring "$KEYRING" --to oci:lay --base v1.ferry
assert "skopeo reads app:2 from the layout with the bundle's digest" \
	test "$(skopeo inspect --format '{{.Digest}}' oci:lay:ferry.test/app:2)" = "$want2"
assert "skopeo copies app:2 out of the layout" skopeo copy -q oci:lay:ferry.test/app:2 "dir:$T/copy-oci"
expect 0 "v1 into another layout" "$LOAD" load v1.ferry --keyring "$KEYRING" --to oci:lay2 -q
expect 0 "v2 delta on top of v1 in the layout" "$LOAD" load v2.ferry --keyring "$KEYRING" --to oci:lay2
assert "the left-out blobs were found in the layout" grep -q 'blobs: 3 written, 2 present' "$T/err"
assert "skopeo copies app:2 out of the layout on top of v1" skopeo copy -q oci:lay2:ferry.test/app:2 "dir:$T/copy-oci2"

# ---------------------------------------------------------------- a hostile delta
# Signed by the trusted key, but its bundle.yaml says the image's manifest is left out.
mkdir hostile && tar -xf v2.ferry -C hostile
python3 - hostile/bundle.yaml "$want2" <<'PY'
import sys
p, man = sys.argv[1], sys.argv[2]
t = open(p).read()
t = t.replace("  blobs:\n", '  blobs:\n  - {digest: "%s", size: 716, image: "ferry.test/app:1"}\n' % man, 1)
open(p, "w").write(t)
PY
(cd hostile && grep -v ' images/blobs/sha256/'"${want2#sha256:}"'$' SHA256SUMS | grep -v ' bundle.yaml$' >s.tmp &&
	echo "$(sha256sum bundle.yaml | cut -d' ' -f1)  bundle.yaml" >>s.tmp && LC_ALL=C sort -k2 s.tmp >SHA256SUMS && rm s.tmp &&
	rm images/blobs/sha256/"${want2#sha256:}" && rm SHA256SUMS.asc && gpg -q --armor --detach-sign -o SHA256SUMS.asc SHA256SUMS)
hitems=(file:SHA256SUMS=hostile/SHA256SUMS file:SHA256SUMS.asc=hostile/SHA256SUMS.asc file:bundle.yaml=hostile/bundle.yaml)
for f in $(cd hostile && find images -type f | sort); do hitems+=("file:$f=hostile/$f"); done
$TARX build hostile.ferry "${hitems[@]}"
expect_err 1 "leaves out manifest $want2" "a delta that leaves out its manifest: the image is refused" \
	"$LOAD" load hostile.ferry --keyring "$KEYRING" --to oci:lay3 --base v1.ferry

# ---------------------------------------------------------------- docker://
if start_dockerd; then
	expect_err 4 "docker://: v2.ferry needs sha256:.*not in the target" "docker:// without --base: refused" \
		"$LOAD" load v2.ferry --keyring "$KEYRING" --to docker://
	assert "nothing loaded into the daemon" sh -c "! docker image inspect ferry.test/app:2 >/dev/null 2>&1"
	expect 0 "docker:// with --base v1.ferry" "$LOAD" load v2.ferry --keyring "$KEYRING" --to docker:// --base v1.ferry
	run docker run --rm --network none ferry.test/app:2
	assert "docker run of the delta's image prints v2's content" test "$(cat "$T/out")" = "$HELLO_B"
	expect 0 "docker pull of app:2 from the registry the delta was loaded into" docker pull -q "$R2/app:2"
	run docker run --rm --network none "$R2/app:2"
	assert "docker run of the pulled delta image prints v2's content" test "$(cat "$T/out")" = "$HELLO_B"
else
	skip "delta: docker://: no Docker daemon: $SVC_WHY"
fi
