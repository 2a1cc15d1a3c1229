#!/usr/bin/env bash
# ferry-load serve: bundles answered as a read-only registry. Real clients (docker pull
# into a private daemon and docker run, skopeo, curl) against the happy path, Range,
# several bundles, a prefix, TLS and Basic authentication; hostile requests (.. and
# %2e%2e in names, a 10 MB header, 500 idle connections, a client reading one byte a
# second) while other clients are served; the bundle file changed under the server.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "image fixtures: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
TARX="python3 $FERRY_ROOT/tests/tools/tarx.py"
RAW="python3 $FERRY_ROOT/tests/tools/rawhttp.py"
python3 "$FERRY_ROOT/tests/tools/mkbig.py" big 12 ferry.test/big:1 || { fail "mkbig.py"; exit 1; }

cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: srv, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: $FX/app-a.docker.tar}
  - {ref: $APP_B_REF, from: $FX/app-b.docker.tar}
  - {ref: ferry.test/oci-a:1, from: $FX/app-a.oci.tar}
  - {ref: $MULTI_REF, from: $FX/multi.oci.tar}
  - {ref: ferry.test/big:1, from: big}
EOS
expect 0 "pack five images" "$PACK" build spec.yaml -o srv.ferry --allow-outside-paths || exit 1
"$LOAD" inspect srv.ferry --keyring "$KEYRING" --json >inspect.json
digest_of() { jq -r --arg r "$1" '.images[] | select(.ref == $r) | .digest' inspect.json; }
repo_of() { local p=${1#*/}; echo "${p%:*}"; }

# serve_start [--scheme https] ARGS...: ferry-load serve on a free port, until /v2/
# answers; sets SV (127.0.0.1:PORT), SV_PORT, SV_PID, SV_LOG. Stopped on exit.
serve_start() {
	local scheme=http port n code
	if [ "$1" = --scheme ]; then scheme=$2; shift 2; fi
	port=$(free_port)
	SV_LOG=$T/serve-$port.log
	"$LOAD" serve "$@" --listen "127.0.0.1:$port" >"$SV_LOG" 2>&1 &
	SV_PID=$!
	at_exit "_svc_stop $SV_PID 5"
	for ((n = 0; n < 300; n++)); do
		kill -0 "$SV_PID" 2>/dev/null || break
		code=$(curl -s -k -o /dev/null -w '%{http_code}' --max-time 2 "$scheme://127.0.0.1:$port/v2/")
		if [ "$code" = 200 ] || [ "$code" = 401 ]; then SV=127.0.0.1:$port SV_PORT=$port; return 0; fi
		sleep 0.1
	done
	sed 's/^/#   /' "$SV_LOG" | tail -5
	return 1
}
# serve_stop: SIGTERM; sets SV_RC (the exit code).
serve_stop() {
	kill -TERM "$SV_PID" 2>/dev/null
	wait "$SV_PID"
	SV_RC=$?
}
# code URL [CURL ARGS]: the HTTP status.
code() { local u=$1; shift; curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$@" "$u"; }
errcode() { jq -r '.errors[0].code' "$T/body" 2>/dev/null; }

# ---------------------------------------------------------------- refused before serving
expect_err 2 "--keyring KEYS.asc is required" "serve: no keyring is a usage error" "$LOAD" serve srv.ferry
expect_err 2 "no BUNDLE given" "serve: no bundle is a usage error" "$LOAD" serve --keyring "$KEYRING"
expect_err 2 "--listen nowhere: expected ADDRESS:PORT" "serve: a bad --listen is a usage error" \
	"$LOAD" serve srv.ferry --keyring "$KEYRING" --listen nowhere
expect_err 2 "--prefix Bad/../x: expected" "serve: a prefix outside the name grammar is a usage error" \
	"$LOAD" serve srv.ferry --keyring "$KEYRING" --prefix 'Bad/../x'
expect_err 2 "--tls-cert and --tls-key go together" "serve: a certificate without its key is a usage error" \
	"$LOAD" serve srv.ferry --keyring "$KEYRING" --tls-cert x.pem
port=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("up", flush=True); time.sleep(60)' "$port" >taken.out &
taken_pid=$!
at_exit "kill $taken_pid 2>/dev/null"
for ((n = 0; n < 100; n++)); do [ -s taken.out ] && break; sleep 0.1; done
expect_err 3 "--listen 127.0.0.1:$port: Address already in use" "a port already taken: exit 3" \
	"$LOAD" serve srv.ferry --keyring "$KEYRING" --listen "127.0.0.1:$port"
assert "  found before the bundle is read" bash -c "! grep -q 'OK, signed' '$T/err'"
kill "$taken_pid" 2>/dev/null
expect 0 "serve --help" "$LOAD" serve --help
assert "serve --help names the options" grep -q -- '--htpasswd FILE' "$T/out"
assert "ferry-load --help lists serve" bash -c "'$LOAD' --help | grep -q 'serve BUNDLE'"
expect 0 "a zstd bundle" "$PACK" build spec.yaml -o z.ferry --allow-outside-paths --compress zstd -q
expect_err 2 "zstd-compressed bundle cannot be served.*zstd -d" "a zstd bundle is refused, saying how to make a servable one" \
	"$LOAD" serve z.ferry --keyring "$KEYRING" --listen "127.0.0.1:$(free_port)"
expect 0 "a split bundle" "$PACK" build spec.yaml -o s.ferry --allow-outside-paths --split 8M -q
expect_err 2 "split bundle cannot be served.*cat NAME.ferry.0" "a split bundle is refused, saying how to make a servable one" \
	"$LOAD" serve s.ferry --keyring "$KEYRING" --listen "127.0.0.1:$(free_port)"
cat s.ferry.0* >joined.ferry
big=$(jq -r '.images[] | select(.ref == "ferry.test/big:1") | .digest' inspect.json)
cp srv.ferry bad.ferry
layer=$(tar -xOf srv.ferry "images/blobs/sha256/${big#sha256:}" | jq -r '.layers[0].digest')
lsize=$(tar -tvf srv.ferry "images/blobs/sha256/${layer#sha256:}" | awk '{print $3}')
loff=$($TARX offset srv.ferry "images/blobs/sha256/${layer#sha256:}")
$TARX flip bad.ferry $((loff + 12345))
port=$(free_port)
expect_err 1 "checksum mismatch" "a bundle that does not verify is not served (exit 1)" \
	"$LOAD" serve bad.ferry --keyring "$KEYRING" --listen "127.0.0.1:$port"
assert "nothing listened for it" test "$(code "http://127.0.0.1:$port/v2/")" = 000
K1=$KEYRING FPR1=$FPR
new_gpg_home 2 >/dev/null || { fail "second test key"; exit 1; }
KEYRING=$K1 FPR=$FPR1
export GNUPGHOME=$T/gnupg
expect_err 1 "" "a bundle signed by a key not in the keyring is not served" \
	"$LOAD" serve srv.ferry --keyring "$T/pub2.asc" --listen "127.0.0.1:$(free_port)"
# the same tag in two bundles, with different digests
cat >clash.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: clash, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: $FX/app-b.docker.tar}
EOS
expect 0 "a bundle whose tag clashes" "$PACK" build clash.yaml -o clash.ferry --allow-outside-paths -q
expect_err 2 "app-a:1 is also in an earlier bundle" "the same tag with two digests in two bundles is refused" \
	"$LOAD" serve srv.ferry clash.ferry --keyring "$KEYRING" --listen "127.0.0.1:$(free_port)"

# ---------------------------------------------------------------- the API
cat >more.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: more, version: 2.0.0, vendor: Ferry Tests}
images:
  - {ref: ferry.test/app-c:2, from: $FX/app-a.docker.tar}
EOS
expect 0 "a second bundle sharing blobs" "$PACK" build more.yaml -o more.ferry --allow-outside-paths -q
serve_start srv.ferry more.ferry --keyring "$KEYRING" || { fail "serve two bundles"; exit 1; }
pass "serve two bundles (one index)"
assert "each bundle verified first, signer named" grep -q "srv.ferry: OK, signed by $FPR" "$SV_LOG"
assert "start-up line: 6 images in 6 repositories" grep -q 'serve: 6 images in 6 repositories' "$SV_LOG"
assert "GET /v2/: 200 with the API version header" bash -c "curl -s -i http://$SV/v2/ | grep -qi '^Docker-Distribution-API-Version: registry/2.0'"
assert "_catalog lists every repository" test "$(curl -s "http://$SV/v2/_catalog" | jq -c .repositories)" = \
	'["app-a","app-b","app-c","big","multi","oci-a"]'
assert "_catalog?n=2: two names and a Link to the next page" bash -c \
	"curl -s -D '$T/h' 'http://$SV/v2/_catalog?n=2' | jq -e '.repositories == [\"app-a\",\"app-b\"]' >/dev/null && grep -qi '^Link: </v2/_catalog?last=app-b&n=2>; rel=\"next\"' '$T/h'"
assert "_catalog?last=big&n=2: the next page" test "$(curl -s "http://$SV/v2/_catalog?last=big&n=2" | jq -c .repositories)" = '["multi","oci-a"]'
assert "_catalog?n=x: 400 PAGINATION_NUMBER_INVALID" bash -c "[ \$(curl -s -o '$T/b' -w '%{http_code}' 'http://$SV/v2/_catalog?n=x') = 400 ] && grep -q PAGINATION_NUMBER_INVALID '$T/b'"
assert "tags/list" test "$(curl -s "http://$SV/v2/app-a/tags/list" | jq -c .)" = '{"name":"app-a","tags":["1"]}'
for ref in "$APP_A_REF" "$APP_B_REF" ferry.test/oci-a:1 "$MULTI_REF" ferry.test/big:1; do
	want=$(digest_of "$ref")
	got=$(curl -s -D "$T/h" -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' \
		"http://$SV/v2/$(repo_of "$ref")/manifests/1" | sha256sum | cut -d' ' -f1)
	assert "manifest of $ref by tag: the bundle's bytes (sha256:${got:0:12}…)" test "sha256:$got" = "$want"
	assert "manifest of $ref: Docker-Content-Digest" grep -qi "^Docker-Content-Digest: $want" "$T/h"
done
assert "manifest by digest" test "$(code "http://$SV/v2/app-a/manifests/$(digest_of "$APP_A_REF")")" = 200
assert "HEAD manifest: its length and digest" bash -c "curl -s -I http://$SV/v2/app-a/manifests/1 | grep -qi '^Content-Length: [1-9]' && curl -s -I http://$SV/v2/app-a/manifests/1 | grep -qi '^Docker-Content-Digest: $(digest_of "$APP_A_REF")'"
assert "an index to a client that takes one" bash -c "curl -s -I -H 'Accept: application/vnd.oci.image.index.v1+json' http://$SV/v2/multi/manifests/1 | grep -qi '^Docker-Content-Digest: $MULTI_DIGEST'"
assert "its linux/amd64 manifest to a client that takes no index" bash -c "curl -s -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://$SV/v2/multi/manifests/1 | grep -qi '^Docker-Content-Digest: $MULTI_AMD64_DIGEST'"
assert "the arm64 manifest by digest" test "$(code "http://$SV/v2/multi/manifests/$MULTI_ARM64_DIGEST")" = 200
assert "a manifest the Accept header rules out: 404 MANIFEST_UNKNOWN" bash -c \
	"[ \$(curl -s -o '$T/b' -w '%{http_code}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://$SV/v2/app-a/manifests/1) = 404 ] && grep -q MANIFEST_UNKNOWN '$T/b'"
assert "unknown tag: 404 MANIFEST_UNKNOWN" bash -c "[ \$(curl -s -o '$T/b' -w '%{http_code}' http://$SV/v2/app-a/manifests/9) = 404 ] && grep -q MANIFEST_UNKNOWN '$T/b'"
assert "unknown repository: 404 NAME_UNKNOWN" bash -c "[ \$(curl -s -o '$T/b' -w '%{http_code}' http://$SV/v2/nope/tags/list) = 404 ] && grep -q NAME_UNKNOWN '$T/b'"
assert "a bad digest: 400 DIGEST_INVALID" bash -c "[ \$(curl -s -o '$T/b' -w '%{http_code}' http://$SV/v2/app-a/blobs/sha256:00) = 400 ] && grep -q DIGEST_INVALID '$T/b'"
assert "a blob of another repository: 404 BLOB_UNKNOWN" bash -c "[ \$(curl -s -o '$T/b' -w '%{http_code}' http://$SV/v2/app-a/blobs/$layer) = 404 ] && grep -q BLOB_UNKNOWN '$T/b'"
for m in "PUT /v2/app-a/manifests/1" "DELETE /v2/app-a/manifests/1" "POST /v2/app-a/blobs/uploads/" "PATCH /v2/app-a/blobs/uploads/x"; do
	assert "${m%% *} is refused: 405 UNSUPPORTED" bash -c "[ \$(curl -s -o '$T/b' -w '%{http_code}' -X ${m%% *} --data x 'http://$SV${m#* }') = 405 ] && grep -q UNSUPPORTED '$T/b'"
done
# blobs, whole and by Range, against the bytes in the bundle
tar -xOf srv.ferry "images/blobs/sha256/${layer#sha256:}" >layer.bin
assert "GET blob: the bundle's bytes" cmp -s layer.bin <(curl -s "http://$SV/v2/big/blobs/$layer")
assert "HEAD blob: Content-Length is the blob's size" bash -c "curl -s -I http://$SV/v2/big/blobs/$layer | grep -qi '^Content-Length: $lsize'"
for r in 0-0 1000-2000 1048575-1048576 $((lsize - 10))- -777 5000000-$((lsize * 2)); do
	curl -s -r "$r" -D "$T/h" -o r.bin "http://$SV/v2/big/blobs/$layer"
	a=${r%-*} b=${r#*-}
	if [ -z "$a" ]; then s=$((lsize - b)) e=$((lsize - 1)); else s=$a e=${b:-$((lsize - 1))}; fi
	[ "$e" -lt "$lsize" ] || e=$((lsize - 1))
	assert "Range $r: 206, Content-Range and the right bytes" bash -c "grep -qi '^HTTP/1.1 206' '$T/h' && grep -qi '^Content-Range: bytes $s-$e/$lsize' '$T/h' && cmp -s r.bin <(tail -c +$((s + 1)) layer.bin | head -c $((e - s + 1)))"
done
assert "Range past the end: 416 with bytes */SIZE" bash -c "curl -s -I -r $lsize- http://$SV/v2/big/blobs/$layer | grep -qi '^Content-Range: bytes \*/$lsize'"
run $RAW rawget "$SV_PORT" $'/v2/app-a/manifests/x\x1b[2J\xe2\x80\xae'
no_raw() { ! LC_ALL=C grep -qF -- "$1" "$2"; }
assert "one log line per request, control bytes shown escaped" grep -qF '"GET /v2/app-a/manifests/x\x1b[2J' "$SV_LOG"
assert "  no raw escape byte in the log" no_raw $'\x1b' "$SV_LOG"
assert "  no raw bidi override in the log" no_raw $'\xe2\x80\xae' "$SV_LOG"
assert "a Range request is logged with its status" grep -q "\"GET /v2/big/blobs/$layer\" 206" "$SV_LOG"

# ---------------------------------------------------------------- real clients
assert "skopeo copy of app-a into oci: keeps the bundle's digest" bash -c \
	"skopeo copy -q --src-tls-verify=false docker://$SV/app-a:1 oci:$T/sk:a && [ \$(jq -r '.manifests[0].digest' $T/sk/index.json) = $(digest_of "$APP_A_REF") ]"
assert "skopeo copy --all of the multi-platform index" bash -c \
	"skopeo copy -q --all --src-tls-verify=false docker://$SV/multi:1 oci:$T/skm:m && [ \$(jq -r '.manifests[0].digest' $T/skm/index.json) = $MULTI_DIGEST ]"
assert "skopeo copy of the 12 MiB image" bash -c "skopeo copy -q --src-tls-verify=false docker://$SV/big:1 dir:$T/skb && cmp -s $T/skb/${layer#sha256:} layer.bin"
more_digest=$("$LOAD" inspect more.ferry --json | jq -r '.images[0].digest')
assert "the second bundle's image, sharing blobs" bash -c \
	"skopeo inspect --tls-verify=false --raw docker://$SV/app-c:2 | sha256sum | grep -q ${more_digest#sha256:}"
if start_dockerd; then
	expect 0 "docker pull from ferry-load serve" docker pull -q "$SV/app-a:1"
	assert "docker run of the pulled image" test "$(docker run --rm --network none "$SV/app-a:1")" = "$HELLO_A"
	assert "the image ID is the one it was built with" test "$(docker image inspect -f '{{.Id}}' "$SV/app-a:1")" = "$APP_A_ID"
	expect 0 "docker pull of the multi-platform image" docker pull -q "$SV/multi:1"
	assert "docker pulled the linux/amd64 manifest of the index" bash -c "docker image inspect -f '{{index .RepoDigests 0}}' $SV/multi:1 | grep -q $MULTI_DIGEST"
else
	skip "docker pull: $SVC_WHY"
fi
assert "serving wrote nothing to disk (no copy of the bundle)" test "$(awk '/^write_bytes/ {print $2}' "/proc/$SV_PID/io")" -lt 1048576
serve_stop
assert "SIGTERM: a clean stop, exit 0" test "$SV_RC" = 0
assert "it says it stops" grep -q 'Terminated: stopping' "$SV_LOG"

# ---------------------------------------------------------------- a prefix, a joined split
serve_start joined.ferry --keyring "$KEYRING" --prefix mirror/x -q || { fail "serve --prefix"; exit 1; }
assert "--prefix: repositories under it, as load --to registry://HOST/mirror/x" test \
	"$(curl -s "http://$SV/v2/_catalog" | jq -c .repositories)" = '["mirror/x/app-a","mirror/x/app-b","mirror/x/big","mirror/x/multi","mirror/x/oci-a"]'
assert "--prefix: skopeo reads the image there" bash -c "skopeo inspect --tls-verify=false --raw docker://$SV/mirror/x/app-b:1 | sha256sum | grep -q $(digest_of "$APP_B_REF" | cut -d: -f2)"
assert "--quiet: no log line per request" test ! -s "$SV_LOG"
serve_stop

# ---------------------------------------------------------------- hostile requests
serve_start srv.ferry --keyring "$KEYRING" --timeout 3 || { fail "serve for the hostile cases"; exit 1; }
for p in '/v2/../../etc/manifests/1' '/v2/%2e%2e/%2e%2e/etc/manifests/1' '/v2/app-a/%2E%2E/app-b/manifests/1' \
	'/v2//etc/passwd/blobs/sha256:00' '/v2/app-a%00/manifests/1'; do
	assert "name $p: 400 NAME_INVALID" bash -c "[ \$(curl -s --path-as-is -o '$T/b' -w '%{http_code}' 'http://$SV$p') = 400 ] && grep -q NAME_INVALID '$T/b'"
done
run $RAW bighdr "$SV_PORT" 10
assert "a 10 MB header: refused (431), the connection closed" grep -Eq '^(HTTP/1.1 431|closed)' "$T/out"
assert "  and the server still answers" test "$(code "http://$SV/v2/")" = 200
$RAW idle "$SV_PORT" 500 4 >idle.out &
idle_pid=$!
for ((n = 0; n < 50; n++)); do [ -s idle.out ] && break; sleep 0.1; done
assert "500 idle connections opened" test "$(cat idle.out)" = 500
start=$(date +%s%N)
ok=1
for i in 1 2 3 4 5; do [ "$(code "http://$SV/v2/app-a/manifests/1")" = 200 ] || ok=0; done
assert "  other clients are served meanwhile (5 requests in $((($(date +%s%N) - start) / 1000000)) ms)" test "$ok" = 1
assert "  a whole blob too" cmp -s layer.bin <(curl -s --max-time 10 "http://$SV/v2/big/blobs/$layer")
wait "$idle_pid"
$RAW slow "$SV_PORT" "/v2/big/blobs/$layer" 7 >slow.out &
slow_pid=$!
sleep 1
start=$(date +%s%N)
assert "a client reading one byte a second: others are served meanwhile" cmp -s layer.bin <(curl -s --max-time 10 "http://$SV/v2/big/blobs/$layer")
assert "  quickly ($((($(date +%s%N) - start) / 1000000)) ms)" test $((($(date +%s%N) - start) / 1000000)) -lt 5000
wait "$slow_pid"
assert "  the slow client is cut off once it makes no progress for --timeout ($(cat slow.out))" \
	test "$(awk '{print $2}' slow.out)" -lt "$lsize"
assert "  and the log says it timed out" grep -q "\"GET /v2/big/blobs/$layer\" 200 [0-9]* [0-9]*ms (timed out)" "$SV_LOG"
assert "the server is still up after all of it" test "$(code "http://$SV/v2/_catalog")" = 200
serve_stop
assert "a clean stop after the hostile requests (exit 0, no leak)" test "$SV_RC" = 0

# ---------------------------------------------------------------- TLS and Basic authentication
_svc_mkcert "$T/tls" || { fail "test certificate"; exit 1; }
htpasswd -Bbc "$T/htpasswd" alice 'open sesame' >/dev/null 2>&1 || { fail "htpasswd -B"; exit 1; }
serve_start --scheme https srv.ferry --keyring "$KEYRING" --tls-cert "$T/tls/server.crt" --tls-key "$T/tls/server.key" \
	--htpasswd "$T/htpasswd" || { fail "serve with TLS and --htpasswd"; exit 1; }
assert "TLS: the certificate is checked against its CA" test "$(code "https://$SV/v2/" --cacert "$T/tls/ca.crt" -u 'alice:open sesame')" = 200
assert "no credentials: 401 UNAUTHORIZED with a Basic challenge" bash -c \
	"[ \$(curl -s -D '$T/h' -o '$T/b' -w '%{http_code}' --cacert '$T/tls/ca.crt' https://$SV/v2/) = 401 ] && grep -q UNAUTHORIZED '$T/b' && grep -qi '^WWW-Authenticate: Basic realm=\"ferry-load serve\"' '$T/h'"
assert "a wrong password is refused (401)" test "$(code "https://$SV/v2/app-a/manifests/1" --cacert "$T/tls/ca.crt" -u 'alice:open sesam')" = 401
assert "an unknown user is refused (401)" test "$(code "https://$SV/v2/app-a/manifests/1" --cacert "$T/tls/ca.crt" -u 'mallory:open sesame')" = 401
assert "a push without credentials: 401 before anything else" test "$(code "https://$SV/v2/app-a/blobs/uploads/" --cacert "$T/tls/ca.crt" -X POST)" = 401
assert "skopeo with credentials over TLS: same digest" bash -c \
	"skopeo inspect --raw --cert-dir '$T/tls/certdir' --creds 'alice:open sesame' docker://$SV/app-b:1 | sha256sum | grep -q $(digest_of "$APP_B_REF" | cut -d: -f2)"
assert "skopeo without them is refused" bash -c "! skopeo inspect --raw --cert-dir '$T/tls/certdir' docker://$SV/app-b:1 >/dev/null 2>&1"
assert "the log names the user, never the password" bash -c "grep -q ' alice \"GET /v2/app-a/manifests/1\" 401' '$SV_LOG' && ! grep -q sesam '$SV_LOG'"
serve_stop
expect_err 2 "htpasswd:1: not a bcrypt hash" "an htpasswd file without bcrypt is refused" \
	sh -c "echo 'alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=' >'$T/sha.htpasswd' && '$LOAD' serve srv.ferry --keyring '$KEYRING' --htpasswd '$T/sha.htpasswd' --listen 127.0.0.1:$(free_port)"

# ---------------------------------------------------------------- the bundle changed under the server
cp -p srv.ferry live.ferry
serve_start live.ferry --keyring "$KEYRING" || { fail "serve the copy"; exit 1; }
# a byte of block 10 of the 12 MiB layer flips (dd conv=notrunc, mtime put back) while
# the client is reading block 1 (the server is at most a few blocks ahead: socket
# buffers): the response is cut at block 10, every byte before it the original one
flip=$((loff + 10 * 1048576 + 77))
run $RAW flipmid "$SV_PORT" "/v2/big/blobs/$layer" got.bin live.ferry "$flip"
got=$(wc -c <got.bin)
assert "a block changed while it was being served: the response is cut ($got of $lsize bytes)" \
	test "$got" -lt "$lsize" -a "$got" -le $((10 * 1048576))
assert "  every byte sent was the original one" cmp -s got.bin <(head -c "$got" layer.bin)
assert "  the error is logged, naming the bundle and the blob" grep -q "live.ferry: blob $layer changed in the bundle file since it was verified (block hash mismatch): response cut" "$SV_LOG"
assert "  the next request of that blob fails (500), no byte sent" bash -c \
	"[ \$(curl -s -o '$T/b' -w '%{http_code}' http://$SV/v2/big/blobs/$layer) = 500 ] && grep -q '\"errors\"' '$T/b'"
assert "  other blobs are still served" cmp -s <(curl -s "http://$SV/v2/app-a/blobs/$(tar -xOf srv.ferry "images/blobs/sha256/$(digest_of "$APP_A_REF" | cut -d: -f2)" | jq -r '.layers[0].digest')") \
	<(tar -xOf srv.ferry "images/blobs/sha256/$(tar -xOf srv.ferry "images/blobs/sha256/$(digest_of "$APP_A_REF" | cut -d: -f2)" | jq -r '.layers[0].digest' | cut -d: -f2)")
# a byte of the app-b layer flips while nothing is being served (mtime put back): the
# next request of it fails before a byte is sent
bl=$(tar -xOf srv.ferry "images/blobs/sha256/$(digest_of "$APP_B_REF" | cut -d: -f2)" | jq -r '.layers[-1].digest')
boff=$($TARX offset srv.ferry "images/blobs/sha256/${bl#sha256:}")
: >stamp
touch -r live.ferry stamp
printf '\377' | dd of=live.ferry bs=1 seek=$((boff + 10)) conv=notrunc status=none
touch -r stamp live.ferry
assert "a changed blob at rest: the next request fails (500) and sends nothing" bash -c \
	"[ \$(curl -s -o '$T/b' -w '%{http_code}' http://$SV/v2/app-b/blobs/$bl) = 500 ] && grep -q UNKNOWN '$T/b'"
# the file's mtime changes: no blob of it is served any more
touch live.ferry
assert "a bundle file whose mtime changed: its blobs are refused (500)" bash -c \
	"[ \$(curl -s -o '$T/b' -w '%{http_code}' http://$SV/v2/app-a/blobs/$(tar -xOf srv.ferry "images/blobs/sha256/$(digest_of "$APP_A_REF" | cut -d: -f2)" | jq -r '.config.digest')) = 500 ] && grep -q 'changed since it was verified' '$T/b'"
curl -s -o /dev/null "http://$SV/v2/big/blobs/$layer"
assert "  logged once, naming the bundle" test "$(grep -c 'live.ferry was modified since it was verified (mtime): its blobs are not served any more' "$SV_LOG")" = 1
assert "  and the server stays up" test "$(code "http://$SV/v2/")" = 200
serve_stop
assert "a clean stop after the changes (exit 0)" test "$SV_RC" = 0
