#!/usr/bin/env bash
# Misbehaving registries: ferry-load pushes through tests/tools/faultproxy.py (loopback,
# in front of a real docker-registry) that resets connections in the middle of uploads,
# answers 5xx and 429, is slow, cuts replies short and lies about stored blobs. Each
# case then looks at the registry directly (skopeo, curl): either every image is there
# with its bundle.yaml digest, or the load ended with exit 4 naming the images that are
# not -- and never is there a manifest whose blobs are missing. Every case also checks
# in the proxy's log that its fault really fired.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "image fixtures: $SVC_WHY"; exit 0; }
command -v skopeo >/dev/null || { skip "skopeo not installed"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
PROXY=$FERRY_ROOT/tests/tools/faultproxy.py

# ---------------------------------------------------------------- bundles
# A: app-a and an image with a 10 MiB random layer; B: app-b and the oci-archive app-a
# (sharing app-a's base layers). From a plain bundle file the upload workers read each
# large blob themselves and stream it (one PATCH for 10 MiB); from a zstd bundle the
# blob comes through the reader's stream, in 4 MiB chunks (three PATCHes and a final
# PUT): A is packed both ways, so both upload paths meet the faults.
python3 "$FERRY_ROOT/tests/tools/mkbig.py" big 10 ferry.test/big:1
BIG_REF=ferry.test/big:1
cat >a.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: faults-a, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: $FX/app-a.docker.tar}
  - {ref: $BIG_REF, from: $T/big}
EOS
cat >b.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: faults-b, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_B_REF, from: $FX/app-b.docker.tar}
  - {ref: ferry.test/oci-a:1, from: $FX/app-a.oci.tar}
EOS
expect 0 "pack bundle A (app-a, 10 MiB layer)" "$PACK" build a.yaml -o a.ferry --allow-outside-paths || exit 1
expect 0 "pack bundle A again, zstd-compressed (blobs then come through the stream)" \
	"$PACK" build a.yaml -o az.ferry --compress zstd --allow-outside-paths || exit 1
expect 0 "pack bundle B (app-b, oci-a)" "$PACK" build b.yaml -o b.ferry --allow-outside-paths || exit 1
"$LOAD" inspect a.ferry --keyring "$KEYRING" --json >a.json
"$LOAD" inspect b.ferry --keyring "$KEYRING" --json >b.json
A_REFS="$APP_A_REF $BIG_REF"
B_REFS="$APP_B_REF ferry.test/oci-a:1"
digest_of() { jq -r --arg r "$1" '.images[] | select(.ref == $r) | .digest' a.json b.json; }
repo_of() { local p=${1#*/}; echo "${p%:*}"; }
tag_of() { echo "${1##*:}"; }
# raw_digest ADDR REF: the digest of what skopeo reads there (a clean connection).
raw_digest() {
	echo "sha256:$(skopeo inspect --tls-verify=false --raw "docker://$1/$(repo_of "$2"):$(tag_of "$2")" 2>/dev/null | sha256sum | cut -d' ' -f1)"
}
mstatus() {
	curl -s -o /dev/null -w '%{http_code}' -I \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
		"http://$1/v2/$(repo_of "$2")/manifests/$(tag_of "$2")"
}

# regcheck ADDR: every tag of every repository, every manifest it leads to (indexes
# followed), every blob those reference: all must be there (straight to the registry).
cat >regcheck.py <<'PY'
import json, sys, urllib.error, urllib.request
base = "http://" + sys.argv[1]
ACCEPT = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"])
bad, seen = [], {"manifests": 0, "blobs": 0}
def req(method, path):
    r = urllib.request.Request(base + path, method=method, headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(r, timeout=10) as f:
            return f.status, f.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
def walk(repo, ref, via):
    st, body = req("GET", "/v2/%s/manifests/%s" % (repo, ref))
    if st != 200:
        bad.append("%s: %s -> manifest %s: HTTP %d" % (repo, via, ref, st)); return
    seen["manifests"] += 1
    m = json.loads(body)
    for c in m.get("manifests") or []:
        walk(repo, c["digest"], "%s -> %s" % (via, ref))
    for d in ([m["config"]] if "config" in m else []) + (m.get("layers") or []):
        st, _ = req("HEAD", "/v2/%s/blobs/%s" % (repo, d["digest"]))
        seen["blobs"] += 1
        if st != 200:
            bad.append("%s: %s references blob %s: HTTP %d" % (repo, ref, d["digest"], st))
st, body = req("GET", "/v2/_catalog?n=1000")
if st != 200:
    print("catalog: HTTP %d" % st); sys.exit(2)
for repo in json.loads(body).get("repositories") or []:
    st, body = req("GET", "/v2/%s/tags/list" % repo)
    tags = (json.loads(body).get("tags") or []) if st == 200 else []
    for t in tags:
        walk(repo, t, t)
print("%d manifests, %d blob references checked" % (seen["manifests"], seen["blobs"]))
for b in bad:
    print("dangling: " + b)
sys.exit(1 if bad else 0)
PY
no_dangling() { assert "$1: no manifest in the registry points at a missing blob" python3 regcheck.py "$REG_ADDR"; }

# complete DESC REFS...: every image there, with the bundle's digest (skopeo, directly).
complete() {
	local desc=$1 r bad=''; shift
	for r in "$@"; do
		[ "$(raw_digest "$REG_ADDR" "$r")" = "$(digest_of "$r")" ] || bad="$bad $r"
	done
	assert "$desc: complete with the bundle's digests:${bad:+ missing$bad}" test -z "$bad"
}

# start_proxy RULE...: a fault proxy in front of the newest registry; PROXY_ADDR, PROXY_LOG.
nproxy=0
start_proxy() {
	local n r args=()
	nproxy=$((nproxy + 1))
	PROXY_LOG=$T/proxy$nproxy.log
	for r in "$@"; do args+=(--rule "$r"); done
	python3 "$PROXY" --upstream "$REG_ADDR" --port-file "$T/proxy$nproxy.port" --log "$PROXY_LOG" \
		${PROXY_CONTROL:+--control "$PROXY_CONTROL"} "${args[@]}" 2>"$T/proxy$nproxy.err" &
	PROXY_PID=$!
	at_exit "kill $PROXY_PID 2>/dev/null; wait $PROXY_PID 2>/dev/null"
	for ((n = 0; n < 100; n++)); do [ -s "$T/proxy$nproxy.port" ] && break; sleep 0.05; done
	[ -s "$T/proxy$nproxy.port" ] || { fail "fault proxy did not start: $(cat "$T/proxy$nproxy.err")"; return 1; }
	PROXY_ADDR=127.0.0.1:$(cat "$T/proxy$nproxy.port")
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
# fired DESC REGEX [MIN]: the proxy log has at least MIN (1) lines matching REGEX.
fired() {
	local n
	n=$(grep -Ec -- "$2" "$PROXY_LOG")
	assert "$1: the fault fired (${n}x /$2/)" test "$n" -ge "${3:-1}"
}
# fresh RULE...: a new empty registry and a proxy in front of it.
fresh() { start_registry || { fail "registry: $SVC_WHY"; exit 1; }; start_proxy "$@" || exit 1; }
load_via_proxy() { "$LOAD" load "$1" --keyring "$KEYRING" --to "registry://$PROXY_ADDR" --plain-http "${@:2}"; }

# ---------------------------------------------------------------- the proxy itself
fresh
expect 0 "a load through the proxy without faults" load_via_proxy az.ferry
complete "no faults" $A_REFS
fired "no faults: the proxy forwarded the uploads in chunks" '^[0-9.]+ PATCH /v2/big/blobs/uploads/.* -> 202$' 2
assert "no faults: nothing was injected" sh -c "! grep -q 'fault=' '$PROXY_LOG'"
stop_proxy
fresh
expect 0 "a load of the plain bundle through the proxy without faults" load_via_proxy a.ferry
complete "no faults, plain bundle" $A_REFS
n=$(grep -Ec '^[0-9.]+ PATCH /v2/big/blobs/uploads/.* -> 202$' "$PROXY_LOG")
assert "no faults, plain bundle: the 10 MiB layer went in one PATCH (got $n)" test "$n" -eq 1
stop_proxy
python3 "$PROXY" --upstream 127.0.0.1:1 --rule 'GET:explode:1' >/dev/null 2>"$T/badrule.err"
assert "the proxy refuses an unknown action (exit 2)" test $? -eq 2
assert "the proxy names the bad rule" grep -q "GET:explode:1" "$T/badrule.err"

# ---------------------------------------------------------------- resets, streamed chunks
# (the zstd bundle: a chunk's bytes are in memory only while it is sent)
fresh 'PATCH /v2/big/:reset:2'
expect 0 "reset before the registry saw the 2nd PATCH: retried, exit 0" load_via_proxy az.ferry
fired "reset on PATCH 2" 'PATCH /v2/big/blobs/uploads/.* -> reset fault=reset'
complete "reset on PATCH 2" $A_REFS
no_dangling "reset on PATCH 2"

fresh 'PATCH /v2/big/:reset-mid:1'
expect 0 "connection cut in the middle of the 1st PATCH: the session starts again, exit 0" load_via_proxy az.ferry
fired "reset mid-PATCH 1" 'PATCH /v2/big/blobs/uploads/.* -> reset-mid fault=reset-mid'
assert "reset mid-PATCH 1: ferry says it started the upload again" grep -q 'starting it again' "$T/err"
complete "reset mid-PATCH 1" $A_REFS
no_dangling "reset mid-PATCH 1"

# Half of the 2nd chunk reached the registry: Docker Distribution then refuses the
# session (its offset no longer matches); the first chunk's bytes are gone from memory
# (the stream has moved on), so this image fails, by name, and a second run finishes it.
fresh 'PATCH /v2/big/:reset-mid:2'
expect_err 4 "$BIG_REF: not loaded" "connection cut in the middle of the 2nd PATCH: exit 4 naming the image" load_via_proxy az.ferry
fired "reset mid-PATCH 2" 'PATCH /v2/big/blobs/uploads/.* -> reset-mid fault=reset-mid'
assert "reset mid-PATCH 2: the other image is not named as failed" sh -c "! grep -q '$APP_A_REF: not loaded' '$T/err'"
assert "reset mid-PATCH 2: the message says a re-run resumes" grep -q 'running the load again resumes it' "$T/err"
complete "reset mid-PATCH 2 (the image that made it)" "$APP_A_REF"
assert "reset mid-PATCH 2: no manifest for the failed image" test "$(mstatus "$REG_ADDR" "$BIG_REF")" = 404
no_dangling "reset mid-PATCH 2"
expect 0 "reset mid-PATCH 2: a second run through the same proxy finishes" load_via_proxy az.ferry
assert "second run skips the blobs that are there" grep -Eq 'blobs: [1-3] pushed, [1-9][0-9]* skipped' "$T/err"
complete "after the second run" $A_REFS
no_dangling "after the second run"

fresh 'PATCH /v2/big/:reset-after:1'
expect 0 "the 1st PATCH's reply lost after the registry took it: the session starts again, exit 0" load_via_proxy az.ferry
fired "reply to PATCH 1 lost" 'PATCH /v2/big/blobs/uploads/.* -> reset-after \(upstream said 202\) fault=reset-after'
assert "reply to PATCH 1 lost: ferry says it started the upload again" grep -q 'starting it again' "$T/err"
complete "reply to PATCH 1 lost" $A_REFS
no_dangling "reply to PATCH 1 lost"

fresh 'PATCH /v2/big/:reset-after:2'
expect_err 4 "$BIG_REF: not loaded" "the 2nd PATCH's reply lost (session refused afterwards): exit 4 naming the image" load_via_proxy az.ferry
fired "reply to PATCH 2 lost" 'PATCH /v2/big/blobs/uploads/.* -> reset-after \(upstream said 202\) fault=reset-after'
complete "reply to PATCH 2 lost (the image that made it)" "$APP_A_REF"
assert "reply to PATCH 2 lost: no manifest for the failed image" test "$(mstatus "$REG_ADDR" "$BIG_REF")" = 404
no_dangling "reply to PATCH 2 lost"

fresh 'PUT /blobs/uploads/:reset-after:1-3'
expect 0 "replies to completing PUTs lost after the registry stored the blob: exit 0" load_via_proxy az.ferry
# (a retried PUT may take one of the three faults: the registry then says 404, the
# session being complete, so only the first is sure to be a stored blob)
fired "replies to completing PUTs lost" 'PUT /v2/.*/blobs/uploads/.* -> reset-after \(upstream said [0-9]+\)' 3
fired "replies to completing PUTs lost, a stored blob among them" 'PUT /v2/.*/blobs/uploads/.* -> reset-after \(upstream said 201\)' 1
assert "ferry found the blobs by HEAD" grep -q 'is in the registry after all' "$T/err"
complete "replies to completing PUTs lost" $A_REFS
no_dangling "replies to completing PUTs lost"

# ---------------------------------------------------------------- resets, blobs read by position
# (the plain bundle: the worker can read the blob again, so a session Distribution
# refuses after a cut is simply started again, in the same run)
fresh 'PATCH /v2/big/:reset:1'
expect 0 "by position: reset before the registry saw the PATCH: retried, exit 0" load_via_proxy a.ferry
fired "by position: reset on PATCH 1" 'PATCH /v2/big/blobs/uploads/.* -> reset fault=reset'
complete "by position: reset on PATCH 1" $A_REFS
no_dangling "by position: reset on PATCH 1"

fresh 'PATCH /v2/big/:reset-mid:1'
expect 0 "by position: connection cut in the middle of the PATCH: the blob is sent again, exit 0" load_via_proxy a.ferry
fired "by position: reset mid-PATCH" 'PATCH /v2/big/blobs/uploads/.* -> reset-mid fault=reset-mid'
assert "by position: reset mid-PATCH: ferry says it started the upload again" grep -q 'starting it again' "$T/err"
complete "by position: reset mid-PATCH" $A_REFS
no_dangling "by position: reset mid-PATCH"

fresh 'PATCH /v2/big/:reset-after:1'
expect 0 "by position: the PATCH's reply lost after the registry took it: exit 0" load_via_proxy a.ferry
fired "by position: reply to the PATCH lost" 'PATCH /v2/big/blobs/uploads/.* -> reset-after \(upstream said 202\) fault=reset-after'
complete "by position: reply to the PATCH lost" $A_REFS
no_dangling "by position: reply to the PATCH lost"

# Every PATCH cut: bounded, the image named, no manifest, the other image loaded.
fresh 'PATCH /v2/big/:reset-mid:1-100'
expect_err 4 "$BIG_REF: not loaded" "by position: every PATCH cut: exit 4 naming the image" load_via_proxy a.ferry
fired "by position: every PATCH cut" 'PATCH /v2/big/blobs/uploads/.* -> reset-mid fault=reset-mid' 2
assert "by position: every PATCH cut: the other image is not named as failed" sh -c "! grep -q '$APP_A_REF: not loaded' '$T/err'"
complete "by position: every PATCH cut (the image that made it)" "$APP_A_REF"
assert "by position: every PATCH cut: no manifest for the failed image" test "$(mstatus "$REG_ADDR" "$BIG_REF")" = 404
no_dangling "by position: every PATCH cut"

# Under ThreadSanitizer (95-tsan.sh sets FERRY_FAULTS_THREADS_ONLY) the cases from here
# to "a registry that keeps failing" are left out: they time single requests (5xx, 429,
# slow, truncated, lying, redirecting, dripping), which this ASan run covers, and take
# minutes under TSan; the cases where upload workers meet cut sessions, the shared
# breaker and two loads at once run there too.
if [ -n "${FERRY_FAULTS_THREADS_ONLY:-}" ]; then
	echo "# single-request faults: left to the ASan run of this script"
else
# ---------------------------------------------------------------- 5xx, 429, slow, truncated
# These rules come from a control file (re-read when it changes).
PROXY_CONTROL=$T/control
printf '%s\n' '# every method fails first' 'POST:500:1' 'PATCH:502:1' 'PUT:503:1-2' 'HEAD:504:3' >"$PROXY_CONTROL"
fresh
expect 0 "500, 502, 503 and 504 answers, then success: exit 0" load_via_proxy a.ferry
fired "500" ' -> 500 fault=500'
fired "502" ' -> 502 fault=502'
fired "503" ' -> 503 fault=503' 2
fired "504" ' -> 504 fault=504'
complete "5xx then success" $A_REFS
no_dangling "5xx then success"
unset PROXY_CONTROL

fresh 'HEAD /blobs/:429:1:2'
t0=$(date +%s.%N)
expect 0 "429 with Retry-After: 2, then success: exit 0" load_via_proxy a.ferry
t1=$(date +%s.%N)
fired "429" ' -> 429 fault=429 .*retry-after=2'
# The same HEAD again, no sooner than the 2 s the registry asked for.
assert "the Retry-After wait was honoured (>= 1.9 s between the 429 and the retry)" python3 - "$PROXY_LOG" <<'PY'
import re, sys
lines = [l.split(" ", 4) for l in open(sys.argv[1]) if " HEAD " in l]
i = next(i for i, l in enumerate(lines) if "fault=429" in l[4])
t, path = float(lines[i][0]), lines[i][2]
later = [float(l[0]) for l in lines[i + 1:] if l[2] == path]
print("429 at %.3f, retried at %s" % (t, later[:1]))
sys.exit(0 if later and 1.9 <= later[0] - t <= 10 else 1)
PY
assert "the whole load was not held up much longer than that (< 15 s)" python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 15 else 1)"
complete "429" $A_REFS
no_dangling "429"

fresh 'PATCH:slow:1-2:1.5' 'HEAD:slow:2:1' 'PUT /manifests/:slow:1:1'
expect 0 "slow replies (1 to 1.5 s, within the timeouts): exit 0" load_via_proxy a.ferry
fired "slow" 'fault=slow' 4
complete "slow" $A_REFS
no_dangling "slow"

fresh 'GET /v2/$:truncate:1' 'HEAD /blobs/:truncate:1-2' 'HEAD /manifests/:truncate:1'
expect 0 "replies cut short (GET /v2/ body, HEAD heads): retried, exit 0" load_via_proxy a.ferry
fired "truncated GET body" 'GET /v2/ -> 200 truncate \(1 of 2 body bytes\)'
fired "truncated HEAD heads" 'HEAD /v2/.*/blobs/.* truncate \([0-9]+ of [0-9]+ head bytes\)' 2
complete "truncated replies" $A_REFS
no_dangling "truncated replies"

# ---------------------------------------------------------------- a registry that lies
# The lie hits app-a's config, a blob sent whole in its completing PUT, which ferry
# sends again (a larger one fails its images: docs/loading.md, "Uploads"); which of the
# image's blobs is completed first depends on the uploads' timing.
a_config=$(tar -xOf a.ferry "images/blobs/sha256/$(digest_of "$APP_A_REF" | sed 's/^sha256://')" | jq -r .config.digest)
assert "app-a's config digest is known" test "${#a_config}" -eq 71
fresh "PUT /v2/$(repo_of "$APP_A_REF")/blobs/uploads/.*digest=$a_config:lie:1"
expect 0 "a registry that answers 201 once without storing: ferry notices and sends again" load_via_proxy a.ferry
fired "lie once" 'PUT /v2/.*/blobs/uploads/.* -> 201 fault=lie .*\(not stored\)'
assert "lie once: ferry says the blob did not land" grep -q 'did not land, sending it again' "$T/err"
complete "lie once" $A_REFS
no_dangling "lie once"

fresh 'PUT /blobs/uploads/:lie:*'
expect_err 4 "answered 201 Created for sha256:[0-9a-f]{64} but does not have it" "a registry that always lies: exit 4" load_via_proxy a.ferry
fired "always lies" 'fault=lie' 3
for r in $A_REFS; do
	assert "always lies: $r named as not loaded" grep -q "$r: not loaded" "$T/err"
	assert "always lies: no manifest for $r" test "$(mstatus "$REG_ADDR" "$r")" = 404
done
no_dangling "always lies"

# ---------------------------------------------------------------- redirected blob HEADs
# A 307 is not "present": ferry follows it (here to a place where the registry has
# nothing, 404) and uploads the blobs; the old reading (307 = there) pushed manifests
# over missing blobs.
fresh 'HEAD ^/v2/(?!ferry-redirected/)[^ ]*/blobs/sha256:[0-9a-f]+$:307:1-4'
expect 0 "blob HEADs answered 307: the redirects are followed, the blobs uploaded, exit 0" load_via_proxy a.ferry
fired "307 on blob HEADs" 'HEAD /v2/[^ ]*/blobs/sha256:[0-9a-f]+ -> 307 fault=307' 4
fired "307 on blob HEADs: ferry followed the redirects" 'HEAD /v2/ferry-redirected/[^ ]* -> 404$' 4
not_sent=''
for d in $(grep -E ' -> 307 fault=307' "$PROXY_LOG" | grep -oE 'sha256:[0-9a-f]{64}' | sort -u); do
	grep -Eq "(PUT /v2/[^ ]*/blobs/uploads/[^ ]*digest=$d|POST /v2/[^ ]*mount=$d)[^ ]* -> 201" "$PROXY_LOG" || not_sent="$not_sent $d"
done
assert "307 on blob HEADs: every redirected blob was uploaded or mounted${not_sent:+ (not:$not_sent)}" test -z "$not_sent"
complete "307 on blob HEADs" $A_REFS
no_dangling "307 on blob HEADs"
assert "307 on blob HEADs: skopeo copies the image out whole" \
	skopeo copy -q --src-tls-verify=false "docker://$REG_ADDR/$(repo_of "$BIG_REF"):$(tag_of "$BIG_REF")" "dir:$T/redirected-big"

# ---------------------------------------------------------------- a registry that drips
# Each blob HEAD's answer comes one byte a second: the no-progress timer never fires,
# the per-request deadline (--timeout) does, and the breaker ends the load.
fresh 'HEAD /blobs/:drip:*:1'
t0=$(date +%s)
expect_err 4 "$APP_A_REF: not loaded" "a registry that drips its answers: exit 4 naming the images (--timeout 3)" \
	load_via_proxy a.ferry --timeout 3
t1=$(date +%s)
fired "drip" 'HEAD /v2/.*/blobs/.* -> [0-9]+ drip .*fault=drip' 1
assert "drip: the message says the deadline passed" grep -q 'no complete answer within 3 s' "$T/err"
assert "drip: both images named" grep -q "$BIG_REF: not loaded" "$T/err"
assert "drip: the load ended in bounded time ($((t1 - t0)) s < 30 s)" test $((t1 - t0)) -lt 30
assert "drip: no manifest was pushed" test "$(mstatus "$REG_ADDR" "$APP_A_REF")" = 404
expect_err 2 "--timeout '0'" "--timeout 0 is a usage error" load_via_proxy a.ferry --timeout 0

fi # single-request faults

# ---------------------------------------------------------------- a registry that keeps failing
fresh 'POST /blobs/uploads/:503:*'
t0=$(date +%s)
expect_err 4 "not loaded" "uploads always refused with 503: exit 4" load_via_proxy a.ferry
t1=$(date +%s)
fired "uploads always 503" 'POST /v2/.* -> 503 fault=503' 5
for r in $A_REFS; do assert "uploads always 503: $r named as not loaded" grep -q "$r: not loaded" "$T/err"; done
assert "uploads always 503: the load gave up in bounded time ($((t1 - t0)) s < 40 s)" test $((t1 - t0)) -lt 40
assert "uploads always 503: retries are bounded (at most 5 tries each, $(grep -c 'fault=503' "$PROXY_LOG") POSTs)" \
	test "$(grep -c 'fault=503' "$PROXY_LOG")" -le 60
assert "uploads always 503: nothing pushed" test "$(curl -s "http://$REG_ADDR/v2/_catalog" | jq '.repositories | length')" = 0
no_dangling "uploads always 503"

fresh '*:503:*'
t0=$(date +%s)
expect_err 4 "$APP_A_REF: not loaded" "every request 503: exit 4 naming the images" load_via_proxy a.ferry
t1=$(date +%s)
assert "every request 503: bounded time ($((t1 - t0)) s < 30 s)" test $((t1 - t0)) -lt 30
assert "every request 503: both images named" grep -q "$BIG_REF: not loaded" "$T/err"

# ---------------------------------------------------------------- two loads at once
start_registry || { fail "registry: $SVC_WHY"; exit 1; }
"$LOAD" load a.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http >pa.out 2>pa.err &
pa=$!
"$LOAD" load b.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http >pb.out 2>pb.err &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
assert "parallel: the load of bundle A exits 0 (got $ra)" test $ra -eq 0
assert "parallel: the load of bundle B exits 0 (got $rb)" test $rb -eq 0
[ $ra -eq 0 ] && [ $rb -eq 0 ] || sed 's/^/#   /' pa.err pb.err | head -20
complete "parallel: bundle A" $A_REFS
complete "parallel: bundle B" $B_REFS
no_dangling "parallel"
