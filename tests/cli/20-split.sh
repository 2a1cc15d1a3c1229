#!/usr/bin/env bash
# Split volumes: parts plus a signed .parts list; read as one stream from any of
# their names; a bad or missing part is named.
. "$FERRY_ROOT/tests/lib.sh"
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
mkdir in && head -c 300000 /dev/urandom >in/rand.bin && echo doc >in/doc.md
cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: sp, version: "1"}
docs: [{path: in/doc.md}]
files: [{path: in/rand.bin}]
EOS
expect 0 "build --split 100k" "$PACK" build spec.yaml -o sp.ferry --split 100k
assert "three parts, a list and its signature" test "$(ls sp.ferry.* | tr '\n' ' ')" = "sp.ferry.000 sp.ferry.001 sp.ferry.002 sp.ferry.parts sp.ferry.parts.asc "
assert "no unsplit file and nothing partial" test ! -e sp.ferry -a -z "$(ls | grep partial)"
assert "every part but the last is exactly 100 KiB" test "$(stat -c %s sp.ferry.000 sp.ferry.001 | sort -u)" = 102400
assert "stock tools: sha256sum -c the parts list" sha256sum -c --strict sp.ferry.parts
assert "stock tools: gpg --verify the parts list" gpg --verify sp.ferry.parts.asc sp.ferry.parts
for name in sp.ferry.000 sp.ferry.parts sp.ferry; do
	expect 0 "verify a split bundle given as $name" "$LOAD" verify "$name" --keyring "$KEYRING"
done
expect 0 "verify --parts-only" "$LOAD" verify sp.ferry --keyring "$KEYRING" --parts-only
assert "--parts-only reports each part" test "$(grep -c ': OK$' "$T/out")" = 3
expect 0 "inspect a split bundle" "$LOAD" inspect sp.ferry.000 --keyring "$KEYRING"
expect 0 "extract a split bundle" "$LOAD" extract sp.ferry -C x --keyring "$KEYRING"
assert "extracted content intact" cmp x/files/rand.bin in/rand.bin
cat sp.ferry.0* >whole.ferry
expect 0 "cat of the parts is a bundle that verifies" "$LOAD" verify whole.ferry --keyring "$KEYRING"

# bit for bit: unsigned builds (signatures carry their own time)
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec.yaml -o u.ferry --no-sign
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec.yaml -o us.ferry --no-sign --split 64k
cat us.ferry.0* >us-cat.ferry
assert "cat of the parts equals the unsplit bundle, bit for bit" cmp u.ferry us-cat.ferry
expect_err 1 "not signed" "an unsigned parts list is refused" "$LOAD" verify us.ferry --keyring "$KEYRING"
expect 0 "... and accepted with --allow-unsigned" "$LOAD" verify us.ferry --allow-unsigned

# damage
mkdir d && cp sp.ferry.* d/
python3 "$FERRY_ROOT/tests/tools/tarx.py" flip d/sp.ferry.001 5000
expect_err 1 "part 2 of 3 \(.*sp\.ferry\.001\): checksum mismatch" "a corrupted part is named" "$LOAD" verify d/sp.ferry --keyring "$KEYRING"
expect_err 1 "part 2 of 3 \(.*sp\.ferry\.001\): checksum mismatch" "--parts-only names the corrupted part" "$LOAD" verify d/sp.ferry --keyring "$KEYRING" --parts-only
assert "--parts-only still reports the good parts" test "$(grep -c ': OK$' "$T/out")" = 2
expect 1 "extract of a split bundle with a corrupted part fails" "$LOAD" extract d/sp.ferry -C dx --keyring "$KEYRING"
assert "... and writes nothing" test ! -e dx
rm -rf d && mkdir d && cp sp.ferry.* d/ && rm d/sp.ferry.001
expect_err 1 "part 2 of 3 \(.*sp\.ferry\.001\): missing" "a missing part is named before reading" "$LOAD" verify d/sp.ferry.000 --keyring "$KEYRING"
rm -rf d && mkdir d && cp sp.ferry.* d/ && truncate -s 50000 d/sp.ferry.001
expect_err 1 "part 2 of 3 .*wrong size" "a short middle part is named before reading" "$LOAD" verify d/sp.ferry --keyring "$KEYRING"
rm -rf d && mkdir d && cp sp.ferry.* d/ && python3 "$FERRY_ROOT/tests/tools/tarx.py" flip d/sp.ferry.parts 3
expect_err 1 "sp\.ferry\.parts\.asc: BAD signature" "a changed parts list fails its signature (BAD signature)" "$LOAD" verify d/sp.ferry --keyring "$KEYRING"
rm -rf d && mkdir d && cp sp.ferry.* d/ && rm d/sp.ferry.parts.asc
expect_err 1 "not signed" "a parts list without its signature is refused" "$LOAD" verify d/sp.ferry --keyring "$KEYRING"

# zstd and split together
expect 0 "build --compress zstd --split 64k" "$PACK" build spec.yaml -o z.ferry --compress zstd --split 64k
expect 0 "verify it" "$LOAD" verify z.ferry --keyring "$KEYRING"
assert "cat of zstd parts decompresses with zstd -d" sh -c 'cat z.ferry.0* | zstd -dc | tar -tf - | grep -q files/rand.bin'

# usage and refusals
expect_err 2 "--split conflicts with --detached-sig" "--split with --detached-sig" "$PACK" build spec.yaml --split 1M --detached-sig
expect_err 2 "--split" "a split size that is not a size" "$PACK" build spec.yaml --split 12x
expect_err 2 "--split" "a split size under 1k" "$PACK" build spec.yaml --split 100
expect_err 3 "already exists" "parts are not overwritten without --force" "$PACK" build spec.yaml -o sp.ferry --split 100k
expect 0 "--force replaces them" "$PACK" build -q spec.yaml -o sp.ferry --split 100k --force
expect_err 2 "not a split bundle" "--parts-only on a single-file bundle" "$LOAD" verify whole.ferry --keyring "$KEYRING" --parts-only
exit 0
