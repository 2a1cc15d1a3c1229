#!/usr/bin/env bash
# End to end with a real distribution image: a debootstrap'd Debian 12 imported into
# Docker and saved, packed with an application image, loaded into a fresh registry,
# pulled by a real daemon and run.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures debian || { skip "debian fixture: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
# the inputs beside the spec (spec paths outside its directory are refused)
cp -al "$FX_DEBIAN" fxd 2>/dev/null || cp -a "$FX_DEBIAN" fxd
cp -al "$FX" fx 2>/dev/null || cp -a "$FX" fx
cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: deb, version: "12"}
images:
  - {ref: $DEBIAN_REF, from: fxd/debian.docker.tar}
  - {ref: $APP_A_REF, from: fx/app-a.docker.tar}
EOS
expect 0 "pack the Debian image and an app image" "$PACK" build spec.yaml -o deb.ferry --compress zstd
assert "the zstd bundle is smaller than the docker-save input" test "$(stat -c %s deb.ferry)" -lt "$(stat -c %s "$FX_DEBIAN/debian.docker.tar")"
start_registry || { skip "registry: $SVC_WHY"; exit 0; }
expect 0 "load into a fresh registry" "$LOAD" load deb.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http
want=$("$LOAD" inspect deb.ferry --json | jq -r --arg r "$DEBIAN_REF" '.images[] | select(.ref == $r) | .digest')
got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG_ADDR/debian:12")
assert "skopeo sees the bundle's manifest digest ($want)" test -n "$want" -a "$want" = "$got"
assert "the image ID (config digest) is the one Docker gave it" test "$(skopeo inspect --tls-verify=false --raw "docker://$REG_ADDR/debian:12" | jq -r .config.digest)" = "$DEBIAN_ID"
expect 0 "a second load" "$LOAD" load deb.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http
assert "the second load pushes no blob" grep -q "0 pushed" "$T/err"
assert "the second load does not read the blobs the registry holds" grep -q "already held by every target by digest: not read again" "$T/err"
if start_dockerd; then
	if docker pull -q "$REG_ADDR/debian:12" >"$T/pull.out" 2>&1; then
		pass "docker pulls the Debian image from the registry"
		assert "docker runs it: Debian $DEBIAN_VERSION" test "$(docker run --rm --network none "$REG_ADDR/debian:12" cat /etc/debian_version)" = "$DEBIAN_VERSION"
	else
		fail "docker pull: $(tail -2 "$T/pull.out")"
	fi
else
	skip "dockerd: $SVC_WHY"
fi
exit 0
