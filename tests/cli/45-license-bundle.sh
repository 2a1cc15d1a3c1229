#!/usr/bin/env bash
# Licenses inside bundles: checked at pack time, summarised in bundle.yaml and
# inspect, and enforced by verify and load with --license-pubkey.
. "$FERRY_ROOT/tests/lib.sh"
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
"$PACK" keygen --license lk >/dev/null && "$PACK" keygen --license other >/dev/null || { fail "license keygen"; exit 1; }
now=$(date +%s)
"$PACK" license issue --key lk/license.key --subject acme-corp --customer "Acme Corp" --edition enterprise \
	--seats 25 --expires +30d --audience acme-platform -o good.lic >/dev/null 2>&1 || fail "issue good.lic"
"$PACK" license issue --key lk/license.key --subject acme-corp --expires +1d --grace-days 10 \
	-o old.lic >/dev/null 2>&1 || fail "issue old.lic"
echo "doc" >doc.md
mk() { # NAME LICFILE
	cat >"$1.yaml" <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: $1, version: "1"}
docs: [{path: doc.md}]
license: [{path: $2}]
EOS
}
mk good good.lic
mk old old.lic

expect 0 "pack with a valid license, checked with --license-pubkey" "$PACK" build good.yaml -o good.ferry --license-pubkey lk/license.pub
"$PACK" license issue --key lk/license.key --subject acme-corp --expires 2021-01-01 --not-before 2020-01-01 -o dead.lic >/dev/null 2>&1 || true
if [ -s dead.lic ]; then
	mk dead dead.lic
	expect_err 1 "license is expired" "pack refuses an expired license" "$PACK" build dead.yaml -o dead.ferry --license-pubkey lk/license.pub
	assert "refused license: no bundle" test ! -e dead.ferry
	expect 0 "--allow-expired packs it anyway" "$PACK" build dead.yaml -o dead.ferry --license-pubkey lk/license.pub --allow-expired
else
	fail "license issue of an already-expired license (for the pack-time check)"
fi
expect 0 "pack a license in grace later" "$PACK" build old.yaml -o old.ferry --license-pubkey lk/license.pub
expect_err 1 "bad-signature" "pack refuses a license that another key signed" "$PACK" build good.yaml -o x.ferry --license-pubkey other/license.pub
expect 0 "pack without a key still summarises the claims" "$PACK" build good.yaml -o peek.ferry

expect 0 "inspect shows the license claims" "$LOAD" inspect good.ferry --keyring "$KEYRING" --json
assert "inspect: subject, edition, seats, expiry" jq -e '.license[0] | .subject == "acme-corp" and .edition == "enterprise" and .seats == 25 and (.expires|test("^20[0-9-]+T"))' "$T/out"
expect 0 "inspect text" "$LOAD" inspect good.ferry
assert "inspect text names the license" grep -q "license/good.lic: subject acme-corp, edition enterprise" "$T/out"

expect 0 "verify with the license key" "$LOAD" verify good.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub
expect 0 "verify with the right --audience" "$LOAD" verify good.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub --audience acme-platform
expect_err 1 "wrong-audience" "verify with another --audience" "$LOAD" verify good.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub --audience other
expect_err 1 "bad-signature" "verify with another license key" "$LOAD" verify good.ferry --keyring "$KEYRING" --license-pubkey other/license.pub
expect_err 1 "license is expired" "verify after expiry (--now)" "$LOAD" verify good.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub --now $((now + 40 * 86400))
expect_err 0 "grace period: [0-9]+ days left" "a license in its grace period verifies with a warning" \
	"$LOAD" verify old.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub --now $((now + 3 * 86400))
expect_err 1 "license is expired" "after the grace period it does not" \
	"$LOAD" verify old.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub --now $((now + 12 * 86400))
expect_err 3 "nope.pub" "a missing license key file: exit 3" "$LOAD" verify good.ferry --keyring "$KEYRING" --license-pubkey nope.pub
expect_err 2 "--audience needs --license-pubkey" "--audience alone is a usage error" "$LOAD" verify good.ferry --keyring "$KEYRING" --audience x

# a bundle with no license, when one is demanded
cat >nolic.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: nolic, version: "1"}
docs: [{path: doc.md}]
EOS
"$PACK" build -q nolic.yaml -o nolic.ferry
expect_err 1 "no license in the bundle" "--license-pubkey on a bundle without a license" "$LOAD" verify nolic.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub

# load refuses before anything reaches a target
expect_err 1 "license is expired" "load refuses a bundle whose license has expired" \
	"$LOAD" load good.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub --now $((now + 40 * 86400)) --to "oci:$T/oci"
assert "refused load: the oci: target holds no image" test ! -e "$T/oci/index.json"
expect 0 "load with a valid license" "$LOAD" load good.ferry --keyring "$KEYRING" --license-pubkey lk/license.pub --to "oci:$T/oci2"
exit 0
