#!/usr/bin/env bash
# ferry-load load into real targets: a Docker Distribution registry on loopback (plain,
# htpasswd, TLS) and an OCI layout directory, with skopeo (and docker, when a private
# daemon can run) as the independent readers. Tamper, interruption and unreachable
# cases as well as the happy path.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "image fixtures: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
TARX="python3 $FERRY_ROOT/tests/tools/tarx.py"

cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: reg, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: $FX/app-a.docker.tar}
  - {ref: $APP_B_REF, from: $FX/app-b.docker.tar}
  - {ref: ferry.test/oci-a:1, from: $FX/app-a.oci.tar}
  - {ref: $MULTI_REF, from: $FX/multi.oci.tar}
EOS
expect 0 "pack four images" "$PACK" build spec.yaml -o imgs.ferry --allow-outside-paths || exit 1
"$LOAD" inspect imgs.ferry --keyring "$KEYRING" --json >inspect.json
digest_of() { jq -r --arg r "$1" '.images[] | select(.ref == $r) | .digest' inspect.json; }
# The repository an image lands in: the reference without its host and tag.
repo_of() { local p=${1#*/}; echo "${p%:*}"; }
tag_of() { echo "${1##*:}"; }
# raw_digest ADDR REF: the digest of the manifest (or index) skopeo reads there.
raw_digest() {
	echo "sha256:$(skopeo inspect --tls-verify=false --raw "docker://$1/$(repo_of "$2"):$(tag_of "$2")" 2>/dev/null | sha256sum | cut -d' ' -f1)"
}
# mstatus ADDR REF: HTTP status of a manifest HEAD (curl, independent of ferry).
mstatus() {
	curl -s -o /dev/null -w '%{http_code}' -I "${@:3}" \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
		"http://$1/v2/$(repo_of "$2")/manifests/$(tag_of "$2")"
}
summary() { grep -E 'registry://.*images loaded' "$T/err" | tail -1; }

# ---------------------------------------------------------------- plain registry
start_registry || { skip "registry: $SVC_WHY"; exit 0; }
R1=$REG_ADDR
expect 0 "load four images into a registry" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http
assert "summary: 4 images loaded, 0 failed" grep -q 'registry://.*: 4 images loaded, 0 failed' "$T/err"
for ref in "$APP_A_REF" "$APP_B_REF" ferry.test/oci-a:1 "$MULTI_REF"; do
	want=$(digest_of "$ref")
	got=$(raw_digest "$R1" "$ref")
	assert "skopeo: $ref has the bundle's digest in the registry" test "$got" = "$want"
done
assert "oci-archive image keeps the vendor's digest" test "$(raw_digest "$R1" ferry.test/oci-a:1)" = "$APP_A_OCI_DIGEST"
assert "multi-platform index pushed whole (arm64 child by digest)" \
	skopeo inspect --tls-verify=false --raw "docker://$R1/$(repo_of "$MULTI_REF")@$MULTI_ARM64_DIGEST"
assert "skopeo copies the pushed image out again" skopeo copy -q --src-tls-verify=false "docker://$R1/$(repo_of "$APP_A_REF"):1" "dir:$T/copy-a"
assert "shared layers were mounted across repositories, not re-sent" sh -c "grep -Eq 'mounted' '$T/err' && ! grep -Eq ' 0 mounted' '$T/err'"

expect 0 "second load of the same bundle" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http
assert "second load pushes 0 blobs (all skipped)" grep -q 'blobs: 0 pushed, [1-9][0-9]* skipped, 0 mounted' "$T/err"

# ---------------------------------------------------------------- prefix, keep host, subset, dry run
start_registry || { fail "second registry: $SVC_WHY"; exit 1; }
R2=$REG_ADDR
expect 0 "--dry-run" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http --dry-run
assert "--dry-run says what it would push" grep -q 'dry run: 4 images would be loaded' "$T/err"
assert "--dry-run pushed nothing" test "$(curl -s "http://$R2/v2/_catalog" | jq '.repositories | length')" = 0
assert "--dry-run left no blobs in the registry" test -z "$(find "$REG_DATA" -type f -name data 2>/dev/null)"
expect_err 2 "ferry.test/nope:9: no such image" "--image with an unknown reference is a usage error naming it" \
	"$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http --image ferry.test/nope:9
expect 0 "--image subset with a prefix" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$R2/mirror/x" --plain-http --image "$APP_B_REF"
assert "the selected image is there under the prefix" test "$(curl -s "http://$R2/v2/mirror/x/$(repo_of "$APP_B_REF")/tags/list" | jq -r '.tags[0]')" = 1
assert "the other images are not" test "$(curl -s "http://$R2/v2/_catalog" | jq -c .repositories)" = "[\"mirror/x/$(repo_of "$APP_B_REF")\"]"
expect 0 "--keep-registry-host" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http --image "$APP_A_REF" --keep-registry-host
assert "the original host is the first path part" test "$(raw_digest "$R2" "ferry.test/$APP_A_REF")" = "$(digest_of "$APP_A_REF")"

# ---------------------------------------------------------------- references (net/ref.c, one rule for pack and load)
cat >v6.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: v6, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: "[::1]:5000/ipv6/app:1", from: $FX/app-a.docker.tar}
EOS
expect 0 "pack an image whose reference names an IPv6 registry ([::1]:5000)" "$PACK" build v6.yaml -o v6.ferry --allow-outside-paths
expect 0 "load it into a registry" "$LOAD" load v6.ferry --keyring "$KEYRING" --to "registry://$R2" --plain-http
assert "the IPv6 host is dropped like any other: it is ipv6/app:1 there" \
	test "$(raw_digest "$R2" "[::1]:5000/ipv6/app:1")" = "$("$LOAD" inspect v6.ferry --json | jq -r '.images[0].digest')"
sed 's|ipv6/app:1|ipv6/app|' v6.yaml >notag.yaml
expect_err 2 "needs a :tag or an @sha256: digest" "a reference without a tag is refused at pack time" \
	"$PACK" build notag.yaml -o notag.ferry --allow-outside-paths

# ---------------------------------------------------------------- tampered layer
# Extract (verified), flip one byte of a layer only app-b has, re-tar in the same order:
# the signature still checks, only that blob's hash fails.
expect 0 "extract the bundle" "$LOAD" extract imgs.ferry -C x --keyring "$KEYRING"
bm=$(jq -r --arg r "$APP_B_REF" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r) | .digest' x/images/index.json)
blayer=$(jq -r '.layers[-1].digest' "x/images/blobs/sha256/${bm#sha256:}")
python3 - imgs.ferry bad.ferry "images/blobs/sha256/${blayer#sha256:}" <<'PY'
import io, sys, tarfile
src, dst, victim = sys.argv[1:4]
with tarfile.open(src) as i, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as o:
    for m in i:
        data = i.extractfile(m).read() if m.isfile() else None
        if m.name == victim:
            b = bytearray(data); b[len(b) // 2] ^= 0x01; data = bytes(b)
        o.addfile(m, io.BytesIO(data) if data is not None else None)
PY
start_registry || { fail "third registry: $SVC_WHY"; exit 1; }
R3=$REG_ADDR
expect_err 1 "checksum mismatch" "a corrupted layer fails the load with exit 1" "$LOAD" load bad.ferry --keyring "$KEYRING" --to "registry://$R3" --plain-http
assert "the image with the bad layer is named as not loaded" grep -q "$APP_B_REF: not loaded: ${blayer}" "$T/err"
assert "no manifest for the image with the bad layer (HEAD 404)" test "$(mstatus "$R3" "$APP_B_REF")" = 404
assert "the bad layer itself is not in the registry" test "$(curl -s -o /dev/null -w '%{http_code}' -I "http://$R3/v2/$(repo_of "$APP_B_REF")/blobs/$blayer")" = 404
assert "the images that verified were loaded" test "$(raw_digest "$R3" "$APP_A_REF")" = "$(digest_of "$APP_A_REF")"
assert "no upload session left behind" test -z "$(find "$REG_DATA" -path '*_uploads/*' -name data 2>/dev/null)"
expect_err 1 "checksum mismatch" "the corrupted bundle does not reach an oci: dir either" "$LOAD" load bad.ferry --keyring "$KEYRING" --to "oci:$T/badoci"
assert "oci: index.json lists only the images that verified" test "$(jq -c '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | sort' badoci/index.json)" = \
	"$(jq -nc --arg a "$APP_A_REF" --arg m "$MULTI_REF" '[$a, "ferry.test/oci-a:1", $m] | sort')"
assert "oci: the bad layer was not written" test ! -e "badoci/blobs/sha256/${blayer#sha256:}"
assert "oci: no temporary files left" test -z "$(find badoci -name '.tmp-*')"

# The largest blob is read by an upload worker at its offset in the (plain) bundle file,
# not through the reader's stream: damaged there, it must fail just the same.
big=$(tar -tvf imgs.ferry | awk '$6 ~ /^images\/blobs\// {print $3, $6}' | sort -n | tail -1 | cut -d' ' -f2)
bigsz=$(tar -tvf imgs.ferry | awk -v n="$big" '$6 == n {print $3}')
assert "the largest blob is large enough to be read by position (64 KiB)" test "$bigsz" -ge 65536
bigoff=$($TARX offset imgs.ferry "$big")
cp imgs.ferry badbig.ferry
$TARX flip badbig.ferry $((bigoff + bigsz / 2))
start_registry || { fail "fourth registry: $SVC_WHY"; exit 1; }
R4=$REG_ADDR
R4_DATA=$REG_DATA
expect_err 1 "${big}: checksum mismatch" "a damaged blob read by position: exit 1, the entry named" \
	"$LOAD" load badbig.ferry --keyring "$KEYRING" --to "registry://$R4" --plain-http --jobs 3
assert "it is named as the reason its images were not loaded" grep -q "not loaded: sha256:${big##*/}" "$T/err"
assert "that blob is not in the registry" test -z "$(find "$REG_DATA" -path "*/blobs/sha256/*/${big##*/}" 2>/dev/null)"
assert "no upload session left behind" test -z "$(find "$REG_DATA" -path '*_uploads/*' -name data 2>/dev/null)"
no_manifest_using_big=1
for r in $APP_A_REF $APP_B_REF ferry.test/oci-a:1; do
	if [ "$(mstatus "$R4" "$r")" = 200 ] && skopeo inspect --tls-verify=false --raw "docker://$R4/$(repo_of "$r"):1" 2>/dev/null | grep -q "${big##*/}"; then
		no_manifest_using_big=0
	fi
done
assert "no manifest in the registry references the damaged blob" test "$no_manifest_using_big" = 1
# cut inside that blob: the reader finds the bundle short, the worker reading the blob
# finds it short, nothing is committed
head -c $((bigoff + bigsz / 2)) imgs.ferry >cut.ferry
start_registry || { fail "fifth registry: $SVC_WHY"; exit 1; }
R5=$REG_ADDR
expect_err 1 "damaged or truncated" "a plain bundle cut inside a blob read by position: exit 1" \
	"$LOAD" load cut.ferry --keyring "$KEYRING" --to "registry://$R5" --plain-http --jobs 3
assert "no manifest was pushed" test -z "$(curl -s "http://$R5/v2/_catalog" | jq -r '.repositories[]' | while read -r repo; do curl -s "http://$R5/v2/$repo/tags/list" | jq -r '.tags // [] | .[]'; done)"
assert "no upload session left behind (cut bundle)" test -z "$(find "$REG_DATA" -path '*_uploads/*' -name data 2>/dev/null)"

# ---------------------------------------------------------------- split bundle
# Its blobs are read by position across the parts, like a plain file's; a load again,
# every blob present, reads no part that holds only blob bytes (one of them is made
# garbage here: using a byte of it would fail), and every use of a bad part still fails.
PSZ=65536
expect 0 "pack the same images split into 64 KiB parts" "$PACK" build -q spec.yaml -o sp.ferry --split 64k --allow-outside-paths
cat sp.ferry.0* >spj.ferry
spoff=$($TARX offset spj.ferry "$big")
inner=$(( (spoff + PSZ - 1) / PSZ ))
assert "a part lies wholly inside the largest blob" test $(( (inner + 1) * PSZ )) -le $((spoff + bigsz))
inner_part=$(printf 'sp.ferry.%03d' "$inner")
start_registry || { fail "split registry: $SVC_WHY"; exit 1; }
R6=$REG_ADDR
expect 0 "load a split bundle (blobs read by position across parts)" "$LOAD" load sp.ferry --keyring "$KEYRING" --to "registry://$R6" --plain-http --jobs 3
assert "split: 4 images loaded, 0 failed" grep -q 'registry://.*: 4 images loaded, 0 failed' "$T/err"
assert "split: the largest blob's image has the bundle's digest" test "$(raw_digest "$R6" "$APP_A_REF")" = "$(digest_of "$APP_A_REF")"
head -c "$PSZ" /dev/urandom >"$inner_part"
expect 0 "load again, every blob present: the part inside a blob is not read" "$LOAD" load sp.ferry --keyring "$KEYRING" --to "registry://$R6" --plain-http
assert "load again pushes 0 blobs" grep -q 'blobs: 0 pushed, [1-9][0-9]* skipped, 0 mounted' "$T/err"
expect_err 1 "part $((inner + 1)) of [0-9]* \\(.*${inner_part}\\): checksum mismatch" "verify reads that part and names it" \
	"$LOAD" verify sp.ferry --keyring "$KEYRING"
expect_err 1 "${big}: checksum mismatch" "a load that needs the blob in that part fails, the entry named" \
	"$LOAD" load sp.ferry --keyring "$KEYRING" --to "registry://$R4" --plain-http --jobs 3
assert "the damaged blob did not reach the registry" test -z "$(find "$R4_DATA" -path "*/blobs/sha256/*/${big##*/}" 2>/dev/null)"

# ---------------------------------------------------------------- unreachable
port=$(free_port)
expect_err 4 "registry://127.0.0.1:$port.*$APP_A_REF.*not loaded" "unreachable registry: exit 4 naming target and image" \
	"$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://127.0.0.1:$port" --plain-http
expect_err 2 "registry://" "a malformed registry target is a usage error" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://a b"

# ---------------------------------------------------------------- authentication
start_registry --htpasswd ferry:s3cret-pw || { fail "htpasswd registry: $SVC_WHY"; exit 1; }
RA=$REG_ADDR
expect_err 4 "authentication required" "htpasswd registry without credentials: exit 4" \
	env HOME="$T/nohome" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image "$APP_A_REF"
expect_err 4 "not loaded" "wrong --creds: exit 4" \
	env HOME="$T/nohome" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image "$APP_A_REF" --creds ferry:wrong
assert "the password is never printed" sh -c "! grep -q 'wrong\|s3cret' '$T/err'"
expect 0 "htpasswd registry with --creds" \
	env HOME="$T/nohome" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image "$APP_A_REF" --creds ferry:s3cret-pw
assert "authenticated push landed" test "$(mstatus "$RA" "$APP_A_REF" -u ferry:s3cret-pw)" = 200
mkdir -p home/.docker
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$RA" "$(printf 'ferry:s3cret-pw' | base64)" >home/.docker/config.json
expect 0 "htpasswd registry with ~/.docker/config.json" \
	env HOME="$T/home" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image "$APP_B_REF"
assert "push with docker config credentials landed" test "$(mstatus "$RA" "$APP_B_REF" -u ferry:s3cret-pw)" = 200

# Credential helpers, as the Docker CLI runs them: docker-credential-NAME get, the
# registry on stdin, the answer on stdout; looked up only when the registry asks.
mkdir -p helpers
cat >helpers/docker-credential-test <<EOS
#!/bin/sh
[ "\$1" = get ] || exit 1
server=\$(cat)
printf '%s\n' "\$server" >>"$T/helper.log"
if [ "\$server" = "$RA" ]; then
	printf '{"ServerURL":"%s","Username":"ferry","Secret":"s3cret-pw"}' "\$server"
else
	echo "credentials not found in native keychain"; exit 1
fi
EOS
printf '#!/bin/sh\ncat >/dev/null\necho "keychain locked"\nexit 3\n' >helpers/docker-credential-broken
chmod +x helpers/docker-credential-test helpers/docker-credential-broken
helper_home() { mkdir -p "$T/$1/.docker" && printf '%s\n' "$2" >"$T/$1/.docker/config.json"; }
helper_home h-helpers "{\"credHelpers\":{\"$RA\":\"test\"},\"auths\":{\"$RA\":{\"auth\":\"$(printf 'ferry:wrong' | base64)\"}}}"
expect 0 "credHelpers: docker-credential-test supplies the password" \
	env HOME="$T/h-helpers" PATH="$T/helpers:$PATH" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image ferry.test/oci-a:1
assert "credHelpers: the push landed" test "$(mstatus "$RA" ferry.test/oci-a:1 -u ferry:s3cret-pw)" = 200
assert "the helper was asked once, for HOST:PORT on its stdin" test "$(cat "$T/helper.log")" = "$RA"
assert "the password is never printed (helper)" sh -c "! grep -q 's3cret' '$T/err'"
helper_home h-store '{"credsStore":"test"}'
expect 0 "credsStore: the same helper as the default store" \
	env HOME="$T/h-store" PATH="$T/helpers:$PATH" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image "$MULTI_REF"
assert "credsStore: the push landed" test "$(mstatus "$RA" "$MULTI_REF" -u ferry:s3cret-pw)" = 200
: >"$T/helper.log"
expect 0 "a registry that asks for nothing: the helper is not run" \
	env HOME="$T/h-store" PATH="$T/helpers:$PATH" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http --image "$APP_A_REF"
assert "the helper was not run for an open registry" test ! -s "$T/helper.log"
helper_home h-broken '{"credsStore":"broken"}'
expect_err 4 "credential helper docker-credential-broken \(credsStore in [^)]*\): exit status 3: keychain locked" \
	"a failing credential helper: exit 4, the helper and its message named" \
	env HOME="$T/h-broken" PATH="$T/helpers:$PATH" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image "$APP_A_REF"
assert "the failing helper's image is named as not loaded" grep -q "$APP_A_REF: not loaded" "$T/err"
helper_home h-missing '{"credHelpers":{"'"$RA"'":"nowhere"}}'
expect_err 4 "credential helper docker-credential-nowhere: not found on PATH" "a helper that is not installed: exit 4, named" \
	env HOME="$T/h-missing" PATH="$T/helpers:$PATH" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image "$APP_A_REF"
helper_home h-path '{"credsStore":"../../bin/sh"}'
expect_err 4 "names the credential helper \.\./\.\./bin/sh: not a plain name" "a helper name that is a path is refused" \
	env HOME="$T/h-path" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$RA" --plain-http --image "$APP_A_REF"

# ---------------------------------------------------------------- Bearer tokens, retries
# A small front for the plain registry R1 (python, loopback): it wants a Bearer token
# from its own token endpoint (Basic ferry:tok-pw), answers the first request of every
# method with 503 + Retry-After, and passes the rest on to the registry.
cat >front.py <<'PY'
import base64, http.client, http.server, json, sys, threading
up_host, up_port = sys.argv[1].split(":")
seen, lock = set(), threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        sys.stderr.write("%s %s\n" % (self.command, self.path)); sys.stderr.flush()
    def reply(self, code, hdrs=(), body=b"", length=None):
        self.send_response(code)
        for k, v in hdrs: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length)); self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        me = "127.0.0.1:%d" % self.server.server_address[1]
        if self.path.startswith("/token"):
            if self.headers.get("Authorization") == "Basic " + base64.b64encode(b"ferry:tok-pw").decode():
                return self.reply(200, [("Content-Type", "application/json")], json.dumps({"token": "tok-123"}).encode())
            return self.reply(401)
        if self.headers.get("Authorization") != "Bearer tok-123":
            ch = 'Bearer realm="http://%s/token",service="ferry-front",scope="repository:x:pull,push"' % me
            return self.reply(401, [("WWW-Authenticate", ch)])
        with lock:
            first = self.command not in seen; seen.add(self.command)
        if first:
            return self.reply(503, [("Retry-After", "1")])
        c = http.client.HTTPConnection(up_host, int(up_port))
        hd = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host")}
        c.request(self.command, self.path, body=body, headers=hd)
        r = c.getresponse(); data = r.read()
        out = []
        for k, v in r.getheaders():
            if k.lower() in ("content-length", "connection", "transfer-encoding"): continue
            if k.lower() == "location": v = v.replace("%s:%s" % (up_host, up_port), me)
            out.append((k, v))
        # a HEAD answer tells the length of what a GET would bring
        self.reply(r.status, out, data, r.getheader("Content-Length") if self.command == "HEAD" else None)
    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H)
print("ready", flush=True)
s.serve_forever()
PY
start_registry || { fail "registry behind the token front: $SVC_WHY"; exit 1; }
fport=$(free_port)
python3 front.py "$REG_ADDR" "$fport" >front.out 2>front.log &
fpid=$!
at_exit "kill $fpid 2>/dev/null"
for ((i = 0; i < 50; i++)); do grep -q ready front.out && break; sleep 0.1; done
expect_err 4 "token server refused" "Bearer registry without credentials: exit 4" \
	env HOME="$T/nohome" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://127.0.0.1:$fport" --plain-http --image "$APP_A_REF"
expect 0 "Bearer token flow, with 503s retried" \
	env HOME="$T/nohome" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://127.0.0.1:$fport" --plain-http --image "$MULTI_REF" --creds ferry:tok-pw
assert "the front did answer 503 first (retries happened)" sh -c "test \$(grep -c . '$T/front.log') -gt 5"
assert "the image behind the token front has the bundle's digest" test "$(raw_digest "$REG_ADDR" "$MULTI_REF")" = "$(digest_of "$MULTI_REF")"

# ---------------------------------------------------------------- TLS
if start_registry --tls; then
	expect 0 "https registry with --cacert" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --cacert "$REG_CACERT" --image "$APP_A_REF"
	expect_err 4 "not loaded" "https registry with an unknown CA: exit 4" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --image "$APP_A_REF"
	# An https registry whose challenge names a token realm over plain http: the
	# credentials would go there in clear, so the realm is refused and never asked.
	cat >realm.py <<'PY'
import http.server, ssl, sys
port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        with open(log, "a") as f: f.write("%s %s\n" % (self.command, self.path))
    def handle_any(self):
        if self.path.startswith("/token"):
            self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}"); return
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:%d/token",service="x"' % port)
        self.send_header("Content-Length", "0"); self.end_headers()
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = handle_any
s = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print("ready", flush=True)
s.serve_forever()
PY
	rport=$(free_port)
	python3 realm.py "$rport" "$REG_DIR/tls/server.crt" "$REG_DIR/tls/server.key" "$T/realm.log" >realm.out 2>realm.err &
	rpid=$!
	at_exit "kill $rpid 2>/dev/null"
	for ((i = 0; i < 50; i++)); do grep -q ready realm.out && break; sleep 0.1; done
	expect_err 4 "refusing token realm http://127\.0\.0\.1:$rport/token: plain http is taken only from a plain-HTTP registry on loopback" \
		"an https registry naming an http token realm: refused, exit 4" \
		env HOME="$T/nohome" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://127.0.0.1:$rport" --cacert "$REG_CACERT" --image "$APP_A_REF" --creds ferry:realm-pw
	assert "the http realm was never asked for a token" sh -c "! grep -q '/token' '$T/realm.log'"
	assert "the password is never printed (realm)" sh -c "! grep -q 'realm-pw' '$T/err'"
else
	skip "TLS registry: $SVC_WHY"
fi

# ---------------------------------------------------------------- oci:DIR
expect 0 "load into an OCI layout directory" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "oci:$T/layout"
assert "oci-layout written" jq -e '.imageLayoutVersion == "1.0.0"' layout/oci-layout
assert "skopeo copies an image out of the layout" skopeo copy -q "oci:$T/layout:$APP_A_REF" "dir:$T/x-a"
assert "skopeo sees the bundle's digest in the layout" test "sha256:$(skopeo inspect --raw "oci:$T/layout:ferry.test/oci-a:1" | sha256sum | cut -d' ' -f1)" = "$APP_A_OCI_DIGEST"
expect 0 "load again into the same layout (merge)" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "oci:$T/layout"
assert "merge: the second load wrote no blob" grep -q 'blobs: 0 written' "$T/err"
assert "merge: one descriptor per reference" test "$(jq '.manifests | length' layout/index.json)" = 4
ln -s /tmp "$T/evil" && mkdir -p evil-layout && ln -s "$T/evil" evil-layout/blobs
expect_err 4 "symbolic link" "a symlinked blobs/ in the layout is refused" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "oci:$T/evil-layout"
expect 0 "two targets at once (registry and oci:)" "$LOAD" load imgs.ferry --keyring "$KEYRING" --to "registry://$R1" --plain-http --to "oci:$T/layout2"
assert "both targets report" sh -c "grep -q 'registry://.*4 images loaded' '$T/err' && grep -q 'oci:.*4 images loaded' '$T/err'"

# ---------------------------------------------------------------- interrupted load resumes
# A big layer (random, so it does not compress) makes the load long enough to kill in
# the middle of its upload.
python3 "$FERRY_ROOT/tests/tools/mkbig.py" big 96 ferry.test/big:1
cat >big.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: big, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: $FX/app-a.docker.tar}
  - {ref: ferry.test/big:1, from: $T/big}
EOS
expect 0 "pack a bundle with a 96 MiB layer" "$PACK" build big.yaml -o big.ferry --allow-outside-paths
start_registry || { fail "resume registry: $SVC_WHY"; exit 1; }
RR=$REG_ADDR
"$LOAD" load big.ferry --keyring "$KEYRING" --to "registry://$RR" --plain-http --jobs 1 >int.out 2>int.err &
lpid=$!
# the upload has begun once the registry holds some of its bytes (an upload session
# with data)
up_bytes() { find "$REG_DATA/docker/registry/v2/repositories/big/_uploads" -name data -size +0 2>/dev/null; }
for ((i = 0; i < 400; i++)); do [ -n "$(up_bytes)" ] && break; sleep 0.02; done
kill -INT $lpid 2>/dev/null; wait $lpid; rc=$?
assert "SIGINT in the middle of an upload: a failure exit (got $rc)" test "$rc" -ne 0
assert "SIGINT: no manifest for the big image" test "$(mstatus "$RR" ferry.test/big:1)" = 404
assert "SIGINT: the unfinished upload session was deleted" test -z "$(find "$REG_DATA" -path '*_uploads/*' -name data 2>/dev/null)"
"$LOAD" load big.ferry --keyring "$KEYRING" --to "registry://$RR" --plain-http --jobs 1 >kill.out 2>kill.err &
lpid=$!
for ((i = 0; i < 400; i++)); do [ -n "$(up_bytes)" ] && break; sleep 0.02; done
kill -KILL $lpid 2>/dev/null; wait $lpid 2>/dev/null
assert "the load was killed in the middle of the big upload" test -n "$(up_bytes)"
assert "killed load left no manifest for the big image" test "$(mstatus "$RR" ferry.test/big:1)" = 404
assert "killed load left no manifest for app-a" test "$(mstatus "$RR" "$APP_A_REF")" = 404
expect 0 "re-run after the interrupted load" "$LOAD" load big.ferry --keyring "$KEYRING" --to "registry://$RR" --plain-http --jobs 1
assert "re-run completes both images" grep -q 'registry://.*: 2 images loaded, 0 failed' "$T/err"
assert "re-run sends only what was missing (app-a's blobs skipped)" grep -Eq 'blobs: [12] pushed, [1-9][0-9]* skipped' "$T/err"
assert "the big image is complete in the registry" test "$(raw_digest "$RR" ferry.test/big:1)" = "$(jq -r '.manifests[0].digest' big/index.json)"

# ---------------------------------------------------------------- docker pull + run
if start_dockerd; then
	img=$R1/$(repo_of "$APP_A_REF"):1
	if docker pull -q "$img" >"$T/pull.out" 2>&1; then
		pass "docker pulls the pushed image"
		assert "docker runs it: /hello.txt is app-a's" test "$(docker run --rm --network none "$img" 2>&1)" = "$HELLO_A"
		assert "the image ID is unchanged" test "$(docker image inspect -f '{{.Id}}' "$img")" = "$APP_A_ID"
	else
		fail "docker pulls the pushed image"; sed 's/^/#   /' "$T/pull.out" | head -5
	fi
else
	skip "dockerd: $SVC_WHY"
fi
