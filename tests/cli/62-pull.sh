#!/usr/bin/env bash
# ferry-pack build pulling images from registries (no from:, or from: registry://...):
# a real docker-registry upstream (plain; TLS with a throw-away CA and htpasswd; behind
# a Bearer token front of our own), filled with skopeo; skopeo is the independent
# reader of the digests. Pinning, multi-platform indexes kept whole, credential helpers,
# and faults through tests/tools/faultproxy.py (a cut blob resumes, 429 is waited out,
# wrong bytes fail the build and leave no output).
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "image fixtures: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
PROXY=$FERRY_ROOT/tests/tools/faultproxy.py
export HOME=$T/nohome

# upstream_digest ADDR REPO:TAG [skopeo options]: what skopeo reads there.
upstream_digest() { echo "sha256:$(skopeo inspect --tls-verify=false --raw "${@:3}" "docker://$1/$2" | sha256sum | cut -d' ' -f1)"; }
yaml_digest() { tar -xOf "$1" bundle.yaml | awk -v r="- ref: \"$2\"" '$0 == r {getline; print $2}' | tr -d '"'; }
fill() { # fill ADDR [skopeo dest options]: the upstream's images
	skopeo copy -q --dest-tls-verify=false "${@:2}" "docker-archive:$FX/app-a.docker.tar" "docker://$1/ferry/app-a:1" &&
	skopeo copy -q --dest-tls-verify=false "${@:2}" "docker-archive:$FX/app-b.docker.tar" "docker://$1/ferry/app-b:1" &&
	skopeo copy -q --all --dest-tls-verify=false "${@:2}" "oci-archive:$FX/multi.oci.tar" "docker://$1/ferry/multi:1"
}
spec() { # spec FILE IMAGE-LINE...
	local f=$1; shift
	printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: pull, version: 1.0.0, vendor: Ferry Tests}\nimages:\n' >"$f"
	printf '  - %s\n' "$@" >>"$f"
}

# ---------------------------------------------------------------- plain upstream
start_registry || { skip "registry: $SVC_WHY"; exit 0; }
U=$REG_ADDR
assert "skopeo fills the upstream" fill "$U"
spec plain.yaml "{ref: $U/ferry/app-a:1}" "{ref: ferry.test/multi:1, from: \"registry://$U/ferry/multi:1\"}" \
	"{ref: ferry.test/app-b:1, from: \"registry://$U/ferry/app-b:1\"}"
expect 0 "pack three images pulled by ref and from a mirror" "$PACK" build plain.yaml -o plain.ferry --plain-http "$U" --jobs 4
for pair in "$U/ferry/app-a:1=ferry/app-a:1" "ferry.test/multi:1=ferry/multi:1" "ferry.test/app-b:1=ferry/app-b:1"; do
	ref=${pair%%=*} up=${pair#*=}
	assert "bundle.yaml digest of $ref == skopeo inspect of the upstream" \
		test "$(yaml_digest plain.ferry "$ref")" = "$(upstream_digest "$U" "$up")"
done
assert "the multi-platform index is kept whole (the fixture's own digest)" test "$(yaml_digest plain.ferry ferry.test/multi:1)" = "$MULTI_DIGEST"
assert "its arm64 manifest is in the bundle" sh -c "tar -tf plain.ferry | grep -q 'images/blobs/sha256/${MULTI_ARM64_DIGEST#sha256:}'"
expect 0 "the pulled bundle verifies" "$LOAD" verify plain.ferry --keyring "$KEYRING"
assert "stock tools verify it too" sh -c "mkdir -p x && tar -xf plain.ferry -C x && cd x && sha256sum -c --strict --quiet SHA256SUMS"
assert "...gpg too (the signature padded to the room kept for the head)" gpg -q --verify x/SHA256SUMS.asc x/SHA256SUMS
expect 0 "the same build staged (--compress zstd: no streaming)" "$PACK" build plain.yaml -o plain.zst.ferry --plain-http "$U" --compress zstd -q
assert "streamed and staged builds hold the same entries" \
	bash -c "diff <(tar -tf plain.ferry | sort) <(zstd -dcq plain.zst.ferry | tar -tf - | sort)"
assert "...the streamed one its SBOMs last (made from the layers where they landed)" \
	sh -c "tar -tf plain.ferry | tail -1 | grep -q '^sboms/'"
assert "...and the same SBOM packages" bash -c "mkdir -p z && zstd -dcq plain.zst.ferry | tar -xf - -C z && \
	for f in x/sboms/*.spdx.json; do diff <(jq -S .packages \$f) <(jq -S .packages z/\${f#x/}) || exit 1; done"
assert "no staging directory left beside the output" sh -c "! ls -d plain.ferry.images.* 2>/dev/null"
# The three images' manifests, configs and signature look-ups are read at once (--jobs
# > 1), then handed to the stage in the spec's order: the bundle does not depend on
# which registry answered first, nor on the number of jobs.
expect 0 "read at once (--jobs 4), unsigned, SOURCE_DATE_EPOCH" env SOURCE_DATE_EPOCH=1700000000 \
	"$PACK" build plain.yaml -o par.ferry --plain-http "$U" --jobs 4 --no-sign -q
expect 0 "read one after another (--jobs 1), the same" env SOURCE_DATE_EPOCH=1700000000 \
	"$PACK" build plain.yaml -o ser.ferry --plain-http "$U" --jobs 1 --no-sign -q
assert "...the same bundle, byte for byte" cmp par.ferry ser.ferry
spec missing.yaml "{ref: ferry.test/a:1, from: \"registry://$U/ferry/app-a:1\"}" \
	"{ref: ferry.test/gone1:1, from: \"registry://$U/ferry/gone1:1\"}" "{ref: ferry.test/gone2:1, from: \"registry://$U/ferry/gone2:1\"}"
for i in 1 2 3; do
	expect_err 4 "registry://$U/ferry/gone1:1: manifest 1: HTTP 404" \
		"two images missing, read at once: the first in the spec's order is named (round $i)" \
		"$PACK" build missing.yaml -o missing.ferry --plain-http "$U" --jobs 4
done
assert "...and no output, no staging left" sh -c "! ls missing.ferry* 2>/dev/null"

start_registry || { fail "second registry: $SVC_WHY"; exit 1; }
R2=$REG_ADDR
expect 0 "load the pulled bundle into a second registry" "$LOAD" load plain.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http
assert "skopeo: the second registry has the upstream's index" test "$(upstream_digest "$R2" multi:1)" = "$MULTI_DIGEST"
assert "skopeo copies the loaded image out" skopeo copy -q --src-tls-verify=false "docker://$R2/app-b:1" "dir:$T/copy-b"

# ---------------------------------------------------------------- platforms: a subset of an index
cat >subset.yaml <<EOF
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: subset, version: 1.0.0, vendor: Ferry Tests}
platforms: [linux/amd64]
images:
  - {ref: ferry.test/multi:1, from: "registry://$U/ferry/multi:1"}
  - {ref: ferry.test/multi-arm:1, from: "registry://$U/ferry/multi:1", platforms: [linux/arm64]}
  - {ref: ferry.test/app-b:1, from: "registry://$U/ferry/app-b:1"}
EOF
expect 0 "platforms: keeps a subset of the index" "$PACK" build subset.yaml -o subset.ferry --plain-http "$U"
assert "a line says what was kept and what was not" grep -q "platforms: kept linux/amd64 of linux/amd64, linux/arm64/v8: a new index sha256:" "$T/err"
NEWIDX=$(yaml_digest subset.ferry ferry.test/multi:1)
assert "the new index is not the upstream's" test "$NEWIDX" != "$MULTI_DIGEST"
assert "bundle.yaml records the upstream index of both" test "$(tar -xOf subset.ferry bundle.yaml | grep -c "upstreamIndex: \"$MULTI_DIGEST\"")" = 2
assert "the new index lists amd64 only" sh -c "tar -xOf subset.ferry images/blobs/sha256/${NEWIDX#sha256:} | jq -e '[.manifests[].platform.architecture] == [\"amd64\"]'"
ARMIDX=$(yaml_digest subset.ferry ferry.test/multi-arm:1)
assert "linux/arm64 matches linux/arm64/v8 (per-image platforms)" sh -c "tar -xOf subset.ferry images/blobs/sha256/${ARMIDX#sha256:} | jq -e '.manifests | length == 1 and .[0].digest == \"$MULTI_ARM64_DIGEST\"'"
expect 0 "inspect shows both digests" "$LOAD" inspect subset.ferry --keyring "$KEYRING"
assert "inspect: the upstream index line" grep -q "upstream index $MULTI_DIGEST" "$T/out"
start_registry || { fail "third registry: $SVC_WHY"; exit 1; }
expect 0 "the subset loads" "$LOAD" load subset.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http
assert "the registry has the new index under the tag" test "$(upstream_digest "$REG_ADDR" multi:1)" = "$NEWIDX"
spec missing-platform.yaml "{ref: ferry.test/multi:1, from: \"registry://$U/ferry/multi:1\", platforms: [linux/amd64, linux/s390x]}"
expect_err 2 "platform linux/s390x is not in the index $MULTI_DIGEST; it has: linux/amd64, linux/arm64/v8" \
	"a platform the index lacks: exit 2 listing those it has" "$PACK" build missing-platform.yaml -o mp.ferry --plain-http "$U"
assert "...and no output" test ! -e mp.ferry
spec badplat.yaml "{ref: ferry.test/multi:1, from: \"registry://$U/ferry/multi:1\", platforms: [Linux]}"
expect_err 2 "platform 'Linux': expected OS/ARCH" "a malformed platform is a spec error" "$PACK" build badplat.yaml -o x.ferry
spec localplat.yaml "{ref: ferry.test/multi:1, from: $FX/multi.oci.tar, platforms: [linux/amd64]}"
expect_err 2 "platforms: only for images pulled from a registry" "platforms: on a file input is refused" \
	"$PACK" build localplat.yaml -o x.ferry --allow-outside-paths

# ---------------------------------------------------------------- pinning and refusals
A_DIGEST=$(upstream_digest "$U" ferry/app-a:1)
spec pinned.yaml "{ref: \"$U/ferry/app-a:1@$A_DIGEST\"}"
expect 0 "a ref pinned by digest with the upstream's digest" "$PACK" build pinned.yaml -o pinned.ferry --plain-http "$U"
spec digest-only.yaml "{ref: ferry.test/a:1, from: \"registry://$U/ferry/app-a@$A_DIGEST\"}"
expect 0 "from: registry://...@DIGEST pulls by digest" "$PACK" build digest-only.yaml -o digest-only.ferry --plain-http "$U"
assert "...and records that digest" test "$(yaml_digest digest-only.ferry ferry.test/a:1)" = "$A_DIGEST"
WRONG=sha256:$(printf 'other' | sha256sum | cut -d' ' -f1)
spec wrongpin.yaml "{ref: \"$U/ferry/app-a:1@$WRONG\"}"
expect_err 1 "resolved to $A_DIGEST, not the pinned $WRONG" "a tag that moved away from the pinned digest: exit 1 naming both" \
	"$PACK" build wrongpin.yaml -o wrongpin.ferry --plain-http "$U"
assert "...and no output" test ! -e wrongpin.ferry
spec missing.yaml "{ref: $U/ferry/nothing:1}"
expect_err 4 "manifest 1: HTTP 404 \(not found\)" "an image the registry lacks: exit 4" "$PACK" build missing.yaml -o missing.ferry --plain-http "$U"
spec short.yaml "{ref: ferry.test/x:1, from: \"registry://mirror/ferry/x:1\"}"
expect_err 2 "name the registry as HOST\[:PORT\]/REPO" "from: registry:// without a registry host: usage error" \
	"$PACK" build short.yaml -o short.ferry
expect_err 2 "--plain-http: 'a b': expected HOST\[:PORT\]" "--plain-http checks its value" \
	"$PACK" build plain.yaml -o x.ferry --plain-http 'a b'
expect_err 4 "registry://$U.*(SSL|TLS|ssl|tls|https)" "an upstream not named --plain-http is spoken to with TLS (and fails)" \
	"$PACK" build pinned.yaml -o tls.ferry

# ---------------------------------------------------------------- faults (fault proxy in front of U)
nproxy=0
start_proxy() {
	local n r args=()
	nproxy=$((nproxy + 1))
	PROXY_LOG=$T/proxy$nproxy.log
	for r in "$@"; do args+=(--rule "$r"); done
	python3 "$PROXY" --upstream "$U" --port-file "$T/proxy$nproxy.port" --log "$PROXY_LOG" "${args[@]}" 2>"$T/proxy$nproxy.err" &
	PROXY_PID=$!
	at_exit "kill $PROXY_PID 2>/dev/null; wait $PROXY_PID 2>/dev/null"
	for ((n = 0; n < 100; n++)); do [ -s "$T/proxy$nproxy.port" ] && break; sleep 0.05; done
	[ -s "$T/proxy$nproxy.port" ] || { fail "fault proxy did not start: $(cat "$T/proxy$nproxy.err")"; return 1; }
	P=127.0.0.1:$(cat "$T/proxy$nproxy.port")
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
BIG=$(skopeo inspect --tls-verify=false --raw "docker://$U/ferry/app-a:1" | jq -r '[.layers[] | {size, digest}] | max_by(.size) | .digest')
BLOBRE="GET /v2/ferry/app-a/blobs/$BIG"

start_proxy "$BLOBRE:truncate:1" || exit 1
spec viaproxy.yaml "{ref: ferry.test/app-a:1, from: \"registry://$P/ferry/app-a:1\"}"
expect 0 "a blob cut mid-transfer is resumed" "$PACK" build viaproxy.yaml -o cut.ferry --plain-http "$P" --jobs 1
assert "the cut happened" grep -q "$BLOBRE.*fault=truncate" "$PROXY_LOG"
assert "the blob was asked for again" test "$(grep -c "^[0-9.]* $BLOBRE " "$PROXY_LOG")" -ge 2
assert "the resumed image has the upstream's digest" test "$(yaml_digest cut.ferry ferry.test/app-a:1)" = "$A_DIGEST"
stop_proxy

start_proxy "$BLOBRE:429:1:1" || exit 1
spec viaproxy.yaml "{ref: ferry.test/app-a:1, from: \"registry://$P/ferry/app-a:1\"}"
expect 0 "a 429 is waited out (Retry-After)" "$PACK" build viaproxy.yaml -o 429.ferry --plain-http "$P"
assert "the 429 was sent" grep -q "fault=429" "$PROXY_LOG"
assert "...and the blob fetched after it" grep -q "^[0-9.]* $BLOBRE -> 200" "$PROXY_LOG"
stop_proxy

start_proxy "$BLOBRE:corrupt:*" || exit 1
spec viaproxy.yaml "{ref: ferry.test/app-a:1, from: \"registry://$P/ferry/app-a:1\"}"
expect_err 1 "registry://$P/ferry/app-a:1: blob $BIG: the registry sent bytes with digest sha256:" \
	"a registry serving wrong bytes: exit 1 naming image and blob" "$PACK" build viaproxy.yaml -o bad.ferry --plain-http "$P"
assert "...and no output file, no staging left" sh -c "! ls bad.ferry* 2>/dev/null"
stop_proxy

# Every tag answered 2 s late: the three images are read at once even with --jobs 2
# (up to 8 images at once, whatever --jobs), so their answers come within a second
# of each other; one after another, two at a time, the third would come 2 s later.
start_proxy "GET /manifests/1\$:slow:*:2" || exit 1
spec late.yaml "{ref: ferry.test/app-a:1, from: \"registry://$P/ferry/app-a:1\"}" \
	"{ref: ferry.test/multi:1, from: \"registry://$P/ferry/multi:1\"}" "{ref: ferry.test/app-b:1, from: \"registry://$P/ferry/app-b:1\"}"
expect 0 "three images whose tags answer 2 s late, --jobs 2" "$PACK" build late.yaml -o late.ferry --plain-http "$P" --jobs 2 -q
assert "...the three tags were asked at once (answered within 1 s)" awk '/fault=slow/ {n++; t = $1 + 0;
	if (n == 1 || t < lo) lo = t; if (n == 1 || t > hi) hi = t} END {exit !(n == 3 && hi - lo < 1)}' "$PROXY_LOG"
stop_proxy

# ---------------------------------------------------------------- TLS (throw-away CA) + htpasswd, credential helper
start_registry --tls --htpasswd ferry:s3cret-pw || { fail "TLS registry: $SVC_WHY"; exit 1; }
S=$REG_ADDR
assert "skopeo fills the TLS upstream" fill "$S" --dest-creds ferry:s3cret-pw
mkdir -p helpers home/.docker
cat >helpers/docker-credential-test <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 1
server=\$(cat)
printf '%s\n' "\$server" >>"$T/helper.log"
if [ "\$server" = "$S" ]; then printf '{"ServerURL":"%s","Username":"ferry","Secret":"s3cret-pw"}' "\$server"
else echo "credentials not found in native keychain"; exit 1; fi
EOF
chmod +x helpers/docker-credential-test
printf '{"credHelpers":{"%s":"test"}}\n' "$S" >home/.docker/config.json
spec tls.yaml "{ref: $S/ferry/app-a:1}" "{ref: ferry.test/multi:1, from: \"registry://$S/ferry/multi:1\"}"
expect_err 4 "authentication required|HTTP 401|unauthorized" "TLS upstream without credentials: exit 4" \
	"$PACK" build tls.yaml -o tls.ferry --cacert "$REG_CACERT"
expect_err 4 "registry://$S.*(certificate|SSL)" "TLS upstream with an unknown CA: exit 4" \
	env HOME="$T/home" PATH="$T/helpers:$PATH" "$PACK" build tls.yaml -o tls.ferry
expect 0 "TLS upstream with --cacert and docker-credential-test on PATH" \
	env HOME="$T/home" PATH="$T/helpers:$PATH" "$PACK" build tls.yaml -o tls.ferry --cacert "$REG_CACERT"
assert "the helper was asked for HOST:PORT" grep -qx "$S" "$T/helper.log"
assert "the password is never printed" sh -c "! grep -q 's3cret' '$T/err'"
assert "TLS: bundle.yaml digest == skopeo inspect" test "$(yaml_digest tls.ferry "$S/ferry/app-a:1")" = \
	"$(upstream_digest "$S" ferry/app-a:1 --creds ferry:s3cret-pw)"
assert "TLS: the index kept whole" test "$(yaml_digest tls.ferry ferry.test/multi:1)" = "$MULTI_DIGEST"

# ---------------------------------------------------------------- Bearer tokens (a token front of our own)
cat >front.py <<'PY'
import base64, http.client, http.server, json, sys
up_host, up_port = sys.argv[1].split(":")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        sys.stderr.write("%s %s\n" % (self.command, self.path)); sys.stderr.flush()
    def reply(self, code, hdrs=(), body=b""):
        self.send_response(code)
        for k, v in hdrs: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body))); self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_GET(self):
        me = "127.0.0.1:%d" % self.server.server_address[1]
        if self.path.startswith("/token"):
            if self.headers.get("Authorization") == "Basic " + base64.b64encode(b"ferry:tok-pw").decode():
                return self.reply(200, [("Content-Type", "application/json")], json.dumps({"token": "tok-123"}).encode())
            return self.reply(401)
        if self.headers.get("Authorization") != "Bearer tok-123":
            ch = 'Bearer realm="http://%s/token",service="ferry-front",scope="repository:ferry/app-b:pull"' % me
            return self.reply(401, [("WWW-Authenticate", ch)])
        c = http.client.HTTPConnection(up_host, int(up_port))
        c.request("GET", self.path, headers={k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host")})
        r = c.getresponse(); data = r.read()
        self.reply(r.status, [(k, v) for k, v in r.getheaders() if k.lower() not in ("content-length", "connection", "transfer-encoding")], data)
    do_HEAD = do_GET
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H)
print("ready", flush=True)
s.serve_forever()
PY
fport=$(free_port)
python3 front.py "$U" "$fport" >front.out 2>front.log &
fpid=$!
at_exit "kill $fpid 2>/dev/null"
for ((i = 0; i < 50; i++)); do grep -q ready front.out && break; sleep 0.1; done
F=127.0.0.1:$fport
spec token.yaml "{ref: ferry.test/app-b:1, from: \"registry://$F/ferry/app-b:1\"}"
expect_err 4 "token server refused|HTTP 401|authentication" "Bearer upstream without credentials: exit 4" \
	"$PACK" build token.yaml -o token.ferry --plain-http "$F"
mkdir -p tokhome/.docker
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$F" "$(printf 'ferry:tok-pw' | base64)" >tokhome/.docker/config.json
expect 0 "Bearer upstream with ~/.docker/config.json auths" env HOME="$T/tokhome" "$PACK" build token.yaml -o token.ferry --plain-http "$F"
assert "the token endpoint was used" grep -q "^GET /token" front.log
assert "Bearer: bundle.yaml digest == skopeo inspect" test "$(yaml_digest token.ferry ferry.test/app-b:1)" = "$(upstream_digest "$U" ferry/app-b:1)"
# ---------------------------------------------------------------- --lock / --locked
spec lockme.yaml "{ref: ferry.test/app-a:1, from: \"registry://$U/ferry/app-a:1\"}" \
	"{ref: ferry.test/multi:1, from: \"registry://$U/ferry/multi:1\", platforms: [linux/amd64]}" \
	"{ref: ferry.test/local:1, from: $FX/app-a.oci.tar}"
expect 0 "--lock writes the resolved digests" "$PACK" build lockme.yaml -o lock1.ferry --plain-http "$U" --lock images.lock --allow-outside-paths
assert "the lock names the upstream digests (the index, not the cut)" sh -c \
	"grep -qx 'ferry.test/app-a:1 $A_DIGEST' images.lock && grep -qx 'ferry.test/multi:1 $MULTI_DIGEST' images.lock && grep -qx 'ferry.test/local:1 $APP_A_OCI_DIGEST' images.lock"
# the tag moves upstream: --locked still pulls what the lock names
skopeo copy -q --dest-tls-verify=false "docker-archive:$FX/app-b.docker.tar" "docker://$U/ferry/app-a:1"
expect 0 "--locked after the tag moved" "$PACK" build lockme.yaml -o lock2.ferry --plain-http "$U" --locked images.lock --allow-outside-paths
assert "--locked: the same image digests" test "$(tar -xOf lock1.ferry bundle.yaml | grep digest:)" = "$(tar -xOf lock2.ferry bundle.yaml | grep digest:)"
expect 0 "without --locked the moved tag is taken" "$PACK" build lockme.yaml -o lock3.ferry --plain-http "$U" --allow-outside-paths
assert "...and it differs" test "$(yaml_digest lock3.ferry ferry.test/app-a:1)" != "$A_DIGEST"
grep -v local images.lock >partial.lock
expect_err 2 "image ferry.test/local:1 is not in partial.lock" "--locked: an image the lock lacks is refused" \
	"$PACK" build lockme.yaml -o x.ferry --plain-http "$U" --locked partial.lock --allow-outside-paths
{ cat images.lock; echo "ferry.test/extra:1 $A_DIGEST"; } >extra.lock
expect_err 2 "extra.lock:5: ferry.test/extra:1 is not an image of the spec" "--locked: a lock line the spec lacks is refused" \
	"$PACK" build lockme.yaml -o x.ferry --plain-http "$U" --locked extra.lock --allow-outside-paths
sed "s|^ferry.test/local:1 .*|ferry.test/local:1 $WRONG|" images.lock >wrong.lock
expect_err 1 "the input's digest is $APP_A_OCI_DIGEST, the lock file says $WRONG" "--locked: a file input with another digest fails" \
	"$PACK" build lockme.yaml -o x.ferry --plain-http "$U" --locked wrong.lock --allow-outside-paths
printf 'ferry.test/app-a:1 sha256:xyz\n' >bad.lock
expect_err 2 "bad.lock:1: expected REF sha256:HEX" "--locked: a malformed line" \
	"$PACK" build lockme.yaml -o x.ferry --plain-http "$U" --locked bad.lock --allow-outside-paths
assert "no output from the refused builds" test ! -e x.ferry

# ---------------------------------------------------------------- dedup across sources
# app-a from the registry, app-b (same base and middle layers) from docker save: the
# docker save layers with the registry layers' diff_ids reuse those, not compressed again.
start_registry || { fail "dedup registry: $SVC_WHY"; exit 1; }
D=$REG_ADDR
skopeo copy -q --dest-tls-verify=false "docker-archive:$FX/app-a.docker.tar" "docker://$D/ferry/app-a:1"
spec dedup.yaml "{ref: ferry.test/app-b:1, from: $FX/app-b.docker.tar}" "{ref: ferry.test/app-a:1, from: \"registry://$D/ferry/app-a:1\"}"
expect 0 "registry base + docker save app" "$PACK" build dedup.yaml -o dedup.ferry --plain-http "$D" --allow-outside-paths
mkdir -p dd && tar -xf dedup.ferry -C dd
layers_of() { jq -r '.layers[].digest' "dd/images/blobs/sha256/$(yaml_digest dedup.ferry "$1" | cut -d: -f2)"; }
assert "the shared base and middle layers are the registry's blobs" test "$(layers_of ferry.test/app-b:1 | head -2)" = "$(layers_of ferry.test/app-a:1 | head -2)"
assert "4 layer blobs in all (3 of app-a, 1 of app-b's own)" test "$( (layers_of ferry.test/app-a:1; layers_of ferry.test/app-b:1) | sort -u | wc -l)" = 4
expect 0 "the deduplicated bundle verifies" "$LOAD" verify dedup.ferry --keyring "$KEYRING"
expect 0 "and loads into an OCI directory" "$LOAD" load dedup.ferry --keyring "$KEYRING" --to "oci:$T/dd-oci"
assert "skopeo reads app-b from it (diff_ids match its layers)" skopeo copy -q "oci:$T/dd-oci:ferry.test/app-b:1" "docker-archive:$T/dd-b.tar:ferry.test/app-b:1"

# A registry whose config lies: it names app-b's own layer's diff_id for app-a's third
# layer. That layer is not reused for app-b (it does not decompress to that diff_id).
skopeo copy -q "docker-archive:$FX/app-a.docker.tar" "dir:$T/liar"
cfg=$(jq -r .config.digest liar/manifest.json | cut -d: -f2)
jq -c --arg d "${APP_B_LAYERS##* }" '.rootfs.diff_ids[2] = $d' "liar/$cfg" >liar/newcfg
new=$(sha256sum liar/newcfg | cut -d' ' -f1)
mv liar/newcfg "liar/$new" && rm "liar/$cfg"
jq -c --arg d "sha256:$new" --argjson s "$(stat -c %s "liar/$new")" '.config.digest = $d | .config.size = $s' liar/manifest.json >liar/m.json
mv liar/m.json liar/manifest.json
assert "skopeo pushes the lying image" skopeo copy -q --dest-tls-verify=false "dir:$T/liar" "docker://$D/ferry/liar:1"
spec liar.yaml "{ref: ferry.test/app-b:1, from: $FX/app-b.docker.tar}" "{ref: ferry.test/liar:1, from: \"registry://$D/ferry/liar:1\"}"
expect_err 1 "image ferry.test/liar:1: layer sha256:[0-9a-f]{64} decompresses to sha256:[0-9a-f]{64}, not to the config's diff_id" \
	"a registry config naming a wrong diff_id: refused by the SBOM's pass over the layers" "$PACK" build liar.yaml -o liar.ferry --plain-http "$D" --allow-outside-paths
assert "... and no bundle is written" test ! -e liar.ferry
# without SBOMs the pulled layers are not read: the reuse rule alone keeps app-b whole
expect 0 "a registry config naming a wrong diff_id, --no-sbom" "$PACK" build liar.yaml -o liar.ferry --plain-http "$D" --allow-outside-paths --no-sbom
assert "the lying layer is named and not reused" grep -q "does not decompress to the diff_id its config names: not reused" "$T/err"
rm -rf dd && mkdir -p dd && tar -xf liar.ferry -C dd
layers_in() { jq -r '.layers[].digest' "dd/images/blobs/sha256/$(yaml_digest liar.ferry "$1" | cut -d: -f2)"; }
assert "app-b's own layer is its own, not the liar's" test "$(layers_in ferry.test/app-b:1 | sed -n 3p)" != "$(layers_in ferry.test/liar:1 | sed -n 3p)"
assert "the honest shared layers are still reused" test "$(layers_in ferry.test/app-b:1 | head -2)" = "$(layers_in ferry.test/liar:1 | head -2)"

# ---------------------------------------------------------------- a real base: debootstrap Debian 12
if need_fixtures debian; then
	skopeo copy -q --dest-tls-verify=false "docker-archive:$FX_DEBIAN/debian.docker.tar" "docker://$U/corp/debian:12"
	spec debian.yaml "{ref: $U/corp/debian:12}"
	expect 0 "pack the debootstrap Debian image by ref" "$PACK" build debian.yaml -o debian.ferry --plain-http "$U" --jobs 4
	assert "Debian: bundle.yaml digest == skopeo inspect" test "$(yaml_digest debian.ferry "$U/corp/debian:12")" = "$(upstream_digest "$U" corp/debian:12)"
	expect 0 "Debian: loads into an OCI directory" "$LOAD" load debian.ferry --keyring "$KEYRING" --to "oci:$T/deb-oci"
	assert "Debian: skopeo reads its config from there (the dpkg database's image)" sh -c \
		"skopeo inspect --config 'oci:$T/deb-oci:$U/corp/debian:12' | jq -e '.rootfs.diff_ids | length >= 1'"
else
	skip "debootstrap Debian fixture: $SVC_WHY"
fi
