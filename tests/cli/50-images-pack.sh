#!/usr/bin/env bash
# Packing real images (made by a real Docker daemon and skopeo): every input kind in
# one bundle, byte-exact OCI copies, unchanged image IDs, shared layers stored once,
# and the bundle's OCI layout read by skopeo as an independent check.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "image fixtures: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
# The inputs sit beside the spec (hard links, or copies on another file system): spec
# paths outside the spec's directory are refused without --allow-outside-paths.
cp -al "$FX" fx 2>/dev/null || cp -a "$FX" fx

cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: imgs, version: 2.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: fx/app-a.docker.tar}
  - {ref: $APP_B_REF, from: fx/app-b.docker.tar}
  - {ref: ferry.test/oci-a:1, from: fx/app-a.oci.tar}
  - {ref: ferry.test/dir-b:1, from: fx/app-b.ocidir}
  - {ref: ferry.test/d25-a:1, from: fx/app-a.docker25.tar}
  - {ref: $MULTI_REF, from: fx/multi.oci.tar}
docs: [{path: fx/expected.env, dest: expected.txt}]
EOS
expect 0 "pack six images of five input kinds" "$PACK" build spec.yaml -o all.ferry
expect 0 "verify the image bundle" "$LOAD" verify all.ferry --keyring "$KEYRING"
expect 0 "inspect --json" "$LOAD" inspect all.ferry --keyring "$KEYRING" --json
cp "$T/out" inspect.json
digest_of() { jq -r --arg r "$1" '.images[] | select(.ref == $r) | .digest' inspect.json; }
assert "oci-archive input copied byte-exact (digest as skopeo saw it)" test "$(digest_of ferry.test/oci-a:1)" = "$APP_A_OCI_DIGEST"
assert "OCI layout dir input copied byte-exact" test "$(digest_of ferry.test/dir-b:1)" = "$APP_B_OCIDIR_DIGEST"
assert "Docker >= 25 save input copied byte-exact" test "$(digest_of ferry.test/d25-a:1)" = "$APP_A_DOCKER25_DIGEST"
assert "multi-platform index kept whole" test "$(digest_of "$MULTI_REF")" = "$MULTI_DIGEST"
assert "multi-platform index lists both platforms" jq -e --arg r "$MULTI_REF" '.images[] | select(.ref == $r) | .platforms | (index("linux/amd64") != null and (map(startswith("linux/arm64")) | any))' inspect.json
assert "docker-save image has 3 layers" jq -e --arg r "$APP_A_REF" '.images[] | select(.ref == $r) | .layers == 3' inspect.json

expect 0 "extract the image bundle" "$LOAD" extract all.ferry -C x --keyring "$KEYRING"
for ref in "$APP_A_REF" "$APP_B_REF" ferry.test/oci-a:1 ferry.test/dir-b:1 ferry.test/d25-a:1; do
	assert "skopeo reads $ref from the extracted layout" skopeo inspect --raw "oci:x/images:$ref"
done
assert "skopeo copies the whole multi-platform index" skopeo copy --all "oci:x/images:$MULTI_REF" "dir:$T/multi-copy"
cfg() { skopeo inspect --raw "oci:x/images:$1" | jq -r .config.digest; }
assert "docker-save app-a: image ID (config digest) unchanged" test "$(cfg "$APP_A_REF")" = "$APP_A_ID"
assert "docker-save app-b: image ID (config digest) unchanged" test "$(cfg "$APP_B_REF")" = "$APP_B_ID"
assert "converted layers are gzip (default)" test "$(skopeo inspect --raw "oci:x/images:$APP_A_REF" | jq -r '.layers[0].mediaType')" = application/vnd.oci.image.layer.v1.tar+gzip
assert "stock audit of the image bundle" sh -c "cd x && gpg --verify SHA256SUMS.asc SHA256SUMS 2>/dev/null && sha256sum -c --strict --quiet SHA256SUMS"
# a plain single file is streamed (format.md): converted layers straight after the spec's
# files, then images/oci-layout, the other blobs and images/index.json, the SBOMs last
tar -tf all.ferry >entries.txt
assert "streamed: the SBOMs are the last entries, images/index.json right before them" \
	test "$(grep -v '^sboms/' entries.txt | tail -1)" = images/index.json -a \
	"$(grep -n '^sboms/' entries.txt | head -1 | cut -d: -f1)" -gt "$(grep -n '^images/index.json$' entries.txt | cut -d: -f1)" -a \
	"$(tail -1 entries.txt | cut -d/ -f1)" = sboms
assert "streamed: the first image entry is a converted layer, before images/oci-layout" \
	sh -c "grep '^images/' entries.txt | head -1 | grep -q '^images/blobs/sha256/' && grep -q '^images/oci-layout$' entries.txt"
assert "streamed: the spec's files come before the layers" test "$(grep -n '^docs/expected.txt$' entries.txt | cut -d: -f1)" -lt \
	"$(grep -n '^images/' entries.txt | head -1 | cut -d: -f1)"

# blob order: every blob a manifest references comes before that manifest
python3 - all.ferry <<'PY' >order.out 2>&1
import json, sys, tarfile
seen, bad = set(), []
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        if not m.name.startswith("images/blobs/sha256/"):
            continue
        data = t.extractfile(m).read()
        seen.add("sha256:" + m.name.rsplit("/", 1)[1])
        try:
            doc = json.loads(data)
        except Exception:
            continue
        if not isinstance(doc, dict) or "schemaVersion" not in doc:
            continue  # a config or a layer, not a manifest or index
        refs = [d["digest"] for d in doc.get("layers", []) + doc.get("manifests", [])]
        if "config" in doc:
            refs.append(doc["config"]["digest"])
        bad += [r for r in refs if r not in seen]
print("late:", bad)
sys.exit(1 if bad else 0)
PY
assert "every blob precedes the manifests that reference it" test "$(cat order.out)" = "late: []"

# shared base layers are stored once: app-a + app-b share 2 of 3 layers
cat >two.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: two, version: "1"}
images:
  - {ref: $APP_A_REF, from: fx/app-a.docker.tar}
  - {ref: $APP_B_REF, from: fx/app-b.docker.tar}
  - {ref: ferry.test/again:1, from: "fx/apps.docker.tar:$APP_A_REF"}
EOS
expect 0 "pack two images sharing a base, plus one again from a combined save" "$PACK" build two.yaml -o two.ferry --no-sign
assert "shared layers stored once: 4 layers + 2 configs + 2 manifests = 8 blobs" test "$(tar -tf two.ferry | grep -c '^images/blobs/sha256/')" = 8
assert "no blob appears twice" test -z "$(tar -tf two.ferry | sort | uniq -d)"

# zstd layers
expect 0 "--layer-compression zstd" "$PACK" build two.yaml -o twoz.ferry --no-sign --layer-compression zstd
expect 0 "extract the zstd-layer bundle" "$LOAD" extract twoz.ferry -C xz --allow-unsigned
assert "zstd layers are labelled as such" test "$(skopeo inspect --raw "oci:xz/images:$APP_A_REF" | jq -r '.layers[0].mediaType')" = application/vnd.oci.image.layer.v1.tar+zstd
assert "zstd-layer image keeps its image ID" test "$(skopeo inspect --raw "oci:xz/images:$APP_A_REF" | jq -r .config.digest)" = "$APP_A_ID"

# the gzip level: another level gives other layer bytes of the same content
expect 0 "--gzip-level 1" "$PACK" build two.yaml -o two1.ferry --no-sign --gzip-level 1
expect 0 "extract the level-1 bundle" "$LOAD" extract two1.ferry -C x1 --allow-unsigned
layer_of() { skopeo inspect --raw "oci:$1/images:$APP_A_REF" | jq -r '.layers[-1].digest'; }
expect 0 "extract the default-level bundle" "$LOAD" extract two.ferry -C x4 --allow-unsigned
assert "level 1 and the default give different layer blobs" test "$(layer_of x1)" != "$(layer_of x4)"
assert "level-1 image keeps its image ID" test "$(skopeo inspect --raw "oci:x1/images:$APP_A_REF" | jq -r .config.digest)" = "$APP_A_ID"
assert "a level-1 layer inflates to its diff_id" test "sha256:$(zcat "x1/images/blobs/sha256/$(layer_of x1 | cut -d: -f2)" | sha256sum | cut -d' ' -f1)" = "$(skopeo inspect --raw --config "oci:x1/images:$APP_A_REF" | jq -r '.rootfs.diff_ids[-1]')"
expect 0 "--gzip-level 4" env SOURCE_DATE_EPOCH=1700000000 "$PACK" build two.yaml -o two4.ferry --no-sign --gzip-level 4
expect 0 "the default level" env SOURCE_DATE_EPOCH=1700000000 "$PACK" build two.yaml -o twod.ferry --no-sign
assert "--gzip-level 4 is the default: the same bytes" cmp -s twod.ferry two4.ferry
expect 2 "--gzip-level 0 is refused" "$PACK" build two.yaml -o bad.ferry --no-sign --gzip-level 0
expect 2 "--gzip-level 10 is refused" "$PACK" build two.yaml -o bad.ferry --no-sign --gzip-level 10
expect 2 "--gzip-level with zstd layers is refused" "$PACK" build two.yaml -o bad.ferry --no-sign --gzip-level 6 --layer-compression zstd
assert "no bundle after a refused level" test ! -e bad.ferry

# a damaged input is never packed
mkdir dmg && tar -xf "$FX/app-a.docker.tar" -C dmg
layer=$(jq -r '.[0].Layers[-1]' dmg/manifest.json)
python3 "$FERRY_ROOT/tests/tools/tarx.py" flip "dmg/$layer" 700
tar -cf damaged.tar -C dmg .
cat >dmg.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: dmg, version: "1"}
images: [{ref: $APP_A_REF, from: damaged.tar}]
EOS
expect_err 1 "damaged\.tar" "a docker-save whose layer does not match its diff_id: refused, named" "$PACK" build dmg.yaml -o dmg.ferry --no-sign
assert "refused input: no bundle and no staging left" test -z "$(ls | grep '^dmg\.ferry')"
# The same for a large layer (1.9 MiB): large members of an uncompressed archive are
# read where they lie, by the compressor, which must still check the diff_id.
mkdir dmg0 && tar -xf "$FX/app-a.docker.tar" -C dmg0
layer0=$(jq -r '.[0].Layers[0]' dmg0/manifest.json)
assert "the base layer is over 1 MiB (read in place)" test "$(stat -c %s "dmg0/$layer0")" -gt 1048576
python3 "$FERRY_ROOT/tests/tools/tarx.py" flip "dmg0/$layer0" 1500000
tar -cf damaged0.tar -C dmg0 .
sed 's/damaged\.tar/damaged0.tar/' dmg.yaml >dmg0.yaml
expect_err 1 "damaged0\.tar: layer .*layer\.tar: sha256:.* does not match the config's diff_id" \
	"a large damaged layer: refused, naming the archive and the layer" "$PACK" build dmg0.yaml -o dmg0.ferry --no-sign
assert "and no bundle" test ! -e dmg0.ferry
assert "the input archive itself is left alone" test -s damaged0.tar
# cut inside that layer
head -c 1200000 "$FX/app-a.docker.tar" >cut.tar
sed 's/damaged\.tar/cut.tar/' dmg.yaml >cut.yaml
expect_err 3 "cut\.tar: Truncated input" "an archive cut inside a large layer: refused, named (an input error)" "$PACK" build cut.yaml -o cut.ferry --no-sign
assert "and no bundle" test ! -e cut.ferry
# an oci-archive whose large blob (1 MiB) was damaged
mkdir dmgo && tar -xf "$FX/app-a.oci.tar" -C dmgo
big=$(find dmgo/blobs/sha256 -type f -size +1024k | head -1)
assert "the oci-archive has a blob over 1 MiB" test -n "$big"
python3 "$FERRY_ROOT/tests/tools/tarx.py" flip "$big" 1000
tar -cf damagedo.tar -C dmgo .
sed 's/damaged\.tar/damagedo.tar/' dmg.yaml >dmgo.yaml
expect_err 1 "damagedo\.tar: blob sha256:$(basename "$big") has digest sha256:.* \(corrupt input\)" \
	"an oci-archive with a damaged large blob: refused, named" "$PACK" build dmgo.yaml -o dmgo.ferry --no-sign
assert "and no bundle" test ! -e dmgo.ferry
# that blob is not staged but copied from where it lies, and checked as it is copied:
# without SBOMs (which would read it too) the copy's check alone refuses it
expect_err 1 "damagedo\.tar: blob sha256:$(basename "$big") has digest sha256:.* \(corrupt input\)" \
	"the same with --no-sbom: refused by the copy's own check" "$PACK" build dmgo.yaml -o dmgo.ferry --no-sign --no-sbom
assert "and no bundle" test ! -e dmgo.ferry
assert "and no staging directory left" test -z "$(ls | grep '^dmgo\.ferry')"
sed "s|damaged\.tar|fx/app-a.oci.tar|" dmg.yaml >oneoci.yaml
written=$(bash -c '"$@" >/dev/null 2>&1 && sed -n "s/^wchar: //p" /proc/$$/io' _ "$PACK" build oneoci.yaml -o oneoci.ferry --no-sign)
size=$(stat -c %s oneoci.ferry 2>/dev/null || echo 0)
assert "an oci-archive's large blob is written once: $written bytes written for a $size-byte bundle" \
	test "$size" -gt 1048576 -a "$written" -lt $((size + 262144))
# a streamed pack reads the spec's docs once (hashed as they are written, the head last)
head -c 8388608 /dev/urandom >bigdoc.bin
sed "s|^images:|docs: [{path: bigdoc.bin, title: Big}]\nimages:|" oneoci.yaml >onedoc.yaml
read_bytes=$(bash -c '"$@" >/dev/null 2>&1 && sed -n "s/^rchar: //p" /proc/$$/io' _ "$PACK" build onedoc.yaml -o onedoc.ferry --no-sign --no-sbom)
assert "an 8 MiB doc is read once: $read_bytes bytes read in all" test -s onedoc.ferry -a "${read_bytes:-0}" -gt 8388608 -a "${read_bytes:-0}" -lt 12582912
assert "and the bundle verifies, the doc's digest as sha256sum gives it" bash -c \
	'"$1" verify onedoc.ferry --allow-unsigned >/dev/null && tar -xOf onedoc.ferry SHA256SUMS | grep -q "^$(sha256sum bigdoc.bin | cut -d" " -f1)  docs/bigdoc.bin$"' _ "$LOAD"
cat >badref.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: badref, version: "1"}
images: [{ref: "Not A Ref", from: fx/app-a.docker.tar}]
EOS
expect 2 "an invalid image reference is a usage error" "$PACK" build badref.yaml -o badref.ferry --no-sign
# A small compressed input cannot fill the disk (docs/security.md): a valid oci-archive
# plus an unused 200 MiB member of zeros, zstd-compressed to about a megabyte. Only the
# JSON documents and what the manifests reference are staged, so the pack fits under a
# 20 MiB file-size limit (the old way wrote the 200 MiB and died of SIGXFSZ).
limited() { bash -c 'ulimit -f 20480 && exec "$@"' limited "$@"; }
zeros=$(printf '0%.0s' $(seq 64))
mkdir bomb && tar -xf "$FX/app-a.oci.tar" -C bomb
truncate -s 200M "bomb/blobs/sha256/$zeros"
tar -cf - -C bomb . | zstd -q -o bomb.oci.tar.zst
assert "the hostile archive is small (under 4 MB)" test "$(stat -c %s bomb.oci.tar.zst)" -lt 4000000
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: bomb, version: "1"}\nimages: [{ref: ferry.test/bomb:1, from: %s}]\n' \
	bomb.oci.tar.zst >bomb.yaml
expect 0 "a compressed input with an unused 200 MiB member packs under a 20 MiB file-size limit" \
	limited "$PACK" build bomb.yaml -o bomb.ferry --no-sign
assert "and the image is the input's, byte-exact" test "$("$LOAD" inspect bomb.ferry --json 2>/dev/null | jq -r '.images[0].digest')" = "$APP_A_OCI_DIGEST"
assert "nothing of the unused member reached the bundle" test "$(stat -c %s bomb.ferry)" -lt 20000000
# the same with a referenced layer that is larger than its descriptor says
rm -f "bomb/blobs/sha256/$zeros"
layer=$(jq -r '.layers[-1].digest' "bomb/blobs/sha256/$(jq -r '.manifests[0].digest' bomb/index.json | cut -d: -f2)" | cut -d: -f2)
declared=$(stat -c %s "bomb/blobs/sha256/$layer")
truncate -s 200M "bomb/blobs/sha256/$layer"
tar -cf - -C bomb . | zstd -q -o bomb2.oci.tar.zst
sed 's/bomb\.oci/bomb2.oci/' bomb.yaml >bomb2.yaml
expect_err 1 "bomb2\.oci\.tar\.zst: member blobs/sha256/$layer is 209715200 bytes, its descriptor says $declared\$" \
	"a compressed input whose layer is larger than its descriptor: refused before it is staged, naming archive and member" \
	limited "$PACK" build bomb2.yaml -o bomb2.ferry --no-sign
assert "and no bundle" test ! -e bomb2.ferry
# A streamed pack that fails midway: the file-size limit (256 KiB) is reached while a
# converted layer is written into the output (SIGXFSZ ignored, so write() fails with
# EFBIG). Nothing is left beside the output: no bundle, temporary file or staging.
mkdir efbig
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: efbig, version: "1"}\nimages: [{ref: %s, from: fx/app-a.docker.tar}]\n' \
	"$APP_A_REF" >efbig.yaml
expect_err 3 "compressing .*app-a\.docker\.tar: write: File too large$" \
	"a streamed pack that fails while writing a layer: exit 3 naming the input and the cause" \
	bash -c "trap '' XFSZ; ulimit -f 256 && exec \"\$@\"" efbig "$PACK" build efbig.yaml -o efbig/out.ferry --no-sign
assert "and leaves nothing behind (no bundle, no temporary file, no staging directory)" test -z "$(ls -A efbig)"
exit 0
