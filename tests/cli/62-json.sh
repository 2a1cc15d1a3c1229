#!/usr/bin/env bash
# verify, extract and load --json (docs/json.md): one document on stdout, read with jq,
# for success and for every failure exit code (1 a bad layer or signature, 2 usage,
# 3 I/O, 4 a target); per-image and per-target results with the references the image
# map gives; untrusted names stay valid ASCII JSON. --keep-registry-host drops the
# port of the original host. The progress line shows on a terminal (script -qc gives a
# pty) and never off one or with -q.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
TARX="python3 $FERRY_ROOT/tests/tools/tarx.py"
need_fixtures || { skip "--json: image fixtures: $SVC_WHY"; exit 0; }
new_gpg_home 2 || { fail "second test key"; exit 1; }
OTHER_KEYRING=$KEYRING
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1

# two images, the second named with a registry host and port
PORTED=localhost:5000/site/app-b:1
echo 'a deployment note' >note.txt
cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: jsondemo, version: 3.1.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: $FX/app-a.docker.tar}
  - {ref: "$PORTED", from: $FX/app-b.docker.tar}
files: [{path: note.txt}]
EOS
expect 0 "pack two images and a file" "$PACK" build spec.yaml -o j.ferry --allow-outside-paths || exit 1

# jqt DESC FILTER: passes when the jq FILTER is true of $T/out
jqt() { assert "$1" jq -e "$2" "$T/out"; }
TOP='["bundle","command","entries","error","exitCode","finished","images","problems","problemsNotListed","schema","seconds","started","verdict"]'

# ---------------------------------------------------------------- verify
expect 0 "verify --json" "$LOAD" verify j.ferry --keyring "$KEYRING" --json
jqt "verify: the documented top-level keys, schema 1" "(keys == $TOP) and .schema == 1 and .command == \"verify\""
jqt "verify: verdict ok, exit code 0, no error" '.verdict == "ok" and .exitCode == 0 and .error == null'
jqt "verify: bundle name, version, signer" \
	".bundle.name == \"jsondemo\" and .bundle.version == \"3.1.0\" and .bundle.signatureChecked and .bundle.signer.fingerprint == \"$FPR\""
nsums=$(tar -xOf j.ferry SHA256SUMS | wc -l)
jqt "verify: every entry ok (all but bundle.yaml of the $nsums in SHA256SUMS), none bad, missing or extra" ".entries.ok == $((nsums - 1)) and"'  .entries.bad == 0 and .entries.missing == 0 and .entries.extra == 0 and .entries.bytes > 1000000'
jqt "verify: both images verified, by reference and digest" \
	"[.images[] | select(.verified) | .ref] == [\"$APP_A_REF\", \"$PORTED\"] and (.images[0].digest | test(\"^sha256:[0-9a-f]{64}\$\"))"
jqt "verify: times are UTC stamps and seconds" '(.started | test("Z$")) and (.finished | test("Z$")) and .seconds >= 0'
assert "verify --json: stdout is the document alone (no text summary)" test "$(jq -s length "$T/out")" = 1

# exit 1: one layer of the second image flipped (the signature still checks)
victim=$(tar -xOf j.ferry bundle.yaml | python3 -c '
import sys, yaml
d = yaml.safe_load(sys.stdin); a, b = d["images"]
size = {e["path"]: e["size"] for e in d["entries"]}
own = [x for x in b["blobs"] if x not in a["blobs"] and x not in b["manifests"]]
print(max(own, key=lambda x: size["images/blobs/sha256/" + x[7:]]))')
cp j.ferry bad.ferry
off=$($TARX offset bad.ferry "images/blobs/sha256/${victim#sha256:}")
$TARX flip bad.ferry $((off + 10))
expect_err 1 "checksum mismatch" "verify --json of a flipped layer: exit 1" "$LOAD" verify bad.ferry --keyring "$KEYRING" --json
jqt "exit 1: verdict verification-failed, the reader's error" '.verdict == "verification-failed" and .exitCode == 1 and (.error | test("verification FAILED"))'
jqt "exit 1: the problem names the entry and why" \
	".problems == [{\"entry\": \"images/blobs/sha256/${victim#sha256:}\", \"why\": \"checksum mismatch\"}]"
jqt "exit 1: the image with the bad layer is not verified, the other is" \
	"[.images[] | {ref, verified}] == [{\"ref\": \"$APP_A_REF\", \"verified\": true}, {\"ref\": \"$PORTED\", \"verified\": false}] and (.images[1].error | test(\"checksum mismatch\"))"
expect 1 "verify --json against another key: exit 1" "$LOAD" verify j.ferry --keyring "$OTHER_KEYRING" --json
jqt "bad signature: verdict and error, no head read (name null)" '.verdict == "verification-failed" and .error != null and .bundle.name == null and .bundle.signatureChecked == false'

# exit 2: usage, found by the checks or by the option parser, even before --json
expect 2 "verify --json without --keyring: exit 2" "$LOAD" verify j.ferry --json
jqt "usage: verdict usage-error with the message" '.verdict == "usage-error" and .exitCode == 2 and (.error | test("--keyring KEYS.asc is required"))'
expect 2 "an unknown option before --json: exit 2" "$LOAD" verify j.ferry --bogus --json --keyring "$KEYRING"
jqt "usage: unknown option, still a document" '.verdict == "usage-error" and .error == "unknown option --bogus" and .entries == null'
expect 2 "verify --parts-only --json: exit 2 (no entries are checked)" "$LOAD" verify j.ferry --parts-only --json --keyring "$KEYRING"
jqt "usage: --parts-only and --json" '.exitCode == 2 and (.error | test("parts-only"))'
expect 0 "--help with --json prints the usage, no document" "$LOAD" verify --json --help
assert "--help: no JSON on stdout" sh -c "! jq -e . '$T/out' >/dev/null 2>&1"

# exit 3: I/O
expect 3 "verify --json of a missing bundle: exit 3" "$LOAD" verify nope.ferry --keyring "$KEYRING" --json
jqt "I/O: verdict io-error, the file named" '.verdict == "io-error" and .exitCode == 3 and (.error | test("nope.ferry")) and .bundle.file == "nope.ferry"'

# hostile: an extra entry whose name holds an escape byte and invalid UTF-8
cp j.ferry extra.ferry
python3 - extra.ferry <<'PY'
import io, sys, tarfile
name = "docs/\x1b[31mred\udcff.txt"
with tarfile.open(sys.argv[1], "a", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape") as t:
    m = tarfile.TarInfo(name); m.size = 2
    t.addfile(m, io.BytesIO(b"x\n"))
PY
expect_err 1 "1 extra entries" "verify --json of a bundle with a hostile extra entry: exit 1" "$LOAD" verify extra.ferry --keyring "$KEYRING" --json
jqt "hostile name: the document parses and names the extra entry" '.entries.extra == 1 and (.problems[0].entry | test("^docs/.*red"))'
assert "hostile name: stdout is ASCII, no raw escape byte" sh -c "! LC_ALL=C grep -q '[^ -~]' '$T/out'"

# ---------------------------------------------------------------- extract
expect 0 "extract --json" "$LOAD" extract j.ferry --keyring "$KEYRING" -C out1 --json
jqt "extract: command, verdict, directory, images verified" \
	'.command == "extract" and .verdict == "ok" and .directory == "out1" and ([.images[].verified] == [true, true])'
mkdir -p out2/files && echo planted >out2/files/note.txt
expect 3 "extract --json into a directory that holds note.txt: exit 3" "$LOAD" extract j.ferry --keyring "$KEYRING" -C out2 --json
jqt "extract exit 3: io-error naming the file" '.verdict == "io-error" and (.error | test("note.txt"))'

# ---------------------------------------------------------------- load
start_registry || { skip "load --json: registry: $SVC_WHY"; exit 0; }
R=$REG_ADDR
TO=registry://$R/pre
expect 0 "load --json into a registry and an oci: layout, with --image-map and --keep-registry-host" \
	"$LOAD" load j.ferry --keyring "$KEYRING" --to "$TO" --to "oci:$T/lay" --plain-http --keep-registry-host --image-map map.json --json
jqt "load: the top-level keys (targets, no images)" \
	'keys == ["bundle","command","entries","error","exitCode","finished","problems","problemsNotListed","schema","seconds","started","targets","verdict"]'
jqt "load: two targets in --to order, each ok" \
	"[.targets[] | {target, kind, verdict, exitCode}] == [{\"target\": \"$TO\", \"kind\": \"registry\", \"verdict\": \"ok\", \"exitCode\": 0}, {\"target\": \"oci:$T/lay\", \"kind\": \"oci\", \"verdict\": \"ok\", \"exitCode\": 0}]"
jqt "load: the registry target's counts (blobs pushed, bytes, manifests)" '.targets[0].blobs.sent > 0 and .targets[0].bytes > 1000000 and .targets[0].manifests >= 2'
jqt "load: every image loaded on both targets" '[.targets[].images[].loaded] == [true, true, true, true]'
# --keep-registry-host: localhost:5000/site/app-b:1 lands as HOST/pre/localhost/site/app-b:1
jqt "--keep-registry-host: the port of the original host is dropped" \
	".targets[0].images[1].reference == \"$R/pre/localhost/site/app-b:1\""
assert "--keep-registry-host: the registry holds pre/localhost/site/app-b:1" \
	test "$(curl -s "http://$R/v2/pre/localhost/site/app-b/tags/list" | jq -r '.tags[0]')" = 1
assert "--keep-registry-host: skopeo reads it with the bundle's digest" \
	test "$(skopeo inspect --tls-verify=false "docker://$R/pre/localhost/site/app-b:1" | jq -r .Digest)" = "$(jq -r '.targets[0].images[1].digest' "$T/out")"
assert "load --json carries what the image map says (reference and digest per target)" \
	test "$(jq -c '[.targets[] as $t | $t.images[] | {source: .ref, target: $t.target, reference, digest}] | sort' "$T/out")" = \
	"$(jq -c '.images | sort' map.json)"

# exit 4 beside a target that worked: nothing listens on the second registry
DEAD=registry://127.0.0.1:$(free_port)
expect_err 4 "not loaded" "load --json with an unreachable registry: exit 4" \
	"$LOAD" load j.ferry --keyring "$KEYRING" --to "oci:$T/lay2" --to "$DEAD" --plain-http --timeout 5 --json
jqt "exit 4: verdict target-failed; the oci: target ok, the registry failed with why" \
	".verdict == \"target-failed\" and .exitCode == 4 and .targets[0].verdict == \"ok\" and .targets[1].verdict == \"target-failed\" and .targets[1].target == \"$DEAD\" and (.targets[1].error | test(\"127.0.0.1\"))"
jqt "exit 4: the registry's images are not loaded, each with why" '[.targets[1].images[] | (.loaded == false and .error != null)] == [true, true]'

# exit 1: the flipped layer, into an oci: layout
expect_err 1 "checksum mismatch" "load --json of the flipped bundle: exit 1" "$LOAD" load bad.ferry --keyring "$KEYRING" --to "oci:$T/lay3" --json
jqt "load exit 1: the image that verified loaded, the other not, naming the blob" \
	"[.targets[0].images[] | .loaded] == [true, false] and (.targets[0].images[1].error | test(\"${victim#sha256:}\")) and .targets[0].verdict == \"verification-failed\""

# exit 2 found while loading: --image not in the bundle
expect 2 "load --json --image not in the bundle: exit 2" "$LOAD" load j.ferry --keyring "$KEYRING" --to "oci:$T/lay4" --image ferry.test/nope:9 --json
jqt "load exit 2: usage-error naming the image" '.verdict == "usage-error" and (.error | test("ferry.test/nope:9"))'
expect 2 "load --json with an unknown target kind: exit 2" "$LOAD" load j.ferry --keyring "$KEYRING" --to "ftp://x" --json
jqt "load exit 2: the target syntax error" '.verdict == "usage-error" and (.error | test("unknown target"))'

# --keep-registry-host and an IPv6 host: no repository name can hold it
cat >v6.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: v6, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: "[::1]:5000/v6/app:1", from: $FX/app-a.docker.tar}
EOS
expect 0 "pack an image named with an IPv6 registry host" "$PACK" build v6.yaml -o v6.ferry --allow-outside-paths
expect_err 4 "names no valid repository" "--keep-registry-host with an IPv6 host fails that image (exit 4)" \
	"$LOAD" load v6.ferry --keyring "$KEYRING" --to "$TO" --plain-http --keep-registry-host

# ---------------------------------------------------------------- progress
# script -qc runs the command on a pseudo-terminal; its stderr is the terminal
tty_run() { script -qec "$1" /dev/null >"$T/tty.out" 2>&1; }
tty_run "'$PACK' build spec.yaml -o p.ferry --allow-outside-paths"
assert "pack on a terminal: a progress line per image, with bytes and rate" \
	grep -Eq "ferry-pack: writing $APP_A_REF \(1/2\): +[0-9]+% .* of .*/s" "$T/tty.out"
assert "pack on a terminal: the line is cleared before the summary" grep -q $'\033\[K' "$T/tty.out"
tty_run "'$PACK' build spec.yaml -o q.ferry --allow-outside-paths -q"
assert "pack -q on a terminal: no progress" sh -c "! grep -q 'writing' '$T/tty.out'"
expect 0 "pack off a terminal" "$PACK" build spec.yaml -o r.ferry --allow-outside-paths
assert "pack off a terminal: no progress, no escape sequence" sh -c "! grep -q \$'\\033' '$T/err' && ! grep -q writing '$T/err'"
tty_run "'$LOAD' verify j.ferry --keyring '$KEYRING'"
assert "verify on a terminal: progress with bytes" grep -Eq 'ferry-load: verifying: +[0-9]+% ' "$T/tty.out"
tty_run "'$LOAD' verify j.ferry --keyring '$KEYRING' -q"
assert "verify -q on a terminal: no progress" sh -c "! grep -q verifying '$T/tty.out'"
expect 0 "verify off a terminal" "$LOAD" verify j.ferry --keyring "$KEYRING"
assert "verify off a terminal: no progress" sh -c "! grep -q \$'\\033' '$T/err' && ! grep -q verifying '$T/err'"
tty_run "'$LOAD' extract j.ferry --keyring '$KEYRING' -C out3"
assert "extract on a terminal: progress" grep -Eq 'ferry-load: extracting: +[0-9]+% ' "$T/tty.out"
expect 0 "extract off a terminal" "$LOAD" extract j.ferry --keyring "$KEYRING" -C out4
assert "extract off a terminal: no progress" sh -c "! grep -q extracting: '$T/err'"
