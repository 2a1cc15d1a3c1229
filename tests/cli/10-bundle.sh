#!/usr/bin/env bash
# The foundation round trip and its tamper cases: pack, verify, inspect, extract, the
# stock-tool audit, and every way a bundle can be damaged or hostile.
. "$FERRY_ROOT/tests/lib.sh"
TARX="python3 $FERRY_ROOT/tests/tools/tarx.py"

new_gpg_home || { fail "test key generation"; exit 1; }
KEY1=$KEYRING FPR1=$FPR

# inputs: a doc, a chart, a plain file, in a spec
mkdir -p "$T/in/ch/demo" "$T/in/sub"
echo "Install: run ferry-load." >"$T/in/INSTALL.md"
printf 'replicas: 1\n' >"$T/in/values.yaml"
printf 'guide\n' >"$T/in/sub/guide.txt"
printf 'apiVersion: v2\nname: demo-chart\nversion: 0.3.1\n' >"$T/in/ch/demo/Chart.yaml"
tar -czf "$T/in/demo-chart-0.3.1.tgz" -C "$T/in/ch" demo
cat >"$T/spec.yaml" <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: demo, version: 1.0.0, vendor: Acme Corp, description: test bundle}
docs:
  - {path: in/INSTALL.md, title: Installation guide}
  - {path: in/sub/guide.txt, dest: guides/guide.txt}
charts: [{path: in/demo-chart-0.3.1.tgz}]
files: [{path: in/values.yaml}]
EOS
B=$T/demo-1.0.0.ferry
cd "$T" || exit 1

expect 0 "build a signed bundle" "$PACK" build spec.yaml -o "$B"
assert "no temporary file left beside the bundle" test -z "$(ls "$T" | grep partial)"
expect 0 "verify a good bundle" "$LOAD" verify "$B" --keyring "$KEY1"
assert "verify names the signer" grep -q "$FPR1" "$T/out"
expect 0 "verify with the signer's --fingerprint" "$LOAD" verify "$B" --keyring "$KEY1" --fingerprint "$FPR1"
expect_err 1 "not a --fingerprint given" "verify refuses a signer not among --fingerprint" \
	"$LOAD" verify "$B" --keyring "$KEY1" --fingerprint 0123456789ABCDEF0123456789ABCDEF01234567
expect_err 2 "keyring" "verify without --keyring is a usage error" "$LOAD" verify "$B"

# inspect: text and JSON, UNVERIFIED without a keyring
expect 0 "inspect without keyring" "$LOAD" inspect "$B"
assert "inspect says UNVERIFIED without --keyring" grep -q UNVERIFIED "$T/out"
assert "inspect lists the chart" grep -q "demo-chart 0.3.1" "$T/out"
expect 0 "inspect --json with keyring" "$LOAD" inspect "$B" --json --keyring "$KEY1"
assert "inspect --json parses and is verified" jq -e '.schema == 1 and .verified == true and .bundle.name == "demo" and (.docs|length) == 2 and .charts[0].version == "0.3.1"' "$T/out"
assert "inspect --json: signer fingerprint" jq -e --arg f "$FPR1" '.signer.fingerprint == $f' "$T/out"
expect 0 "inspect --json without keyring" "$LOAD" inspect "$B" --json
assert "inspect --json says unverified" jq -e '.verified == false and .state == "unverified"' "$T/out"

# extract, then the stock-tool audit of format.md
expect 0 "extract" "$LOAD" extract "$B" -C "$T/x" --keyring "$KEY1"
assert "extracted doc content" cmp "$T/x/docs/INSTALL.md" "$T/in/INSTALL.md"
assert "extracted doc in a sub-directory" cmp "$T/x/docs/guides/guide.txt" "$T/in/sub/guide.txt"
assert "no staging directory left in DIR" test -z "$(find "$T/x" -name '.ferry-extract*')"
assert "extracted files are 0644" test "$(stat -c %a "$T/x/files/values.yaml")" = 644
expect_err 3 "already exists" "extract refuses to overwrite" "$LOAD" extract "$B" -C "$T/x" --keyring "$KEY1"
expect 0 "extract --force overwrites" "$LOAD" extract "$B" -C "$T/x" --keyring "$KEY1" --force

# something planted in DIR stops extract before anything moves: exit 3 naming the
# path, and DIR is left exactly as it was
listing() { (cd "$1" && find . -printf '%p %y %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
planted() { # DESC REGEX DIR [OPTION]: extract into a prepared DIR fails and changes nothing
	local desc=$1 re=$2 dir=$3; shift 3
	listing "$dir" >"$T/before"
	expect_err 3 "$re" "$desc: exit 3 naming the path" "$LOAD" extract "$B" -C "$dir" --keyring "$KEY1" "$@"
	listing "$dir" >"$T/after"
	assert "$desc: DIR unchanged" cmp "$T/before" "$T/after"
}
mkdir -p "$T/p1" "$T/p1-target" && ln -s "$T/p1-target" "$T/p1/docs"
planted "a symbolic link for a directory on the way" "p1/docs: a symbolic link where a directory must be" "$T/p1"
assert "a symbolic link on the way: nothing written through it" test -z "$(ls -A "$T/p1-target")"
planted "a symbolic link on the way, with --force" "p1/docs: a symbolic link where a directory must be" "$T/p1" --force
mkdir -p "$T/p2/docs" && ln -s "$T/p1-target" "$T/p2/docs/guides"
planted "a symbolic link deeper on the way" "p2/docs/guides: a symbolic link where a directory must be" "$T/p2"
mkdir -p "$T/p3" && echo mine >"$T/p3/files"
planted "a file where a directory must be" "p3/files: a file where a directory must be" "$T/p3"
mkdir -p "$T/p4/docs" && echo mine >"$T/p4/docs/INSTALL.md"
planted "a file at a destination, no --force" "p4/docs/INSTALL.md: already exists" "$T/p4"
mkdir -p "$T/p5/files/values.yaml"
planted "a directory at a destination, even with --force" "p5/files/values.yaml: a directory where a file belongs" "$T/p5" --force
# a move that fails after others (DIR/docs on another file system) is undone
if mkdir -p "$T/p6/docs" && mount -t tmpfs -o size=1m tmpfs "$T/p6/docs" 2>/dev/null; then
	at_exit "umount '$T/p6/docs'"
	echo old >"$T/p6/SHA256SUMS"
	planted "a move failing midway is undone" "p6/docs/INSTALL.md: Invalid cross-device link" "$T/p6" --force
	assert "a move failing midway: the file --force replaced is back" test "$(cat "$T/p6/SHA256SUMS")" = old
else
	skip "undoing a failed move: cannot mount a tmpfs here (not root?)"
fi
mkdir "$T/audit" && tar -xf "$B" -C "$T/audit"
assert "stock audit: gpg --verify" gpg --verify "$T/audit/SHA256SUMS.asc" "$T/audit/SHA256SUMS"
assert "stock audit: sha256sum -c --strict" sh -c "cd '$T/audit' && sha256sum -c --strict --quiet SHA256SUMS"
assert "entry order: SHA256SUMS, .asc, bundle.yaml first" test "$(tar -tf "$B" | head -3 | tr '\n' ' ')" = "SHA256SUMS SHA256SUMS.asc bundle.yaml "
assert "tar entries are owned by 0/0" test -z "$(tar -tvf "$B" | awk '$2 != "0/0"')"

# zstd and detached signature
expect 0 "build --compress zstd --detached-sig" "$PACK" build spec.yaml -o "$T/z.ferry" --compress zstd --detached-sig
assert "zstd bundle starts with the zstd magic" test "$(head -c4 "$T/z.ferry" | od -An -tx1 | tr -d ' ')" = 28b52ffd
expect 0 "verify a zstd bundle" "$LOAD" verify "$T/z.ferry" --keyring "$KEY1"
assert "gpg --verify of the detached .sig" gpg --verify "$T/z.ferry.sig" "$T/z.ferry"
mkdir "$T/zaudit" && zstd -q -d "$T/z.ferry" -o "$T/z.tar" && tar -xf "$T/z.tar" -C "$T/zaudit"
assert "stock audit of the zstd bundle after zstd -d" sh -c "cd '$T/zaudit' && gpg --verify SHA256SUMS.asc SHA256SUMS 2>/dev/null && sha256sum -c --strict --quiet SHA256SUMS"
expect 0 "extract a zstd bundle" "$LOAD" extract "$T/z.ferry" -C "$T/zx" --keyring "$KEY1"

# reproducible: same inputs and SOURCE_DATE_EPOCH, same bytes (unsigned) / same SHA256SUMS
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec.yaml -o "$T/r1.ferry" --no-sign
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec.yaml -o "$T/r2.ferry" --no-sign
assert "reproducible: two unsigned builds are byte-identical" cmp "$T/r1.ferry" "$T/r2.ferry"
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec.yaml -o "$T/r3.ferry"
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec.yaml -o "$T/r4.ferry" --compress zstd
assert "reproducible: signed builds share SHA256SUMS" test "$(tar -xOf "$T/r3.ferry" SHA256SUMS | sha256sum)" = "$(zstd -dc "$T/r4.ferry" | tar -xOf - SHA256SUMS | sha256sum)"
assert "SOURCE_DATE_EPOCH is every entry's mtime" test -z "$(tar --full-time -tvf "$T/r1.ferry" | grep -v '2023-11-14 22:13:20')"
expect_err 3 "already exists" "build refuses to overwrite its output" "$PACK" build spec.yaml -o "$T/r1.ferry" --no-sign
expect 0 "build --force replaces it" "$PACK" build -q spec.yaml -o "$T/r1.ferry" --no-sign --force

# unsigned bundles
expect_err 1 "not signed" "verify refuses an unsigned bundle" "$LOAD" verify "$T/r1.ferry" --keyring "$KEY1"
expect 0 "--allow-unsigned accepts it" "$LOAD" verify "$T/r1.ferry" --allow-unsigned
expect_err 2 "conflicts" "--no-sign with --detached-sig is a usage error" "$PACK" build spec.yaml --no-sign --detached-sig

# ---- tampering: one flipped bit in each kind of entry ----
tamper() { # NAME REGEX: flip a byte of NAME's data in a copy, expect exit 1, nothing extracted
	local name=$1 re=$2 off
	cp "$B" "$T/t.ferry"
	off=$($TARX offset "$T/t.ferry" "$name") || { fail "offset of $name"; return; }
	$TARX flip "$T/t.ferry" $((off + ${3:-5}))
	expect_err 1 "$re" "flipped byte in $name: verify fails" "$LOAD" verify "$T/t.ferry" --keyring "$KEY1"
	rm -rf "$T/tx"
	expect_err 1 "$re" "flipped byte in $name: extract fails" "$LOAD" extract "$T/t.ferry" -C "$T/tx" --keyring "$KEY1"
	assert "flipped byte in $name: nothing extracted" test ! -e "$T/tx"
}
tamper SHA256SUMS "BAD signature"
tamper SHA256SUMS.asc "signature" 120
tamper bundle.yaml "bundle.yaml: checksum mismatch"
tamper docs/INSTALL.md "docs/INSTALL.md: checksum mismatch"
tamper charts/demo-chart-0.3.1.tgz "charts/demo-chart-0.3.1.tgz: checksum mismatch"

# an existing directory is left exactly as it was
mkdir -p "$T/keep" && echo mine >"$T/keep/mine.txt"
cp "$B" "$T/t.ferry"; $TARX flip "$T/t.ferry" $(($($TARX offset "$T/t.ferry" files/values.yaml) + 1))
expect 1 "extract of a damaged bundle into an existing dir fails" "$LOAD" extract "$T/t.ferry" -C "$T/keep" --keyring "$KEY1"
assert "existing dir left as it was" test "$(ls -A "$T/keep")" = mine.txt

# truncation at several offsets
size=$(stat -c %s "$B")
for cut in 100 512 1100 2600 $((size / 2)) $((size - 1100)); do
	head -c "$cut" "$B" >"$T/cut.ferry"
	rm -rf "$T/cx"
	expect 1 "truncated at $cut bytes: verify fails" "$LOAD" verify "$T/cut.ferry" --keyring "$KEY1"
	expect 1 "truncated at $cut bytes: extract fails" "$LOAD" extract "$T/cut.ferry" -C "$T/cx" --keyring "$KEY1"
	assert "truncated at $cut bytes: nothing extracted" test ! -e "$T/cx"
done
zstd -q -c -d "$T/z.ferry" | head -c 3000 | zstd -q -c >"$T/zcut.ferry"
expect 1 "truncated inside a zstd bundle: verify fails" "$LOAD" verify "$T/zcut.ferry" --keyring "$KEY1"
head -c $(($(stat -c %s "$T/z.ferry") - 20)) "$T/z.ferry" >"$T/zcut2.ferry"
expect_err 1 "truncated|damaged" "zstd stream cut short: verify fails" "$LOAD" verify "$T/zcut2.ferry" --keyring "$KEY1"

# rebuilt bundles: the audit copy holds the original entries
A=$T/audit
head_items="file:SHA256SUMS=$A/SHA256SUMS file:SHA256SUMS.asc=$A/SHA256SUMS.asc file:bundle.yaml=$A/bundle.yaml"
rest_items="file:docs/INSTALL.md=$A/docs/INSTALL.md file:docs/guides/guide.txt=$A/docs/guides/guide.txt file:charts/demo-chart-0.3.1.tgz=$A/charts/demo-chart-0.3.1.tgz file:files/values.yaml=$A/files/values.yaml"
# the chart's OCI artifact (config, content layer, manifest) among the blobs
for blob in "$A"/images/blobs/sha256/*; do rest_items+=" file:images/blobs/sha256/${blob##*/}=$blob"; done
# shellcheck disable=SC2086
$TARX build "$T/same.ferry" $head_items $rest_items
expect 0 "a rebuilt copy of the same entries verifies (the tool is sound)" "$LOAD" verify "$T/same.ferry" --keyring "$KEY1"

hostile() { # DESC REGEX ITEMS...: the good entries plus ITEMS, must fail and write nothing
	local desc=$1 re=$2; shift 2
	# shellcheck disable=SC2086
	$TARX build "$T/h.ferry" $head_items $rest_items "$@"
	rm -rf "$T/hx" "$T/escape"
	expect_err 1 "$re" "$desc: verify fails" "$LOAD" verify "$T/h.ferry" --keyring "$KEY1"
	expect_err 1 "$re" "$desc: extract fails" "$LOAD" extract "$T/h.ferry" -C "$T/hx" --keyring "$KEY1"
	assert "$desc: nothing written" test ! -e "$T/hx" -a ! -e "$T/escape" -a ! -e /tmp/ferry-escape-test
}
hostile "entry ../x" "'\.\.' path component" "data:../escape=x"
hostile "entry /etc/x" "absolute path" "data:/tmp/ferry-escape-test=x"
hostile "entry a/../../x" "'\.\.' path component" "data:a/../../escape=x"
hostile "symlink entry" "link entries are not allowed" "symlink:docs/link=/etc/passwd"
hostile "hardlink entry" "link entries are not allowed" "hardlink:docs/hard=docs/INSTALL.md"
hostile "device entry" "device" "chardev:docs/null"
hostile "fifo entry" "device, fifo" "fifo:docs/fifo"
hostile "duplicate entry" "duplicate entry" "data:docs/INSTALL.md=evil"
hostile "extra entry" "extra entry, not listed" "data:docs/extra.txt=extra"
# shellcheck disable=SC2086
$TARX build "$T/h.ferry" $head_items file:docs/INSTALL.md="$A/docs/INSTALL.md" file:files/values.yaml="$A/files/values.yaml"
expect_err 1 "charts/demo-chart-0.3.1.tgz: missing" "entry removed: verify names it" "$LOAD" verify "$T/h.ferry" --keyring "$KEY1"
assert "entry removed: the other missing entry is named too" grep -q "docs/guides/guide.txt: missing" "$T/err"
printf 'Install: run something else entirely.\n' >"$T/evil.md"
# shellcheck disable=SC2086
$TARX build "$T/h.ferry" $head_items file:docs/INSTALL.md="$T/evil.md" file:docs/guides/guide.txt="$A/docs/guides/guide.txt" file:charts/demo-chart-0.3.1.tgz="$A/charts/demo-chart-0.3.1.tgz" file:files/values.yaml="$A/files/values.yaml"
expect_err 1 "docs/INSTALL.md: size differs from the signed size" "same-name entry of another size: refused before its data" "$LOAD" verify "$T/h.ferry" --keyring "$KEY1"
# shellcheck disable=SC2086
$TARX build "$T/h.ferry" file:bundle.yaml="$A/bundle.yaml" $rest_items
expect_err 1 "where SHA256SUMS belongs" "bundle without SHA256SUMS first" "$LOAD" verify "$T/h.ferry" --keyring "$KEY1"

# signatures: another key, a good signature over other SHA256SUMS
new_gpg_home 2 || fail "second test key"
KEY2=$KEYRING
expect 0 "build signed by a second key" "$PACK" build -q spec.yaml -o "$T/k2.ferry"
expect_err 1 "not in the keyring" "signature by a key not in the keyring" "$LOAD" verify "$T/k2.ferry" --keyring "$KEY1"
expect 0 "the same bundle verifies with its own key" "$LOAD" verify "$T/k2.ferry" --keyring "$KEY2"
cat "$KEY1" "$KEY2" >"$T/both.asc"
expect 0 "a keyring of two keys accepts either signer" "$LOAD" verify "$T/k2.ferry" --keyring "$T/both.asc"
mkdir "$T/k2" && tar -xf "$T/k2.ferry" -C "$T/k2"
# shellcheck disable=SC2086
$TARX build "$T/h.ferry" file:SHA256SUMS="$A/SHA256SUMS" file:SHA256SUMS.asc="$T/k2/SHA256SUMS.asc" file:bundle.yaml="$A/bundle.yaml" $rest_items
expect_err 1 "BAD signature" "a valid signature over a different SHA256SUMS" "$LOAD" verify "$T/h.ferry" --keyring "$T/both.asc"
expect_err 3 "no OpenPGP public key" "a keyring that holds no key: exit 3" "$LOAD" verify "$B" --keyring "$T/in/values.yaml"
expect_err 3 "No such file" "a missing keyring: exit 3" "$LOAD" verify "$B" --keyring "$T/nope.asc"
assert "the user's own keyring is untouched by verify" test "$(gpg --list-keys --with-colons 2>/dev/null | grep -c '^pub')" = 1

# not bundles at all
: >"$T/empty.ferry"
expect_err 1 "empty file" "an empty file" "$LOAD" verify "$T/empty.ferry" --keyring "$KEY1"
head -c 5000 /dev/urandom >"$T/noise.ferry"
expect_err 1 "not a ferry bundle" "a non-tar file" "$LOAD" verify "$T/noise.ferry" --keyring "$KEY1"
expect_err 1 "not a ferry bundle" "inspect of a non-tar file" "$LOAD" inspect "$T/noise.ferry"
expect_err 3 "No such file" "a missing bundle: exit 3" "$LOAD" verify "$T/missing.ferry" --keyring "$KEY1"

# a zstd bomb: a few KiB that expand to 4 GiB of an unsigned entry
$TARX zbuild "$T/bomb.ferry" $head_items big:junk=4294967296
expect_err 1 "unsigned data: stopped reading" "zstd bomb: stops reading, clear error" timeout 120 "$LOAD" verify "$T/bomb.ferry" --keyring "$KEY1"
expect_err 1 "unsigned data" "zstd bomb: extract refuses" timeout 120 "$LOAD" extract "$T/bomb.ferry" -C "$T/bx" --keyring "$KEY1"
assert "zstd bomb: nothing extracted" test ! -e "$T/bx"
# a bomb hidden in the head: SHA256SUMS claiming gigabytes
$TARX zbuild "$T/bomb2.ferry" big:SHA256SUMS=3000000000
expect_err 1 "SHA256SUMS is [0-9]+ bytes, more than" "SHA256SUMS claiming gigabytes: refused at once" "$LOAD" verify "$T/bomb2.ferry" --keyring "$KEY1"

# interrupted and failed builds leave nothing
truncate -s 3G "$T/in/big.bin"
cat >"$T/bigspec.yaml" <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: big, version: "1"}
files: [{path: in/big.bin}]
EOS
"$PACK" build bigspec.yaml -o "$T/big.ferry" --no-sign 2>"$T/err" &
pid=$!
for _ in $(seq 50); do ls "$T" | grep -q 'big.ferry.partial' && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
assert "SIGINT during build: non-zero exit ($rc)" test $rc -ne 0
assert "SIGINT during build: no bundle and no partial file" test -z "$(ls "$T" | grep '^big.ferry')"
rm -f "$T/in/big.bin"
expect 3 "unknown --sign-key: exit 3" "$PACK" build spec.yaml -o "$T/nokey.ferry" --sign-key 0123456789ABCDEF0123456789ABCDEF01234567
assert "failed build leaves nothing" test -z "$(ls "$T" | grep nokey)"

# a passphrase-protected release key, unlocked through loopback pinentry
export GNUPGHOME=$T/gnupg-pw
mkdir -m 700 "$GNUPGHOME"
at_exit "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1"
gpg --batch --pinentry-mode loopback --passphrase 'correct horse' --quick-gen-key 'Protected <pw@ferry.invalid>' ed25519 sign never >/dev/null 2>&1
FPRPW=$(gpg --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')
gpg --armor --export "$FPRPW" >"$T/pw.asc" 2>/dev/null
gpgconf --kill gpg-agent # forget any cached passphrase
printf 'correct horse\n' >"$T/pass.txt"
printf 'wrong horse\n' >"$T/badpass.txt"
expect 0 "build with a passphrase-protected key and --passphrase-file" "$PACK" build spec.yaml -o "$T/pw.ferry" --sign-key "$FPRPW" --passphrase-file "$T/pass.txt"
expect 0 "its signature verifies" "$LOAD" verify "$T/pw.ferry" --keyring "$T/pw.asc"
gpgconf --kill gpg-agent
expect_err 3 "signing with" "a wrong passphrase: exit 3, no bundle" "$PACK" build spec.yaml -o "$T/pw2.ferry" --sign-key "$FPRPW" --passphrase-file "$T/badpass.txt"
assert "wrong passphrase leaves nothing" test -z "$(ls "$T" | grep pw2)"

# usage errors
expect 2 "unknown verb" "$LOAD" frobnicate
expect 2 "option of another verb" "$LOAD" verify "$B" --keyring "$KEY1" --to oci:x
expect 2 "an option of another verb (ferry-pack)" "$PACK" build spec.yaml --key x
expect_err 2 "conflicts" "conflicting options: exit 2 before any work" "$PACK" build spec.yaml -o "$T/conflict.ferry" --no-sign --sign-key "$FPR1"
assert "conflicting options: nothing written" test ! -e "$T/conflict.ferry"
expect_err 2 "--parts-only conflicts with --license-pubkey" "verify --parts-only with --license-pubkey" \
	"$LOAD" verify "$B" --keyring "$KEY1" --parts-only --license-pubkey "$T/in/values.yaml"
expect_err 2 "keygen: give exactly one" "keygen --pgp with --license" "$PACK" keygen --pgp --license "$T/lk"
assert "keygen refused: no key directory made" test ! -e "$T/lk"
# what the mains print of argv is escaped: control characters and bidi overrides
raw_free() { ! LC_ALL=C grep -q -e $'\033' -e $'\342\200\256' "$T/err"; }
evil=$'evil\033[2J\342\200\256verb' # ESC [2J, U+202E (right-to-left override)
for prog in "$PACK" "$LOAD"; do
	name=$(basename "$prog")
	expect_err 2 'unknown verb .evil\\x1b\[2J\\xe2\\x80\\xaeverb.' "$name: an unknown verb is printed escaped" "$prog" "$evil"
	assert "$name: no raw escape or bidi override on stderr (verb)" raw_free
	expect_err 2 'unknown option --evil\\x1b\[2J\\xe2\\x80\\xaeverb' "$name: an unknown option is printed escaped" \
		"$prog" "$( [ "$prog" = "$PACK" ] && echo build || echo verify)" x "--$evil"
	assert "$name: no raw escape or bidi override on stderr (option)" raw_free
done
expect_err 2 "--sign-key: 'evil[\\]x1b" "an option's value is printed escaped" "$PACK" build spec.yaml --sign-key "$evil"
assert "no raw escape or bidi override on stderr (value)" raw_free
expect_err 2 "unknown subcommand 'evil[\\]x1b" "an unknown subcommand is printed escaped" "$LOAD" license "$evil"
assert "no raw escape or bidi override on stderr (subcommand)" raw_free
# -q is quiet
expect 0 "extract -q" "$LOAD" extract "$B" -C "$T/xq" --keyring "$KEY1" -q
assert "extract -q prints nothing on success" test ! -s "$T/out" -a ! -s "$T/err"
expect 0 "verify -q" "$LOAD" verify "$B" --keyring "$KEY1" -q
assert "verify -q prints nothing on success" test ! -s "$T/out" -a ! -s "$T/err"
expect 0 "ferry-load --help" "$LOAD" --help
expect 0 "ferry-load verify --help" "$LOAD" verify --help
expect 0 "ferry-pack build --help" "$PACK" build --help
expect 0 "ferry-pack --version" "$PACK" --version
assert "--version names ferry" grep -q "ferry-pack [0-9]" "$T/out"
exit 0
