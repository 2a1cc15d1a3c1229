#!/usr/bin/env bash
# The Docker Engine: pack images straight from a real daemon (docker-daemon:) and from
# docker save files, remove them, load them back with ferry-load --to docker:// and
# find the same IDs and tags; a corrupted layer loads nothing; an absent or failing
# daemon is exit 4 with a message that names it.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "docker target: image fixtures: $SVC_WHY"; exit 0; }
start_dockerd || { skip "docker target: no Docker daemon: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1

id_of() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null; }
rm_all() {
	local n
	docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1
	# parents of built images go once their children are gone
	for n in 1 2 3 4 5; do
		[ -z "$(docker images -aq)" ] && return 0
		docker images -aq | sort -u | xargs -r docker rmi -f >/dev/null 2>&1
	done
	test -z "$(docker images -aq)"
}
# flip_byte BUNDLE ENTRY: changes one byte inside ENTRY's data, in place.
flip_byte() {
	python3 - "$1" "$2" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = t.getmember(sys.argv[2])
    off = m.offset_data + m.size // 2
with open(sys.argv[1], "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))
PY
}

# --- images in the daemon: the fixtures, and one built here
docker load -q -i "$FX/apps.docker.tar" >/dev/null || { fail "docker load of the fixtures"; exit 1; }
mkdir ctx && printf 'hello from ferry app-c\n' >ctx/hello.txt &&
	printf 'FROM %s\nCOPY hello.txt /hello.txt\n' "$APP_A_REF" >ctx/Dockerfile
assert "docker build of ferry.test/app-c:1" env DOCKER_BUILDKIT=0 docker build -q -t ferry.test/app-c:1 ctx
APP_C_ID=$(id_of ferry.test/app-c:1)
assert "app-a is in the daemon with its fixture ID" test "$(id_of "$APP_A_REF")" = "$APP_A_ID"

cat >daemon.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: from-daemon, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: "docker-daemon:$APP_A_REF"}
  - {ref: $APP_B_REF, from: "docker-daemon://$DOCKER_SOCK/$APP_B_REF"}
  - {ref: ferry.test/app-c:1, from: "docker-daemon:ferry.test/app-c:1"}
  - {ref: $MULTI_REF, from: $FX/multi.oci.tar}
EOS
expect 0 "pack from the daemon (docker-daemon:REF and docker-daemon://SOCK/REF)" \
	"$PACK" build daemon.yaml -o daemon.ferry --allow-outside-paths
expect 0 "the daemon bundle verifies" "$LOAD" verify daemon.ferry --keyring "$KEYRING"
assert "no docker save temp file left behind" test -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -newer daemon.yaml -name '*.tar' 2>/dev/null)"

cat >saved.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: from-save, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: $FX/app-a.docker.tar}
  - {ref: $APP_B_REF, from: $FX/app-b.docker.tar}
EOS
expect 0 "pack from docker save files" "$PACK" build saved.yaml -o saved.ferry --allow-outside-paths
assert "the same image packed from the daemon and from docker save has the same digest" test \
	"$("$LOAD" inspect daemon.ferry --json | jq -r --arg r "$APP_A_REF" '.images[]|select(.ref==$r).digest')" = \
	"$("$LOAD" inspect saved.ferry --json | jq -r --arg r "$APP_A_REF" '.images[]|select(.ref==$r).digest')"

# --- load them back
assert "every image removed from the daemon" rm_all
expect 0 "load the daemon bundle into docker://unix://SOCK" \
	"$LOAD" load daemon.ferry --keyring "$KEYRING" --to "docker://unix://$DOCKER_SOCK"
assert "the summary line: 4 images loaded, 0 failed, into the daemon's socket" \
	grep -q "docker://unix://$DOCKER_SOCK: 4 images loaded, 0 failed; into unix://$DOCKER_SOCK\$" "$T/err"
assert "app-a back with its original ID" test "$(id_of "$APP_A_REF")" = "$APP_A_ID"
assert "app-b back with its original ID" test "$(id_of "$APP_B_REF")" = "$APP_B_ID"
assert "app-c (built here) back with the ID it had when built" test "$(id_of ferry.test/app-c:1)" = "$APP_C_ID"
assert "multi-platform index: the daemon's platform was loaded" test "$(id_of "$MULTI_REF")" = "$APP_A_OCI_CONFIG"
assert "tagged with the original references" sh -c "docker images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ' | grep -qx '$APP_A_REF $APP_B_REF ferry.test/app-c:1 $MULTI_REF '"
run docker run --rm --network none "$APP_A_REF"
assert "docker run of app-a prints its content" test "$(cat "$T/out")" = "$HELLO_A"
run docker run --rm --network none ferry.test/app-c:1
assert "docker run of app-c prints its content" test "$(cat "$T/out")" = "hello from ferry app-c"
expect 0 "loading again is harmless (--json)" "$LOAD" load daemon.ferry --keyring "$KEYRING" --to "docker://unix://$DOCKER_SOCK" -q --json
assert "--json: the docker target, every image loaded under its tag, the archive's bytes" jq -e \
	'.targets[0].kind == "docker" and .targets[0].verdict == "ok" and ([.targets[0].images[] | .loaded and .reference == .ref] | all) and .targets[0].bytes > 0 and .targets[0].blobs.sent > 0' "$T/out"

assert "every image removed again" rm_all
expect 0 "load the docker-save bundle into docker:// (DOCKER_HOST)" \
	"$LOAD" load saved.ferry --keyring "$KEYRING" --to docker://
assert "app-a from docker save: same ID" test "$(id_of "$APP_A_REF")" = "$APP_A_ID"
assert "app-b from docker save: same ID" test "$(id_of "$APP_B_REF")" = "$APP_B_ID"

assert "every image removed again" rm_all
expect 0 "--image loads only the image asked for" \
	"$LOAD" load daemon.ferry --keyring "$KEYRING" --to "docker://$DOCKER_SOCK" --image "$APP_B_REF"
assert "only app-b is there" test "$(docker images --format '{{.Repository}}:{{.Tag}}')" = "$APP_B_REF"

assert "every image removed again" rm_all
expect_err 0 "dry run: 4 images would be loaded" "--dry-run talks to the daemon and loads nothing" \
	"$LOAD" load daemon.ferry --keyring "$KEYRING" --to docker:// --dry-run
assert "nothing loaded by the dry run" test -z "$(docker images -aq)"
expect 0 "one read feeds docker:// and oci:DIR together" \
	"$LOAD" load saved.ferry --keyring "$KEYRING" --to docker:// --to "oci:$T/layout"
assert "docker:// got app-a with its ID while oci:DIR was written" test "$(id_of "$APP_A_REF")" = "$APP_A_ID"
assert "oci:DIR got app-a too" skopeo inspect --raw "oci:$T/layout:$APP_A_REF"

# --- a corrupted layer: nothing of the bundle is loaded (one request carries every
# image; it is cut off before manifest.json and the tar's end)
assert "every image removed again" rm_all
cp daemon.ferry bad.ferry
# app-a's last layer (its own /hello.txt; app-b does not share it)
mdig=$("$LOAD" inspect daemon.ferry --json | jq -r --arg r "$APP_A_REF" '.images[]|select(.ref==$r).digest')
big=$(tar -xOf bad.ferry "images/blobs/sha256/${mdig#sha256:}" | jq -r '.layers[-1].digest')
big=images/blobs/sha256/${big#sha256:}
assert "found the last layer of app-a ($big)" sh -c "tar -tf bad.ferry | grep -qx '$big'"
flip_byte bad.ferry "$big"
expect_err 1 "image $APP_A_REF(, [^ ]+)*: blob sha256:[0-9a-f]{64} did not verify" \
	"a corrupted layer fails verification and names the image" \
	"$LOAD" load bad.ferry --keyring "$KEYRING" --to "docker://unix://$DOCKER_SOCK" --json
assert "--json: verification-failed, and no image loaded into the daemon, each with why" jq -e \
	'.exitCode == 1 and ([.targets[0].images[] | .loaded == false and (.error | test("did not verify"))] | all)' "$T/out"
assert "every image of the bundle is named as not loaded, and why" \
	grep -q "docker://unix://$DOCKER_SOCK: $APP_B_REF: not loaded: a blob of the bundle did not verify" "$T/err"
assert "the summary says none was loaded" grep -q "docker://unix://$DOCKER_SOCK: 0 images loaded, 4 failed;" "$T/err"
assert "nothing of the corrupted bundle reached the daemon (no image at all)" test -z "$(docker images -aq)"
assert "the daemon did not commit a half image (no dangling layers)" \
	sh -c "! ls '$DOCKERD_ROOT/image/vfs/imagedb/content/sha256' 2>/dev/null | grep -q ."

# --- zstd layers: Docker 20.10 cannot load them; said before the daemon commits anything
docker load -q -i "$FX/app-a.docker.tar" >/dev/null
api=$(docker version --format '{{.Server.APIVersion}}')
expect 0 "pack with zstd layers" "$PACK" build saved.yaml -o zstd.ferry --layer-compression zstd --allow-outside-paths
assert "every image removed again" rm_all
if [ "$(printf '%s\n' "$api" 1.42 | sort -V | head -1)" = "$api" ] && [ "$api" != 1.42 ]; then
	expect_err 4 "zstd-compressed.*Docker Engine API $api cannot load" "zstd layers into a daemon older than API 1.42: exit 4, said why" \
		"$LOAD" load zstd.ferry --keyring "$KEYRING" --to docker://
	assert "nothing loaded from the zstd bundle" test -z "$(docker images -aq)"
else
	expect 0 "zstd layers into a daemon of API $api" "$LOAD" load zstd.ferry --keyring "$KEYRING" --to docker://
fi

# --- no daemon, bad addresses
expect_err 4 "docker daemon at unix://$T/none.sock: cannot connect" "no daemon on the socket: exit 4 naming the socket" \
	"$LOAD" load saved.ferry --keyring "$KEYRING" --to "docker://unix://$T/none.sock"
port=$(free_port)
expect_err 4 "docker daemon at tcp://127.0.0.1:$port" "no daemon on tcp: exit 4 naming the address" \
	"$LOAD" load saved.ferry --keyring "$KEYRING" --to "docker://tcp://127.0.0.1:$port"
expect_err 4 "docker daemon at unix:///nonexistent/ferry.sock" "DOCKER_HOST is the default" \
	env DOCKER_HOST=unix:///nonexistent/ferry.sock "$LOAD" load saved.ferry --keyring "$KEYRING" --to docker://
expect_err 2 "docker://bogus" "a malformed docker address is a usage error" \
	"$LOAD" load saved.ferry --keyring "$KEYRING" --to docker://bogus
expect_err 2 "only unix:// and plain tcp://" "https daemons are refused up front" \
	"$LOAD" load saved.ferry --keyring "$KEYRING" --to docker://https://127.0.0.1:2376
cat >nosock.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: m, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_B_REF, from: "docker-daemon:///nonexistent/x.sock/$APP_B_REF"}
EOS
expect_err 4 "nosock.yaml:.*no docker socket found" "pack from a docker-daemon:// socket that is not there: exit 4" \
	"$PACK" build nosock.yaml -o x.ferry
cat >missing.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: m, version: 1.0.0, vendor: Ferry Tests}
images:
  - {ref: ferry.test/nope:1, from: "docker-daemon:ferry.test/nope:1"}
EOS
expect_err 4 "missing.yaml:5:.*docker-daemon:ferry.test/nope:1.*HTTP 404" "pack of an image the daemon lacks: exit 4, spec line named" \
	"$PACK" build missing.yaml -o m.ferry
assert "no bundle left by the failed pack" test ! -e m.ferry

# --- a daemon that fails the load, hostile text included
cat >fake.py <<'PY'
import http.server, json, sys
mode = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, body, ctype="application/json"):
        self.send_response(code); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path == "/_ping": return self.reply(200, b"OK", "text/plain")
        if self.path == "/version":
            api = "1.10" if mode == "old" else "1.41"
            return self.reply(200, json.dumps({"ApiVersion": api, "Os": "linux", "Arch": "amd64"}).encode())
        self.reply(404, b'{"message":"no such thing"}')
    def do_POST(self):
        if mode == "drop":  # the daemon goes away in the middle of the upload
            self.rfile.read(4096); self.connection.shutdown(2); self.connection.close(); return
        while True:  # read the chunked body to its end
            n = int(self.rfile.readline().split(b";")[0], 16)
            self.rfile.read(n + 2)
            if n == 0: break
        if mode == "refuse": return self.reply(500, b'{"message":"no space left on device"}')
        if mode == "garbage": return self.reply(200, b"<html>not json</html>")
        msg = "disk on fire \x1b[31mred\x07"
        self.reply(200, (json.dumps({"stream": "Loading layer\n"}) + "\r\n" +
                         json.dumps({"errorDetail": {"message": msg}, "error": msg}) + "\r\n").encode())
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
for mode in fail old garbage drop refuse; do
	port=$(free_port)
	python3 fake.py "$port" "$mode" >/dev/null 2>&1 &
	pid=$!
	at_exit "kill $pid 2>/dev/null"
	for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/_ping" >/dev/null && break; sleep 0.1; done
	case $mode in
	fail) expect_err 4 "image load failed: disk on fire \\\\x1b\[31mred\\\\x07" \
		"the daemon's error message is reported, escaped, exit 4" \
		"$LOAD" load saved.ferry --keyring "$KEYRING" --to "docker://tcp://127.0.0.1:$port"
		assert "no raw escape byte reached stderr" sh -c "! grep -q \$'\\x1b' '$T/err'" ;;
	old) expect_err 4 "API 1.10 is older than" "a daemon speaking too old an API: exit 4" \
		"$LOAD" load saved.ferry --keyring "$KEYRING" --to "docker://tcp://127.0.0.1:$port" ;;
	drop) expect_err 4 "docker daemon at tcp://127.0.0.1:$port: (POST /images/load|the daemon stopped)" \
		"a daemon that drops the connection mid-upload: exit 4" \
		"$LOAD" load saved.ferry --keyring "$KEYRING" --to "docker://tcp://127.0.0.1:$port" ;;
	refuse) expect_err 4 "image load refused \\(HTTP 500\\): no space left on device" \
		"a daemon that answers HTTP 500: exit 4 with its message" \
		"$LOAD" load saved.ferry --keyring "$KEYRING" --to "docker://tcp://127.0.0.1:$port" ;;
	garbage) expect_err 4 "unreadable reply to the image load" "a reply that is not a JSON message stream: exit 4" \
		"$LOAD" load saved.ferry --keyring "$KEYRING" --to "docker://tcp://127.0.0.1:$port" ;;
	esac
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
done

# --- a daemon on a unix socket whose POST /images/load answer never ends (a JSON
# message every 0.2 s, chunked, forever): the deadline (--timeout) runs from the end
# of the archive, and the load fails cleanly, the daemon named
cat >endless.py <<'PY'
import http.server, json, socketserver, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def address_string(self): return "unix"
    def reply(self, code, body, ctype="application/json"):
        self.send_response(code); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path == "/_ping": return self.reply(200, b"OK", "text/plain")
        if self.path == "/version":
            return self.reply(200, json.dumps({"ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"}).encode())
        self.reply(404, b'{"message":"no such thing"}')
    def do_POST(self):
        while True:  # the archive, to its end
            n = int(self.rfile.readline().split(b";")[0], 16)
            self.rfile.read(n + 2)
            if n == 0: break
        with open(sys.argv[2], "w") as f: f.write("archive received\n")
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
        msg = (json.dumps({"stream": "Loading layer\n"}) + "\r\n").encode()
        try:
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(msg), msg)); self.wfile.flush(); time.sleep(0.2)
        except OSError:
            pass
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
s = S(sys.argv[1], H)
print("ready", flush=True)
s.serve_forever()
PY
sock=$T/endless.sock
python3 endless.py "$sock" "$T/endless.seen" >endless.out 2>endless.err &
pid=$!
at_exit "kill $pid 2>/dev/null"
for _ in $(seq 50); do grep -q ready endless.out && break; sleep 0.1; done
t0=$(date +%s)
expect_err 4 "docker daemon at unix://$sock: POST /images/load: no complete answer within 2 s of the end of the request" \
	"a daemon whose image-load answer never ends: exit 4 once --timeout passed, the daemon named" \
	"$LOAD" load saved.ferry --keyring "$KEYRING" --to "docker://unix://$sock" --timeout 2
t1=$(date +%s)
assert "the endless daemon did get the whole archive" grep -q "archive received" "$T/endless.seen"
assert "the target is named as having loaded nothing" grep -q "docker://unix://$sock: 0 images loaded, 2 failed" "$T/err"
assert "the endless answer was given up in bounded time ($((t1 - t0)) s < 30 s)" test $((t1 - t0)) -lt 30
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
exit 0
