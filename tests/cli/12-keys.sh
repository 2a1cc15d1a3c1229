#!/usr/bin/env bash
# Signing keys whose state forbids trusting a signature: a revoked key and an expired
# one are refused by verify and load even though the signature itself is intact and
# the key is in the operator's keyring (the throw-away GnuPG home trusts exactly that
# keyring, nothing more; revocation and expiry still count).
. "$FERRY_ROOT/tests/lib.sh"

new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
echo "Install: run ferry-load." >INSTALL.md
cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: keys, version: 1.0.0, vendor: Acme Corp}
docs: [{path: INSTALL.md}]
EOS
expect 0 "build a signed bundle" "$PACK" build spec.yaml -o good.ferry
expect 0 "it verifies with the signer's public key" "$LOAD" verify good.ferry --keyring "$KEYRING"

# Revoked: GnuPG wrote a revocation certificate when the key was made; importing it
# (its first line is disarmed with a colon) revokes the key.
rev=$GNUPGHOME/openpgp-revocs.d/$FPR.rev
assert "GnuPG left a revocation certificate" test -s "$rev"
cp -a "$GNUPGHOME" "$T/revoked-home"
sed 's/^:-----BEGIN/-----BEGIN/' "$rev" >revoke.asc
GNUPGHOME=$T/revoked-home gpg --batch -q --import revoke.asc 2>/dev/null
GNUPGHOME=$T/revoked-home gpg --batch -q --armor --export "$FPR" >revoked.asc
assert "the exported key carries the revocation" sh -c "GNUPGHOME='$T/revoked-home' gpg --with-colons --list-keys '$FPR' | grep -q '^pub:r:'"
expect_err 1 "signing key is revoked" "verify: a signature by a revoked key is refused" \
	"$LOAD" verify good.ferry --keyring revoked.asc
expect_err 1 "signing key is revoked" "inspect --keyring: the same" "$LOAD" inspect good.ferry --keyring revoked.asc
mkdir tgt
expect_err 1 "signing key is revoked" "load into oci: the same, nothing written" \
	"$LOAD" load good.ferry --keyring revoked.asc --to oci:tgt/layout
assert "no layout was created" test ! -e tgt/layout

# Expired: a key made in 2020 that signs now, then given an expiry of one day after its
# creation (a newer self-signature, made with the clock set back).
export GNUPGHOME=$T/old-home
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
at_exit "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1"
gpg --batch -q --faked-system-time 20200101T000000 --passphrase '' \
	--quick-gen-key "Old Key <old@ferry.invalid>" ed25519 sign never 2>/dev/null
OLD=$(gpg --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')
assert "a key dated 2020 was made" test -n "$OLD"
expect 0 "build a bundle signed by it" "$PACK" build spec.yaml -o old.ferry --sign-key "$OLD"
gpg --batch -q --armor --export "$OLD" >old.asc
expect 0 "it verifies while the key has no expiry" "$LOAD" verify old.ferry --keyring old.asc
gpg --batch -q --faked-system-time 20200601T000000 --quick-set-expire "$OLD" 1d 2>/dev/null
gpg --batch -q --armor --export "$OLD" >expired.asc
assert "the exported key is expired" sh -c "gpg --with-colons --list-keys '$OLD' | grep -q '^pub:e:'"
expect_err 1 "signing key has expired" "verify: a signature by an expired key is refused" \
	"$LOAD" verify old.ferry --keyring expired.asc
exit 0
