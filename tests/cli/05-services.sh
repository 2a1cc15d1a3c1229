# The real services and image fixtures the other CLI tests use: a registry
# (with and without htpasswd auth), a private Docker daemon that can run
# containers, and images in every input form, read back by skopeo and docker.
source "$FERRY_ROOT/tests/lib.sh"
source "$FERRY_ROOT/tests/services.sh"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

# ---- registry, open
if start_registry; then
	assert "registry: GET /v2/ answers 200 on $REG_ADDR" test "$(code "$REG_URL/v2/")" = 200
	curl -s -D "$T/hdr" -o /dev/null "$REG_URL/v2/"
	assert "registry: speaks the distribution API (registry/2.0)" \
		grep -qi '^Docker-Distribution-Api-Version: registry/2.0' "$T/hdr"
	assert "registry: storage directory exists ($REG_DATA)" test -d "$REG_DATA"
	assert "registry: address is loopback" test "$REG_ADDR" = "127.0.0.1:$REG_PORT"
	OPEN_ADDR=$REG_ADDR
else
	skip "$SVC_WHY"
	OPEN_ADDR=
fi

# ---- registry, htpasswd
if start_registry --htpasswd ferry:test-pass; then
	assert "auth registry: 401 without credentials" test "$(code "$REG_URL/v2/")" = 401
	assert "auth registry: 401 with a wrong password" test "$(code -u ferry:wrong "$REG_URL/v2/")" = 401
	assert "auth registry: 401 for an unknown user" test "$(code -u nobody:test-pass "$REG_URL/v2/")" = 401
	assert "auth registry: 200 with the right credentials" test "$(code -u "$REG_USER:$REG_PASS" "$REG_URL/v2/")" = 200
	curl -s -D "$T/hdr" -o /dev/null "$REG_URL/v2/"
	assert "auth registry: Basic challenge with its realm" \
		grep -qi '^Www-Authenticate: Basic realm="ferry-test-registry"' "$T/hdr"
	assert "auth registry: bcrypt htpasswd" grep -q '^ferry:\$2y\$' "$REG_HTPASSWD"
	AUTH_ADDR=$REG_ADDR AUTH_CREDS=$REG_USER:$REG_PASS
else
	skip "$SVC_WHY"
	AUTH_ADDR=
fi

# ---- registry, HTTPS with a throw-away CA
if start_registry --tls; then
	assert "tls registry: 200 over HTTPS with its CA" test "$(code --cacert "$REG_CACERT" "$REG_URL/v2/")" = 200
	assert "tls registry: URL is https://127.0.0.1" test "$REG_URL" = "https://127.0.0.1:$REG_PORT"
	run curl -s -o /dev/null --max-time 5 "$REG_URL/v2/"
	assert "tls registry: an unknown CA is refused (curl exit $RC)" test "$RC" -eq 60
	assert "tls registry: certificate names IP 127.0.0.1" \
		sh -c "openssl x509 -in '$REG_DIR/tls/server.crt' -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1'"
	TLS_ADDR=$REG_ADDR TLS_CERTDIR=$REG_CERTDIR
else
	skip "$SVC_WHY"
	TLS_ADDR=
fi

# ---- dockerd
if start_dockerd; then
	HAVE_DOCKER=1
	assert "dockerd: socket path fits a sockaddr_un (${#DOCKER_SOCK} < 108)" test "${#DOCKER_SOCK}" -lt 108
	assert "dockerd: docker version answers on $DOCKER_HOST" \
		test -n "$(docker version --format '{{.Server.Version}}' 2>/dev/null)"
	assert "dockerd: API 1.41 or newer" \
		python3 -c 'import sys; v=sys.argv[1].split("."); sys.exit(not (int(v[0]), int(v[1])) >= (1, 41))' \
		"$(docker version --format '{{.Server.APIVersion}}')"
	assert "dockerd: vfs storage driver" test "$(docker info --format '{{.Driver}}')" = vfs
	assert "dockerd: starts empty" test -z "$(docker images -q)"
else
	HAVE_DOCKER=
	skip "$SVC_WHY"
fi

# ---- fixtures
if ! need_fixtures; then
	skip "$SVC_WHY"
	exit 0
fi
for f in app-a.docker.tar app-b.docker.tar apps.docker.tar app-a.oci.tar app-a.docker25.tar multi.oci.tar; do
	assert "fixtures: $f exists" test -s "$FX/$f"
done
assert "fixtures: app-b.ocidir is an OCI layout" test -f "$FX/app-b.ocidir/oci-layout" -a -f "$FX/app-b.ocidir/index.json"
for k in APP_A_ID APP_B_ID BASE_ID APP_A_OCI_DIGEST APP_B_OCIDIR_DIGEST APP_A_DOCKER25_DIGEST MULTI_DIGEST MULTI_ARM64_DIGEST; do
	assert "fixtures: expected.env has $k" grep -Eq "^$k='sha256:[0-9a-f]{64}'$" "$FX/expected.env"
done

rawdigest() { echo "sha256:$(skopeo inspect --raw "$1" | sha256sum | cut -d' ' -f1)"; }
assert "skopeo: oci-archive app-a.oci.tar has the recorded digest" \
	test "$(rawdigest "oci-archive:$FX/app-a.oci.tar")" = "$APP_A_OCI_DIGEST"
assert "skopeo: oci:app-b.ocidir:$APP_B_REF has the recorded digest" \
	test "$(rawdigest "oci:$FX/app-b.ocidir:$APP_B_REF")" = "$APP_B_OCIDIR_DIGEST"
assert "skopeo: app-a.docker25.tar read as OCI has the recorded digest" \
	test "$(rawdigest "oci-archive:$FX/app-a.docker25.tar")" = "$APP_A_DOCKER25_DIGEST"
assert "skopeo: app-a.docker25.tar read as docker-archive keeps the image ID" \
	test "$(skopeo inspect --raw "docker-archive:$FX/app-a.docker25.tar" | jq -r .config.digest)" = "$APP_A_ID"
assert "skopeo: app-a.docker.tar config is the image ID" \
	test "$(skopeo inspect --raw "docker-archive:$FX/app-a.docker.tar" | jq -r .config.digest)" = "$APP_A_ID"
skopeo inspect --raw "oci-archive:$FX/multi.oci.tar" >"$T/multi.json" 2>"$T/err"
assert "skopeo: multi.oci.tar is an index for linux/amd64 and linux/arm64" \
	test "$(jq -r '[.manifests[].platform | .os + "/" + .architecture] | join(",")' "$T/multi.json")" = "linux/amd64,linux/arm64"
assert "skopeo: multi.oci.tar index has the recorded digest" \
	test "$(sha256sum <"$T/multi.json" | cut -d' ' -f1)" = "${MULTI_DIGEST#sha256:}"
assert "skopeo: multi.oci.tar arm64 instance has an arm64 config" \
	test "$(skopeo inspect --override-arch arm64 --config "oci-archive:$FX/multi.oci.tar" | jq -r .architecture)" = arm64
tar -xOf "$FX/app-a.docker25.tar" index.json >"$T/idx.json"
assert "docker25 form: index.json names the image like Docker 25" \
	test "$(jq -r '.manifests[0].annotations["io.containerd.image.name"]' "$T/idx.json")" = "$APP_A_REF"
tar -xOf "$FX/app-a.docker25.tar" manifest.json >"$T/man.json"
assert "docker25 form: manifest.json points into blobs/sha256" \
	test "$(jq -r '.[0].Config' "$T/man.json")" = "blobs/sha256/${APP_A_ID#sha256:}"
assert "fixtures: app-a and app-b share their first two layers" \
	test "$(cut -d' ' -f1-2 <<<"$APP_A_LAYERS")" = "$(cut -d' ' -f1-2 <<<"$APP_B_LAYERS")"
assert "fixtures: app-a and app-b differ in their last layer" \
	test "$(cut -d' ' -f3 <<<"$APP_A_LAYERS")" != "$(cut -d' ' -f3 <<<"$APP_B_LAYERS")"

# ---- the fixtures in the real daemon
if [ -n "$HAVE_DOCKER" ]; then
	docker load -q -i "$FX/apps.docker.tar" >"$T/out" 2>&1
	assert "docker: load apps.docker.tar gives app-a its recorded image ID" \
		test "$(docker image inspect --format '{{.Id}}' "$APP_A_REF" 2>/dev/null)" = "$APP_A_ID"
	assert "docker: load apps.docker.tar gives app-b its recorded image ID" \
		test "$(docker image inspect --format '{{.Id}}' "$APP_B_REF" 2>/dev/null)" = "$APP_B_ID"
	out=$(timeout 60 docker run --rm --network none "$APP_A_REF" /bin/cat /hello.txt 2>"$T/err")
	assert "docker: run --network none $APP_A_REF prints /hello.txt" test "$out" = "$HELLO_A"
	out=$(timeout 60 docker run --rm --network none "$APP_B_REF" 2>"$T/err")
	assert "docker: run $APP_B_REF with its default CMD prints /hello.txt" test "$out" = "$HELLO_B"
	docker rmi -f "$APP_A_REF" "$APP_B_REF" >/dev/null 2>&1
	docker load -q -i "$FX/app-a.docker25.tar" >"$T/out" 2>&1
	assert "docker: loads the Docker-25-form archive with the same image ID" \
		test "$(docker image inspect --format '{{.Id}}' "$APP_A_REF" 2>/dev/null)" = "$APP_A_ID"
fi

# ---- the fixtures in the real registries (pushed by skopeo)
if [ -n "$OPEN_ADDR" ]; then
	expect 0 "registry: skopeo pushes app-a.oci.tar" \
		skopeo copy -q --dest-tls-verify=false "oci-archive:$FX/app-a.oci.tar" "docker://$OPEN_ADDR/ferry/app-a:1"
	assert "registry: holds app-a with the recorded manifest digest" \
		test "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$OPEN_ADDR/ferry/app-a:1")" = "$APP_A_OCI_DIGEST"
	expect 0 "registry: skopeo pushes the multi-platform index (--all)" \
		skopeo copy -q --all --dest-tls-verify=false "oci-archive:$FX/multi.oci.tar" "docker://$OPEN_ADDR/ferry/multi:1"
	assert "registry: holds the index with the recorded digest" \
		test "$(skopeo inspect --raw --tls-verify=false "docker://$OPEN_ADDR/ferry/multi:1" | sha256sum | cut -d' ' -f1)" = "${MULTI_DIGEST#sha256:}"
fi
if [ -n "$TLS_ADDR" ]; then
	expect_err 1 'x509|certificate' "tls registry: skopeo refuses it without the CA" \
		skopeo copy -q "oci-archive:$FX/app-a.oci.tar" "docker://$TLS_ADDR/ferry/app-a:1"
	expect 0 "tls registry: skopeo pushes with the CA from REG_CERTDIR" \
		skopeo copy -q --dest-cert-dir "$TLS_CERTDIR" "oci-archive:$FX/app-a.oci.tar" "docker://$TLS_ADDR/ferry/app-a:1"
	assert "tls registry: holds app-a with the recorded digest" \
		test "$(skopeo inspect --cert-dir "$TLS_CERTDIR" --format '{{.Digest}}' "docker://$TLS_ADDR/ferry/app-a:1")" = "$APP_A_OCI_DIGEST"
fi
if [ -n "$AUTH_ADDR" ]; then
	expect_err 1 'unauthorized|authentication required' "auth registry: push without credentials is refused" \
		skopeo copy -q --dest-tls-verify=false "oci:$FX/app-b.ocidir:$APP_B_REF" "docker://$AUTH_ADDR/ferry/app-b:1"
	expect 0 "auth registry: push with credentials works" \
		skopeo copy -q --dest-tls-verify=false --dest-creds "$AUTH_CREDS" \
		"oci:$FX/app-b.ocidir:$APP_B_REF" "docker://$AUTH_ADDR/ferry/app-b:1"
	assert "auth registry: holds app-b with the recorded digest" \
		test "$(skopeo inspect --tls-verify=false --creds "$AUTH_CREDS" --format '{{.Digest}}' "docker://$AUTH_ADDR/ferry/app-b:1")" = "$APP_B_OCIDIR_DIGEST"
fi

# ---- cleanup where mounts stay behind (a chroot with its own mount namespace)
# dockerd bind-mounts its data root onto itself; the stop must unmount the root
# itself, not only what lies below it.
mkdir -p "$T/dkstop/root/sub" "$T/dkstop/run"
if mount --bind "$T/dkstop/root" "$T/dkstop/root" 2>/dev/null; then
	mount --bind "$T/dkstop/root/sub" "$T/dkstop/root/sub"
	sleep 30 & gone_pid=$!
	kill "$gone_pid"; wait "$gone_pid" 2>/dev/null
	_svc_stop_dockerd "$gone_pid" "$T/dkstop/run" "$T/dkstop/root"
	assert "dockerd stop: unmounts the data root's bind mount onto itself, and what lies below" \
		bash -c '! grep -q " $1[ /]" /proc/mounts' _ "$T/dkstop/root"
	# A temporary directory that cannot be removed (a mount still inside it) is a
	# warning when a script that sources services.sh on its own exits, not a failure.
	expect_err 0 'warning: could not remove the temporary directory' \
		"services.sh: an unremovable temporary directory is a warning, exit 0" \
		bash -c 'set -eu; unset -f at_exit; source "$FERRY_ROOT/tests/services.sh"
			mkdir "$T/busy"; mount -t tmpfs ferry-test "$T/busy"; echo "$T" >"$1"; exit 0' _ "$T/busy-T"
	busy=$(cat "$T/busy-T" 2>/dev/null)
	[ -n "$busy" ] && umount "$busy/busy" 2>/dev/null && rm -rf "$busy"
else
	skip "cleanup with mounts: mount --bind is not allowed here"
fi
