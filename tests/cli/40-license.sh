#!/usr/bin/env bash
# Offline licenses: keygen, issue, verify (text and --json), exit code per state, and
# interoperability both ways with implementations ferry did not write: the openssl
# command line (required) and the npm "jose" JWT library (when npm can install it).
source "$FERRY_ROOT/tests/lib.sh"

# base64url without padding, and back.
b64e() { openssl base64 -A | tr '/+' '_-' | tr -d '='; }
b64d() {
	local s; s=$(tr '_-' '/+')
	case $((${#s} % 4)) in 2) s="$s==" ;; 3) s="$s=" ;; esac
	printf '%s' "$s" | openssl base64 -d -A
}
# kid as license.md defines it, computed by openssl: SHA-256 of the SPKI DER, 16 hex.
kid_of() { openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -c1-16; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- keygen ---
expect 0 "keygen --license (Ed25519)" "$PACK" keygen --license "$T/ed"
assert "private key is mode 0600" test "$(stat -c %a "$T/ed/license.key")" = 600
assert "public key is a PEM SubjectPublicKeyInfo" grep -q -- '-----BEGIN PUBLIC KEY-----' "$T/ed/license.pub"
assert "private key is not in the public file" bash -c "! grep -q PRIVATE '$T/ed/license.pub'"
assert "key is Ed25519 (openssl)" bash -c "openssl pkey -pubin -in '$T/ed/license.pub' -text_pub -noout | grep -q ED25519"
before=$(sha "$T/ed/license.key")
expect_err 3 "exists" "keygen refuses to overwrite an existing key" "$PACK" keygen --license "$T/ed"
assert "existing private key unchanged" test "$(sha "$T/ed/license.key")" = "$before"
expect 0 "keygen --license --rsa" "$PACK" keygen --license "$T/rsa" --rsa
assert "RSA private key is mode 0600" test "$(stat -c %a "$T/rsa/license.key")" = 600
assert "RSA key is 3072 bits (openssl)" bash -c "openssl pkey -pubin -in '$T/rsa/license.pub' -text_pub -noout | grep -q '3072 bit'"
expect 0 "keygen a second Ed25519 key" "$PACK" keygen --license "$T/other"

# --- issue and verify, Ed25519 ---
cat >"$T/ent.json" <<'EOF'
{"nodes": 10, "regions": ["eu", "us"]}
EOF
expect 0 "license issue (Ed25519, all options)" "$PACK" license issue --key "$T/ed/license.key" \
	--subject acme-corp --expires 2030-01-01 --not-before 2026-01-01 --issuer license.acme.example \
	--customer "Acme Corp" --edition enterprise --seats 25 --feature sso --feature audit \
	--grace-days 10 --audience acme-platform --entitlements "$T/ent.json" -o "$T/acme.lic"
LIC=$T/acme.lic
assert "license is one line with a final newline" test "$(wc -l <"$LIC")" -eq 1
assert "license is three base64url parts" grep -Eqx '[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+' "$LIC"
expect 0 "verify valid license (text)" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now 2027-06-01
assert "text shows state valid" grep -Eq '^state: +valid$' "$T/out"
assert "text shows the subject" grep -Eq '^subject: +acme-corp$' "$T/out"
assert "text shows the features" grep -Eq '^features: +sso, audit$' "$T/out"

expect 0 "verify valid license (--json)" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now 2027-06-01 --json
cp "$T/out" "$T/valid.json"
assert "--json prints exactly one JSON document" test "$(jq -s length "$T/valid.json")" = 1
assert "json state valid" test "$(jq -r .state "$T/valid.json")" = valid
assert "json claims: sub, aud, edition, customer" test "$(jq -r '[.claims.sub,.claims.aud,.claims.edition,.claims.customer]|join("|")' "$T/valid.json")" = "acme-corp|acme-platform|enterprise|Acme Corp"
assert "json claims: seats 25, grace_days 10" test "$(jq -c '[.claims.seats,.claims.grace_days]' "$T/valid.json")" = "[25,10]"
assert "json claims: features" test "$(jq -c .claims.features "$T/valid.json")" = '["sso","audit"]'
assert "json claims: entitlements passed through" test "$(jq -c .claims.entitlements "$T/valid.json")" = '{"nodes":10,"regions":["eu","us"]}'
assert "json claims: exp and nbf" test "$(jq -c '[.claims.nbf,.claims.exp]' "$T/valid.json")" = "[1767225600,1893456000]"
assert "json claims: jti is 128 random bits in hex" bash -c "jq -r .claims.jti '$T/valid.json' | grep -Eqx '[0-9a-f]{32}'"
assert "json key_id is the openssl-computed kid" test "$(jq -r .key_id "$T/valid.json")" = "$(kid_of "$T/ed/license.pub")"
hdr=$(cut -d. -f1 "$LIC" | b64d)
assert "header is {alg:EdDSA, typ:JWT, kid}" test "$(printf '%s' "$hdr" | jq -c .)" = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"$(kid_of "$T/ed/license.pub")\"}"

# Two licenses issued alike differ in their jti.
"$PACK" license issue --key "$T/ed/license.key" --subject acme-corp --expires 2030-01-01 -o "$T/j1.lic" >/dev/null 2>&1
"$PACK" license issue --key "$T/ed/license.key" --subject acme-corp --expires 2030-01-01 -o "$T/j2.lic" >/dev/null 2>&1
j1=$("$LOAD" license verify "$T/j1.lic" --pubkey "$T/ed/license.pub" --json | jq -r .claims.jti)
j2=$("$LOAD" license verify "$T/j2.lic" --pubkey "$T/ed/license.pub" --json | jq -r .claims.jti)
assert "each license gets its own jti" test -n "$j1" -a "$j1" != "$j2"

# --- one exit code per state ---
expect_err 0 "grace" "grace: exit 0 with a warning on stderr" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now 2030-01-05
assert "grace: days left shown" grep -Eq '^days left: +6$' "$T/out"
expect 0 "grace (--json)" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now 2030-01-05T00:00:00Z --json
assert "json grace with 6 days left" test "$(jq -c '[.state,.days_left,.ok]' "$T/out")" = '["grace",6,true]'
expect 1 "expired after the grace period" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now 2030-01-11 --json
assert "json state expired" test "$(jq -r .state "$T/out")" = expired
expect 1 "not yet valid (--now as epoch seconds)" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now 1700000000 --json
assert "json state not-yet-valid" test "$(jq -r .state "$T/out")" = not-yet-valid
"$PACK" license issue --key "$T/ed/license.key" --subject later --not-before 2029-01-01 --expires 2030-01-01 -o "$T/later.lic" >/dev/null 2>&1
expect 0 "valid 60 s before nbf (clock skew)" "$LOAD" license verify "$T/later.lic" --pubkey "$T/ed/license.pub" --now $((1861920000 - 60))
expect 1 "not valid 61 s before nbf" "$LOAD" license verify "$T/later.lic" --pubkey "$T/ed/license.pub" --now $((1861920000 - 61))
expect 0 "valid at nbf" "$LOAD" license verify "$T/later.lic" --pubkey "$T/ed/license.pub" --now 2029-01-01T00:00:00Z
expect 0 "right audience" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now 2027-06-01 --audience acme-platform
expect 1 "wrong audience" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now 2027-06-01 --audience other --json
assert "json state wrong-audience" test "$(jq -r .state "$T/out")" = wrong-audience
expect 1 "another Ed25519 key" "$LOAD" license verify "$LIC" --pubkey "$T/other/license.pub" --now 2027-06-01 --json
assert "json state bad-signature, no claims" test "$(jq -c '[.state,.claims]' "$T/out")" = '["bad-signature",null]'
expect 1 "an RSA key for an EdDSA license" "$LOAD" license verify "$LIC" --pubkey "$T/rsa/license.pub" --now 2027-06-01

# Tampered payload: seats raised, signature kept.
IFS=. read -r h p s <"$LIC"
p2=$(printf '%s' "$p" | b64d | jq -c '.seats = -1' | tr -d '\n' | b64e)
printf '%s.%s.%s\n' "$h" "$p2" "$s" >"$T/tampered.lic"
expect 1 "tampered claim" "$LOAD" license verify "$T/tampered.lic" --pubkey "$T/ed/license.pub" --now 2027-06-01 --json
assert "tampered: bad-signature" test "$(jq -r .state "$T/out")" = bad-signature
# alg none.
printf '%s.%s.\n' "$(printf '{"alg":"none","typ":"JWT"}' | b64e)" "$p" >"$T/none.lic"
expect 1 "alg none is refused" "$LOAD" license verify "$T/none.lic" --pubkey "$T/ed/license.pub" --now 2027-06-01
# Malformed forms.
printf 'not a license\n' >"$T/garbage.lic"
expect 1 "garbage" "$LOAD" license verify "$T/garbage.lic" --pubkey "$T/ed/license.pub" --json
assert "json state malformed" test "$(jq -r .state "$T/out")" = malformed
{ cat "$LIC"; echo junk; } >"$T/trailing.lic"
expect 1 "trailing garbage" "$LOAD" license verify "$T/trailing.lic" --pubkey "$T/ed/license.pub" --now 2027-06-01
tr -d '\n' <"$LIC" >"$T/nonl.lic"
expect 0 "no final newline is fine" "$LOAD" license verify "$T/nonl.lic" --pubkey "$T/ed/license.pub" --now 2027-06-01
head -c 1048576 /dev/zero | tr '\0' A >"$T/big.lic"
expect 1 "a 1 MiB file is malformed" "$LOAD" license verify "$T/big.lic" --pubkey "$T/ed/license.pub" --json
assert "big: malformed" test "$(jq -r .state "$T/out")" = malformed
# Untrusted strings reach the terminal escaped.
"$PACK" license issue --key "$T/ed/license.key" --subject "$(printf 'evil\033[2Jcorp')" --expires 2030-01-01 -o "$T/esc.lic" >/dev/null 2>&1
expect 0 "license with a control character in sub" "$LOAD" license verify "$T/esc.lic" --pubkey "$T/ed/license.pub" --now 2027-06-01
assert "control character printed escaped" bash -c "grep -q 'evil\\\\x1b\\[2Jcorp' '$T/out' && ! grep -q \$'\\033' '$T/out'"

# I/O and usage.
expect_err 3 "missing.lic" "unreadable license file: exit 3" "$LOAD" license verify "$T/missing.lic" --pubkey "$T/ed/license.pub"
expect_err 3 "nope.pub" "unreadable key: exit 3" "$LOAD" license verify "$LIC" --pubkey "$T/nope.pub"
expect 3 "a private key given as --pubkey: exit 3" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.key"
mkfifo "$T/fifo.lic" "$T/fifo.pub"
expect_err 3 "fifo.lic: not a regular file" "a FIFO as the license file (FIFO): refused, not waited on" \
	timeout 20 "$LOAD" license verify "$T/fifo.lic" --pubkey "$T/ed/license.pub"
expect_err 3 "fifo.pub: not a regular file" "a FIFO as the key (FIFO): refused, not waited on" \
	timeout 20 "$LOAD" license verify "$LIC" --pubkey "$T/fifo.pub"
expect 2 "verify without --pubkey" "$LOAD" license verify "$LIC"
expect 2 "verify without a file" "$LOAD" license verify --pubkey "$T/ed/license.pub"
expect 2 "verify with an unknown option" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --frobnicate
expect 2 "verify with a bad --now" "$LOAD" license verify "$LIC" --pubkey "$T/ed/license.pub" --now yesterday
expect 0 "verify --help" "$LOAD" license verify --help
assert "verify --help prints usage on stdout" grep -q 'usage: ferry-load license verify' "$T/out"
expect 0 "issue --help" "$PACK" license issue --help
expect 2 "issue without --subject" "$PACK" license issue --key "$T/ed/license.key" --expires +30d -o "$T/x.lic"
expect 2 "issue with a bad date" "$PACK" license issue --key "$T/ed/license.key" --subject a --expires 2030-13-45 -o "$T/x.lic"
expect 2 "issue with expiry before start" "$PACK" license issue --key "$T/ed/license.key" --subject a --expires 2026-01-01 --not-before 2027-01-01 -o "$T/x.lic"
expect 2 "issue with bad seats" "$PACK" license issue --key "$T/ed/license.key" --subject a --expires +30d --seats many -o "$T/x.lic"
expect 2 "issue with entitlements not an object" bash -c "echo '[1]' >'$T/arr.json'; '$PACK' license issue --key '$T/ed/license.key' --subject a --expires +30d --entitlements '$T/arr.json' -o '$T/x.lic'"
expect 3 "issue with a missing key" "$PACK" license issue --key "$T/none.key" --subject a --expires +30d -o "$T/x.lic"
assert "no output left by failed issues" test ! -e "$T/x.lic"
expect 0 "issue with +Nd and unlimited seats" "$PACK" license issue --key "$T/ed/license.key" --subject a --expires +30d --seats unlimited -o "$T/rel.lic"
"$LOAD" license verify "$T/rel.lic" --pubkey "$T/ed/license.pub" --json >"$T/rel.json"
now=$(date +%s)
assert "+30d is 30 days from now" test "$(jq '.claims.exp - .claims.iat' "$T/rel.json")" = 2592000 -a "$(jq ".claims.iat - $now | fabs < 60" "$T/rel.json")" = true
assert "unlimited seats is -1" test "$(jq .claims.seats "$T/rel.json")" = -1
before=$(sha "$LIC")
expect_err 3 "exists" "issue refuses to overwrite -o" "$PACK" license issue --key "$T/ed/license.key" --subject b --expires +30d -o "$LIC"
assert "existing license unchanged" test "$(sha "$LIC")" = "$before"
assert "no temp files left" test -z "$(ls "$T" | grep tmp)"
expect 0 "issue --force overwrites" "$PACK" license issue --key "$T/ed/license.key" --subject b --expires +30d -o "$T/rel.lic" --force
assert "--force wrote the new license" test "$("$LOAD" license verify "$T/rel.lic" --pubkey "$T/ed/license.pub" --json | jq -r .claims.sub)" = b

# --- RSA ---
expect 0 "license issue (RS256)" "$PACK" license issue --key "$T/rsa/license.key" --subject rsa-corp \
	--expires 2030-01-01 --audience acme-platform -o "$T/rsa.lic"
expect 0 "verify RS256 license" "$LOAD" license verify "$T/rsa.lic" --pubkey "$T/rsa/license.pub" --now 2027-06-01 --json
assert "RS256: alg and subject" test "$(jq -r '.alg + " " + .claims.sub' "$T/out")" = "RS256 rsa-corp"
expect 1 "RS256 license on the Ed25519 key" "$LOAD" license verify "$T/rsa.lic" --pubkey "$T/ed/license.pub" --now 2027-06-01

# --- openssl verifies ferry's tokens ---
ossl_verify() { # ossl_verify LIC PUB ed|rsa
	local tok; tok=$(tr -d '\n' <"$1")
	printf '%s' "${tok%.*}" >"$T/si"
	printf '%s' "${tok##*.}" | b64d >"$T/sig"
	if [ "$3" = ed ]; then
		openssl pkeyutl -verify -pubin -inkey "$2" -rawin -in "$T/si" -sigfile "$T/sig" >/dev/null 2>&1
	else
		openssl dgst -sha256 -verify "$2" -signature "$T/sig" "$T/si" >/dev/null 2>&1
	fi
}
assert "openssl pkeyutl verifies ferry's EdDSA license" ossl_verify "$LIC" "$T/ed/license.pub" ed
assert "openssl dgst verifies ferry's RS256 license" ossl_verify "$T/rsa.lic" "$T/rsa/license.pub" rsa
ossl_refuses() { ! ossl_verify "$@"; }
assert "openssl rejects the tampered license" ossl_refuses "$T/tampered.lic" "$T/ed/license.pub" ed
assert "openssl rejects ferry's license under another key" ossl_refuses "$LIC" "$T/other/license.pub" ed
assert "openssl rejects ferry's RS256 license under another key" ossl_refuses "$T/rsa.lic" "$T/ed/license.pub" rsa

# --- ferry verifies tokens made only with openssl and the shell ---
ossl_token() { # ossl_token KEY PUB ALG PAYLOAD > token
	local h p
	h=$(printf '{"alg":"%s","typ":"JWT","kid":"%s"}' "$3" "$(kid_of "$2")" | b64e)
	p=$(printf '%s' "$4" | b64e)
	printf '%s.%s' "$h" "$p" >"$T/si"
	if [ "$3" = EdDSA ]; then
		openssl pkeyutl -sign -inkey "$1" -rawin -in "$T/si" -out "$T/sig"
	else
		openssl dgst -sha256 -sign "$1" -out "$T/sig" "$T/si"
	fi
	printf '%s.%s.%s\n' "$h" "$p" "$(b64e <"$T/sig")"
}
payload='{"iss":"shell","sub":"shell-corp","aud":"acme-platform","iat":1790000000,"nbf":1790000000,"exp":1900000000,"jti":"00112233445566778899aabbccddeeff","edition":"team","seats":3,"features":["x"],"grace_days":5}'
ossl_token "$T/ed/license.key" "$T/ed/license.pub" EdDSA "$payload" >"$T/shell-ed.lic"
expect 0 "openssl-made EdDSA token accepted" "$LOAD" license verify "$T/shell-ed.lic" --pubkey "$T/ed/license.pub" --audience acme-platform --now 2027-06-01 --json
assert "openssl-made EdDSA token: claims read" test "$(jq -r '.state + " " + .claims.sub + " " + .claims.edition' "$T/out")" = "valid shell-corp team"
ossl_token "$T/rsa/license.key" "$T/rsa/license.pub" RS256 "$payload" >"$T/shell-rsa.lic"
expect 0 "openssl-made RS256 token accepted" "$LOAD" license verify "$T/shell-rsa.lic" --pubkey "$T/rsa/license.pub" --now 2027-06-01
ossl_token "$T/other/license.key" "$T/ed/license.pub" EdDSA "$payload" >"$T/shell-forged.lic"
expect 1 "openssl-made token signed by the wrong key refused" "$LOAD" license verify "$T/shell-forged.lic" --pubkey "$T/ed/license.pub" --now 2027-06-01
# HS256 with the public key PEM as the HMAC secret (alg confusion), made with openssl.
h=$(printf '{"alg":"HS256","typ":"JWT","kid":"%s"}' "$(kid_of "$T/rsa/license.pub")" | b64e)
p=$(printf '%s' "$payload" | b64e)
mac=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$T/rsa/license.pub")" -binary | b64e)
printf '%s.%s.%s\n' "$h" "$p" "$mac" >"$T/hs256.lic"
expect 1 "HS256 keyed with the public key refused" "$LOAD" license verify "$T/hs256.lic" --pubkey "$T/rsa/license.pub" --now 2027-06-01 --json
assert "HS256: bad-signature" test "$(jq -r .state "$T/out")" = bad-signature

# --- a JWT library from the npm registry (optional second implementation) ---
if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 &&
	timeout 180 npm install --prefix "$T/npm" --no-audit --no-fund --silent jose@5 >"$T/npm.log" 2>&1; then
	cat >"$T/jose.js" <<'EOF'
const jose = require(process.env.JOSE);
const fs = require('fs');
(async () => {
	const [mode, alg, keyfile, file] = process.argv.slice(2);
	const pem = fs.readFileSync(keyfile, 'utf8');
	if (mode === 'verify') {
		const key = await jose.importSPKI(pem, alg);
		const tok = fs.readFileSync(file, 'utf8').trim();
		const { payload, protectedHeader } = await jose.jwtVerify(tok, key,
			{ algorithms: [alg], currentDate: new Date('2027-06-01T00:00:00Z') });
		console.log(protectedHeader.alg + ' ' + payload.sub);
	} else {
		const key = await jose.importPKCS8(pem, alg);
		const tok = await new jose.SignJWT({ sub: 'jose-corp', aud: 'acme-platform', edition: 'team', seats: 7 })
			.setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt(1790000000).setNotBefore(1790000000)
			.setExpirationTime(1900000000).setJti('ffeeddccbbaa99887766554433221100').sign(key);
		fs.writeFileSync(file, tok + '\n');
	}
})().catch((e) => { console.error(String(e)); process.exit(1); });
EOF
	export JOSE=$T/npm/node_modules/jose
	expect 0 "jose verifies ferry's EdDSA license" node "$T/jose.js" verify EdDSA "$T/ed/license.pub" "$LIC"
	assert "jose reads the subject" grep -qx 'EdDSA acme-corp' "$T/out"
	expect 0 "jose verifies ferry's RS256 license" node "$T/jose.js" verify RS256 "$T/rsa/license.pub" "$T/rsa.lic"
	expect 1 "jose rejects the tampered license" node "$T/jose.js" verify EdDSA "$T/ed/license.pub" "$T/tampered.lic"
	expect 0 "jose signs an EdDSA token" node "$T/jose.js" sign EdDSA "$T/ed/license.key" "$T/jose-ed.lic"
	expect 0 "ferry accepts jose's EdDSA token" "$LOAD" license verify "$T/jose-ed.lic" --pubkey "$T/ed/license.pub" --audience acme-platform --now 2027-06-01
	expect 0 "jose signs an RS256 token" node "$T/jose.js" sign RS256 "$T/rsa/license.key" "$T/jose-rsa.lic"
	expect 0 "ferry accepts jose's RS256 token" "$LOAD" license verify "$T/jose-rsa.lic" --pubkey "$T/rsa/license.pub" --now 2027-06-01 --json
	assert "jose token claims read by ferry" test "$(jq -r '.claims.sub + " " + (.claims.seats|tostring)' "$T/out")" = "jose-corp 7"
	expect 1 "ferry refuses jose's RS256 token on the Ed25519 key" "$LOAD" license verify "$T/jose-rsa.lic" --pubkey "$T/ed/license.pub" --now 2027-06-01
else
	skip "jose (npm) cross-check: npm or the npm registry is not available"
fi
