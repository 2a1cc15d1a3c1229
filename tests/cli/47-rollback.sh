#!/usr/bin/env bash
# Rollback and freeze protection: the signed sequence and expiry of bundle.yaml, the
# state file load and extract keep (--state), and what they refuse.
. "$FERRY_ROOT/tests/lib.sh"

new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
echo "notes" >notes.txt
# mkspec NAME VERSION [METADATA...]: a small spec with one file
mkspec() {
	local name=$1 version=$2; shift 2
	local extra=""
	[ $# -gt 0 ] && extra=", $*"
	printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: %s, version: %s, vendor: Acme Corp%s}\nfiles: [{path: notes.txt}]\n' \
		"$name" "$version" "$extra" >"spec-$version.yaml"
}
S=$T/st/state.json
mkspec app 1.5 "sequence: 5"
mkspec app 1.4 "sequence: 4"
mkspec app 1.6 "sequence: 6"
mkspec app 1.7 "sequence: 7"
for v in 1.4 1.5 1.6 1.7; do "$PACK" build -q "spec-$v.yaml" -o "app-$v.ferry" || fail "pack app $v"; done

# the spec's values, signed in bundle.yaml
expect 0 "inspect shows the sequence" "$LOAD" inspect app-1.5.ferry --keyring "$KEYRING"
assert "inspect: Sequence 5, never expires" grep -Eq '^Sequence: +5$' "$T/out"
assert "inspect: Expires never" grep -Eq '^Expires: +never$' "$T/out"
assert "bundle.yaml carries the sequence" sh -c "tar -xOf app-1.5.ferry bundle.yaml | grep -q 'sequence: 5'"
mkspec app 1.0
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec-1.0.yaml -o app-default.ferry --no-sign
assert "default sequence: the build time (SOURCE_DATE_EPOCH)" sh -c "tar -xOf app-default.ferry bundle.yaml | grep -q 'sequence: 1700000000'"

# a rollback: 5 loaded, then 4 refused (exit 1, naming both), unless --allow-downgrade
expect 0 "extract sequence 5 (state directory made)" "$LOAD" extract app-1.5.ferry --keyring "$KEYRING" -C x5 --state "$S"
assert "the state file records sequence 5" python3 -c "
import json,sys; s=json.load(open('$S')); b=s['bundles'][0]
sys.exit(not (b['name']=='app' and b['vendor']=='Acme Corp' and b['sequence']==5 and b['version']=='1.5'))"
expect_err 1 "app 1.4 \(sequence 4\) is older than 1.5 \(sequence 5\).*--allow-downgrade" \
	"extract of sequence 4 after 5 is refused, naming both" \
	"$LOAD" extract app-1.4.ferry --keyring "$KEYRING" -C x4 --state "$S"
assert "the refused extract wrote nothing" test ! -e x4
expect_err 1 "is older than 1.5" "load of sequence 4 into oci: is refused before the target is touched" \
	"$LOAD" load app-1.4.ferry --keyring "$KEYRING" --to "oci:$T/layout" --state "$S"
assert "the refused load made no layout" test ! -e "$T/layout"
expect 0 "verify without --state does not look at the state" "$LOAD" verify app-1.4.ferry --keyring "$KEYRING"
expect_err 1 "is older than" "verify --state compares too" "$LOAD" verify app-1.4.ferry --keyring "$KEYRING" --state "$S"
expect 0 "inspect --state shows an older bundle" "$LOAD" inspect app-1.4.ferry --keyring "$KEYRING" --state "$S"
assert "inspect says OLDER and what was loaded" grep -Eq 'Last loaded: 1.5, sequence 5.*' "$T/out"
assert "inspect says OLDER" grep -q 'this bundle is OLDER' "$T/out"
expect 0 "inspect --json --state" "$LOAD" inspect app-1.4.ferry --json --state "$S"
assert "JSON: lastLoaded.compare older, sequence 4" python3 -c "
import json,sys; b=json.load(open('$T/out'))['bundle']
sys.exit(not (b['sequence']==4 and b['lastLoaded']['compare']=='older' and b['lastLoaded']['sequence']==5 and b['expires'] is None))"
expect_err 0 "accepted \(--allow-downgrade\)" "--allow-downgrade extracts sequence 4 with a warning" \
	"$LOAD" extract app-1.4.ferry --keyring "$KEYRING" -C x4 --state "$S" --allow-downgrade
assert "the state keeps 5 and logs the downgrade with its time" python3 -c "
import json,sys; b=json.load(open('$S'))['bundles'][0]; d=b['downgrades'][0]
sys.exit(not (b['sequence']==5 and d['sequence']==4 and d['over']==5 and d['version']=='1.4' and d['at'].endswith('Z')))"
expect 0 "an equal sequence loads again" "$LOAD" extract app-1.5.ferry --keyring "$KEYRING" -C x5b --state "$S"
expect 0 "a dry-run load checks but records nothing" "$LOAD" load app-1.6.ferry --keyring "$KEYRING" --to "oci:$T/l" --dry-run --state "$S"
assert "dry-run: still sequence 5" python3 -c "import json,sys; sys.exit(json.load(open('$S'))['bundles'][0]['sequence']!=5)"
expect 0 "load sequence 6 into oci:" "$LOAD" load app-1.6.ferry --keyring "$KEYRING" --to "oci:$T/l" --state "$S"
assert "the load recorded sequence 6" python3 -c "import json,sys; sys.exit(json.load(open('$S'))['bundles'][0]['sequence']!=6)"
mkspec other 1.0 "sequence: 1"
"$PACK" build -q spec-1.0.yaml -o other-1.0.ferry
expect 0 "another bundle name has its own record" "$LOAD" extract other-1.0.ferry --keyring "$KEYRING" -C xo --state "$S"
assert "two records" python3 -c "import json,sys; sys.exit(len(json.load(open('$S'))['bundles'])!=2)"
expect 0 "\$FERRY_STATE is the default state file" "$FERRY_BIN/ferry-load" extract app-1.5.ferry --keyring "$KEYRING" -C xenv
assert "\$FERRY_STATE was written" test -s "$FERRY_STATE"

# two loads started together leave the higher sequence
ok=1
for round in 1 2 3 4 5; do
	rm -rf "$T/race" && mkdir "$T/race"
	"$LOAD" extract app-1.6.ferry --keyring "$KEYRING" -C "$T/race/a" --state "$T/race/s.json" -q 2>/dev/null &
	"$LOAD" extract app-1.7.ferry --keyring "$KEYRING" -C "$T/race/b" --state "$T/race/s.json" -q 2>/dev/null &
	wait
	python3 -c "import json,sys; sys.exit(json.load(open('$T/race/s.json'))['bundles'][0]['sequence']!=7)" || ok=0
done
assert "two extracts at once (5 rounds) leave sequence 7" test $ok = 1

# a state file that does not parse stops the load and is left as it was
for bad in 'garbage' '{"ferryState": 1, "bundles": [], "extra": 1}' \
	'{"ferryState": 2, "bundles": []}' \
	'{"ferryState": 1, "bundles": [{"vendor": "", "name": "app", "version": "1", "sequence": -1, "loaded": "2026-01-01T00:00:00Z"}]}' \
	'{"ferryState": 1, "bundles": [{"vendor": "", "name": "app", "version": "1", "sequence": 1, "loaded": "yesterday"}]}' \
	'{"ferryState": 1, "ferryState": 1, "bundles": []}'; do
	printf '%s' "$bad" >bad.json
	expect_err 3 "bad.json: " "a corrupt state file stops the extract: $(printf '%s' "$bad" | head -c 50)" \
		"$LOAD" extract app-1.5.ferry --keyring "$KEYRING" -C xbad --state bad.json
	assert "  ... and is not reset" test "$(cat bad.json)" = "$bad"
done
assert "a corrupt state wrote nothing into DIR" test ! -e xbad
python3 -c "print('{\"ferryState\": 1, \"bundles\": [' + ','.join(['{\"vendor\":\"\",\"name\":\"n%d\",\"version\":\"1\",\"sequence\":1,\"loaded\":\"2026-01-01T00:00:00Z\"}' % i for i in range(12000)]) + ']}')" >big.json
expect_err 3 "big.json: larger than 1048576 bytes" "a state file over 1 MiB is refused" \
	"$LOAD" extract app-1.5.ferry --keyring "$KEYRING" -C xbig --state big.json
mkfifo fifo.json
expect_err 3 "fifo.json: not a regular file" "a FIFO as the state file is refused, not waited on" \
	timeout 10 "$LOAD" extract app-1.5.ferry --keyring "$KEYRING" -C xfifo --state fifo.json
expect_err 3 "state.json.lock: " "a state file in a place that cannot be made fails before the work" \
	"$LOAD" extract app-1.5.ferry --keyring "$KEYRING" -C xnodir --state "$T/notes.txt/x/state.json"
assert "  ... and extracted nothing" test ! -e xnodir

# freeze: an expired bundle is refused by verify, load and extract
mkspec app 2.0 "sequence: 20, expires: 2024-01-01"
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec-2.0.yaml -o app-2.0.ferry
assert "bundle.yaml carries expires in UTC" sh -c "tar -xOf app-2.0.ferry bundle.yaml | grep -q 'expires: .2024-01-01T00:00:00Z'"
expect_err 1 "app 2.0 expired on 2024-01-01T00:00:00Z.*--allow-expired" "verify refuses an expired bundle" \
	"$LOAD" verify app-2.0.ferry --keyring "$KEYRING"
expect_err 1 "expired on" "extract refuses an expired bundle" \
	"$LOAD" extract app-2.0.ferry --keyring "$KEYRING" -C xexp --state "$S"
assert "  ... and wrote nothing" test ! -e xexp
expect_err 1 "expired on" "load refuses an expired bundle" \
	"$LOAD" load app-2.0.ferry --keyring "$KEYRING" --to "oci:$T/lexp" --state "$S"
expect 0 "--now before the expiry: accepted" "$LOAD" verify app-2.0.ferry --keyring "$KEYRING" --now 2023-12-31T23:59:59Z
expect_err 1 "expired" "--now at the expiry: refused" "$LOAD" verify app-2.0.ferry --keyring "$KEYRING" --now 2024-01-01
expect_err 0 "accepted \(--allow-expired\)" "--allow-expired: accepted with a warning" \
	"$LOAD" extract app-2.0.ferry --keyring "$KEYRING" -C xexp --allow-expired --state "$S"
expect 0 "inspect an expired bundle" "$LOAD" inspect app-2.0.ferry --keyring "$KEYRING"
assert "inspect says EXPIRED" grep -q 'Expires: *2024-01-01T00:00:00Z (EXPIRED' "$T/out"
mkspec app 2.1 "expires: +90d"
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q spec-2.1.yaml -o app-2.1.ferry --no-sign
assert "+90d counts from the build time" sh -c "tar -xOf app-2.1.ferry bundle.yaml | grep -q 'expires: .2024-02-12T22:13:20Z'"

# spec values pack refuses
mkspec bad 1 "expires: soon"
expect_err 2 "spec-1.yaml:3:.*'expires' must be a date" "pack refuses an expires that is no date" "$PACK" build -q spec-1.yaml --no-sign -o b1.ferry
mkspec bad 2 "expires: 2020-01-01"
expect_err 2 "not after the build time" "pack refuses a bundle that expired when built" "$PACK" build -q spec-2.yaml --no-sign -o b2.ferry
mkspec bad 3 "sequence: -1"
expect_err 2 "'sequence' must be a non-negative integer" "pack refuses a negative sequence" "$PACK" build -q spec-3.yaml --no-sign -o b3.ferry
mkspec bad 4 "sequence: 9223372036854775808"
expect_err 2 "'sequence' is larger than" "pack refuses a sequence past 2^63-1" "$PACK" build -q spec-4.yaml --no-sign -o b4.ferry
