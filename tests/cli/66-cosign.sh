#!/usr/bin/env bash
# cosign image signatures, made here in cosign's exact formats (python3-cryptography:
# ECDSA P-256; the legacy simple-signing .sig manifest and a sigstore bundle referrer)
# beside a fixture image, in an OCI layout and in a real docker-registry (image pushed
# with skopeo, signature with curl): packed and checked with --cosign-key, re-checked
# by verify and load, loaded into a second registry, an oci:DIR and a Docker daemon,
# skopeo finding the .sig tag with the same digest; served by ferry-load serve (the
# .sig tag, the referrers API); every forged, missing or oversized signature refused.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
command -v jq >/dev/null || { skip "jq not installed"; exit 0; }
python3 -c 'import cryptography' 2>/dev/null || { skip "python3-cryptography not installed (scripts/install-deps.sh)"; exit 0; }
need_fixtures || { skip "image fixtures: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1
SIGN="python3 $FERRY_ROOT/tests/tools/cosign-sign.py"
$SIGN keygen cosign.key cosign.pub && $SIGN keygen other.key other.pub || { fail "cosign test keys"; exit 1; }
IMG=$APP_A_OCI_DIGEST

# layout NAME: the fixture image as an OCI layout directory of its own
layout() { mkdir "$1" && tar -xf "$FX/app-a.oci.tar" -C "$1"; }
spec() { # SPEC LAYOUT [EXTRA-IMAGE-KEYS]
	printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: signed, version: 1.0.0}\nimages:\n  - {ref: ferry.test/signed:1, from: %s%s}\n' \
		"$2" "${3:+, $3}" >"$1"
}

layout good
SIG=$($SIGN simple good "$IMG" cosign.key)
REF=$($SIGN bundle good "$IMG" cosign.key)
spec good.yaml good
expect 0 "pack an image with a legacy signature and a sigstore bundle, checked with --cosign-key" \
	"$PACK" build good.yaml -o good.ferry --cosign-key cosign.pub --no-sbom
jq_yaml() { python3 -c 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin)))'; }
tar -xOf good.ferry bundle.yaml | jq_yaml >good.json
assert "bundle.yaml lists both signatures against the image, verified" test \
	"$(jq -c '.images[0] | [.cosign, [.signatures[] | .kind, .digest]]' good.json)" = \
	"$(jq -nc --arg s "$SIG" --arg r "$REF" '["verified", ["simple-signing", $s, "sigstore-bundle", $r]]')"
assert "the image's digest is the vendor's (the signatures are not images)" test \
	"$(jq -r '.images[0].digest' good.json)" = "$IMG"
expect 0 "inspect" "$LOAD" inspect good.ferry --keyring "$KEYRING"
assert "inspect says the signatures were verified at pack" grep -q 'cosign: 2 signatures carried, verified with the key' "$T/out"
expect 0 "verify --cosign-key re-checks offline" "$LOAD" verify good.ferry --keyring "$KEYRING" --cosign-key cosign.pub
assert "verify says so" grep -q 'cosign: every image has a signature that verifies' "$T/out"
expect_err 1 "ferry.test/signed:1: no cosign signature verifies with other.pub" "verify --cosign-key with another key refuses the image" \
	"$LOAD" verify good.ferry --keyring "$KEYRING" --cosign-key other.pub
expect_err 2 "not a PEM public key" "verify --cosign-key with a file that is no key: usage error" \
	"$LOAD" verify good.ferry --keyring "$KEYRING" --cosign-key good.yaml
expect_err 2 "--parts-only checks no entries, so no cosign signature; leave out --cosign-key" \
	"verify --parts-only --cosign-key: usage error (the key would be ignored)" \
	"$LOAD" verify good.ferry --keyring "$KEYRING" --parts-only --cosign-key cosign.pub

# ---- unverified: carried, and inspect says so
expect 0 "pack without --cosign-key carries the signatures unchecked" "$PACK" build good.yaml -o plain.ferry --no-sbom
expect 0 "inspect (unverified)" "$LOAD" inspect plain.ferry --keyring "$KEYRING"
assert "inspect says they were not verified" grep -q 'cosign: 2 signatures carried, NOT verified' "$T/out"

# ---- into a real registry and an oci:DIR
start_registry || { skip "registry: $SVC_WHY"; exit 0; }
R=$REG_ADDR
expect 0 "load --cosign-key into a registry" "$LOAD" load good.ferry --keyring "$KEYRING" --cosign-key cosign.pub \
	--to "registry://$R" --plain-http
raw() { skopeo inspect --tls-verify=false --raw "docker://$R/$1" 2>/dev/null | sha256sum | cut -d' ' -f1; }
assert "skopeo reads the image at its tag with the vendor's digest" test "sha256:$(raw signed:1)" = "$IMG"
assert "skopeo finds the .sig tag with the signature's digest" test "sha256:$(raw "signed:sha256-${IMG#sha256:}.sig")" = "$SIG"
assert "the sigstore bundle is there by digest, its subject the image" test \
	"$(skopeo inspect --tls-verify=false --raw "docker://$R/signed@$REF" | jq -r .subject.digest)" = "$IMG"
expect 0 "load into an oci:DIR" "$LOAD" load good.ferry --keyring "$KEYRING" --to "oci:$T/out-layout"
assert "oci:DIR names the .sig manifest as cosign does" test "$(jq -r --arg n "ferry.test/signed:sha256-${IMG#sha256:}.sig" \
	'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' out-layout/index.json)" = "$SIG"
assert "skopeo reads the .sig manifest out of the oci:DIR" test \
	"sha256:$(skopeo inspect --raw "oci:$T/out-layout:ferry.test/signed:sha256-${IMG#sha256:}.sig" | sha256sum | cut -d' ' -f1)" = "$SIG"
spec again.yaml out-layout:ferry.test/signed:1
expect 0 "the oci:DIR output packs again, its signatures found there" "$PACK" build again.yaml -o again.ferry \
	--cosign-key cosign.pub --no-sbom

# ---- refused at pack
hostile() { # NAME DESC REGEX SIGN-ARGS...
	local name=$1 desc=$2 re=$3; shift 3
	layout "$name"
	$SIGN simple "$name" "$IMG" "$@" >/dev/null
	spec "$name.yaml" "$name"
	expect_err 1 "$re" "$desc" "$PACK" build "$name.yaml" -o "$name.ferry" --cosign-key cosign.pub --no-sbom
	assert "$desc: no bundle written" test ! -e "$name.ferry"
}
hostile otherkey "a signature by another key is refused" \
	"image ferry.test/signed:1: no cosign signature verifies with cosign.pub: the signature is not the key's" other.key
hostile otherdigest "a valid signature for another digest is refused" \
	"no cosign signature verifies with cosign.pub: the payload signs another manifest digest" cosign.key --signs "sha256:$(printf x | sha256sum | cut -d' ' -f1)"
hostile tampered "a payload whose digest field was changed is refused" \
	"no cosign signature verifies with cosign.pub: the signature is not the key's" cosign.key --tamper
hostile truncated "a truncated signature annotation is refused" \
	"no cosign signature verifies with cosign.pub: the signature is not" cosign.key --sig MEUCIQDx
hostile notb64 "a non-base64 signature annotation is refused" \
	"no cosign signature verifies with cosign.pub: the signature is not base64" cosign.key --sig 'not base64!'
layout unsigned
spec unsigned.yaml unsigned
expect_err 1 "image ferry.test/signed:1: no cosign signature verifies with cosign.pub: it has no cosign signature" \
	"a missing signature is refused when a key is required" "$PACK" build unsigned.yaml -o unsigned.ferry --cosign-key cosign.pub --no-sbom
spec perimage.yaml unsigned "cosign-key: cosign.pub"
expect_err 1 "no cosign signature verifies with .*cosign.pub: it has no cosign signature" \
	"cosign-key: in the spec requires a signature of that image" "$PACK" build perimage.yaml -o perimage.ferry --no-sbom
spec perimage-good.yaml good "cosign-key: cosign.pub"
expect 0 "cosign-key: in the spec accepts a signed image" "$PACK" build perimage-good.yaml -o perimage.ferry --no-sbom

# ---- refused at load: carried unverified, then checked with the key
layout forged
$SIGN simple forged "$IMG" other.key >/dev/null
spec forged.yaml forged
expect 0 "pack a forged signature without --cosign-key (carried unchecked)" "$PACK" build forged.yaml -o forged.ferry --no-sbom
expect_err 1 "no cosign signature verifies with cosign.pub: the signature is not the key's" \
	"verify --cosign-key refuses it" "$LOAD" verify forged.ferry --keyring "$KEYRING" --cosign-key cosign.pub
expect_err 1 "ferry.test/signed:1: not loaded: no cosign signature verifies with cosign.pub" \
	"load --cosign-key refuses it (exit 1)" "$LOAD" load forged.ferry --keyring "$KEYRING" --cosign-key cosign.pub \
	--to "registry://$R/forged" --plain-http
assert "the refused image was not tagged in the registry" test \
	"$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/forged/signed/manifests/1")" = 404
expect_err 1 "ferry.test/signed:1: not loaded: no cosign signature verifies" "load --cosign-key into oci:DIR refuses it too" \
	"$LOAD" load forged.ferry --keyring "$KEYRING" --cosign-key cosign.pub --to "oci:$T/forged-layout"
assert "the refused image is not in the oci:DIR index" test -z "$(jq -r '.manifests[]?.annotations["org.opencontainers.image.ref.name"]' forged-layout/index.json 2>/dev/null | grep -v '^null$')"

# ---- from a registry: the image pushed with skopeo, its .sig manifest and blobs with
# curl, packed by ref (the legacy tag fetched beside the image)
# push_sig LAYOUT REPO: every blob of the .sig manifest in LAYOUT, then the manifest
# under its tag (curl, monolithic uploads)
push_sig() {
	local lay=$1 repo=$2 tag digest b loc
	tag="sha256-${IMG#sha256:}.sig"
	digest=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$lay/index.json")
	for b in $(jq -r '.config.digest, .layers[].digest' "$lay/blobs/sha256/${digest#sha256:}"); do
		loc=$(curl -sf -X POST -D - -o /dev/null "http://$R/v2/$repo/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1) == "location" {print $2}')
		case $loc in http*) ;; *) loc="http://$R$loc" ;; esac
		case $loc in *\?*) loc="$loc&digest=$b" ;; *) loc="$loc?digest=$b" ;; esac
		curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$lay/blobs/sha256/${b#sha256:}" "$loc" >/dev/null || return 1
	done
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "@$lay/blobs/sha256/${digest#sha256:}" "http://$R/v2/$repo/manifests/$tag" >/dev/null
}
skopeo copy -q --dest-tls-verify=false "oci:$T/good:ferry.test/app-a:1" "docker://$R/up/signed:1" &&
	skopeo copy -q --dest-tls-verify=false "oci:$T/good:ferry.test/app-a:1" "docker://$R/up/forged:1" &&
	push_sig good up/signed && push_sig forged up/forged || { fail "pushing the image and its signatures"; exit 1; }
assert "the registry serves the pushed image with the vendor's digest" test "sha256:$(raw up/signed:1)" = "$IMG"
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: pulled, version: 1.0.0}\nimages:\n  - {ref: %s/up/signed:1}\n' "$R" >pulled.yaml
expect 0 "pack an image pulled from a registry with --cosign-key: its .sig tag fetched and verified" \
	"$PACK" build pulled.yaml -o pulled.ferry --plain-http "$R" --cosign-key cosign.pub --no-sbom
assert "bundle.yaml lists the pulled signature, verified" test \
	"$(tar -xOf pulled.ferry bundle.yaml | jq_yaml | jq -c '.images[0] | [.digest, .cosign, [.signatures[] | .kind, .digest]]')" = \
	"$(jq -nc --arg i "$IMG" --arg s "$SIG" '[$i, "verified", ["simple-signing", $s]]')"
start_registry || { fail "second registry: $SVC_WHY"; exit 1; }
R2=$REG_ADDR
expect 0 "load the pulled bundle into a second registry with --cosign-key" "$LOAD" load pulled.ferry --keyring "$KEYRING" \
	--cosign-key cosign.pub --to "registry://$R2" --plain-http
assert "skopeo finds the .sig tag there with the same digest" test \
	"sha256:$(skopeo inspect --tls-verify=false --raw "docker://$R2/up/signed:sha256-${IMG#sha256:}.sig" | sha256sum | cut -d' ' -f1)" = "$SIG"
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: pulled, version: 1.0.0}\nimages:\n  - {ref: %s/up/forged:1}\n' "$R" >pulled-forged.yaml
expect_err 1 "up/forged:1: no cosign signature verifies with cosign.pub: the signature is not the key's" \
	"a pulled image signed by another key is refused" "$PACK" build pulled-forged.yaml -o pulled-forged.ferry \
	--plain-http "$R" --cosign-key cosign.pub --no-sbom
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: pulled, version: 1.0.0}\nimages:\n  - {ref: %s/up/nosig:1}\n' "$R" >pulled-none.yaml
skopeo copy -q --dest-tls-verify=false "oci:$T/good:ferry.test/app-a:1" "docker://$R/up/nosig:1" || fail "push nosig"
expect_err 1 "up/nosig:1: no cosign signature verifies with cosign.pub: it has no cosign signature" \
	"a pulled image without a .sig tag is refused when a key is required" "$PACK" build pulled-none.yaml -o pulled-none.ferry \
	--plain-http "$R" --cosign-key cosign.pub --no-sbom
expect 0 "without a key it packs (no signature to carry)" "$PACK" build pulled-none.yaml -o pulled-none.ferry --plain-http "$R" --no-sbom

# ---- ferry-load serve answers them where cosign looks: the .sig tag, the sigstore
# bundle by digest and as a referrer of the image. Served with the forged bundle (the
# same image, another .sig manifest: the first bundle's keeps the tag) and the image
# packed unsigned under another name (whose repository serves none of the signatures).
port=$(free_port)
"$LOAD" serve good.ferry forged.ferry pulled-none.ferry --keyring "$KEYRING" --listen "127.0.0.1:$port" >serve.log 2>&1 &
sv_pid=$!
at_exit "_svc_stop $sv_pid 5"
S=http://127.0.0.1:$port
for ((n = 0; n < 300; n++)); do
	kill -0 "$sv_pid" 2>/dev/null || break
	curl -sf -o /dev/null --max-time 2 "$S/v2/" && break
	sleep 0.1
done
assert "serve answers with the three bundles" curl -sf -o /dev/null "$S/v2/"
STAG=sha256-${IMG#sha256:}.sig
sha() { curl -sf "$@" | sha256sum | cut -d' ' -f1; }
code() { curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$@"; }
assert "serve: tags/list holds the image's tag and its .sig tag" test \
	"$(curl -sf "$S/v2/signed/tags/list" | jq -c .tags)" = "$(jq -nc --arg t "$STAG" '["1", $t]')"
assert "serve: skopeo reads the .sig tag with the digest bundle.yaml names" test \
	"sha256:$(skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$port/signed:$STAG" | sha256sum | cut -d' ' -f1)" = "$SIG"
assert "serve: HEAD of the .sig tag names that digest" bash -c "curl -sfI '$S/v2/signed/manifests/$STAG' | tr -d '\r' | grep -qix 'docker-content-digest: $SIG'"
assert "serve: the .sig manifest by its digest" test "sha256:$(sha "$S/v2/signed/manifests/$SIG")" = "$SIG"
SIG_LAYER=$(curl -sf "$S/v2/signed/manifests/$SIG" | jq -r '.layers[0].digest')
assert "serve: the signature's payload layer is served, its bytes its digest" test \
	"sha256:$(sha "$S/v2/signed/blobs/$SIG_LAYER")" = "$SIG_LAYER"
assert "serve: the sigstore bundle by its digest" test "sha256:$(sha "$S/v2/signed/manifests/$REF")" = "$REF"
REF_LAYER=$(curl -sf "$S/v2/signed/manifests/$REF" | jq -r '.layers[0].digest')
assert "serve: the sigstore bundle's layer is served" test "sha256:$(sha "$S/v2/signed/blobs/$REF_LAYER")" = "$REF_LAYER"
assert "serve: referrers of the image list the sigstore bundle with its artifactType" test \
	"$(curl -sf "$S/v2/signed/referrers/$IMG" | jq -c '[.mediaType, [.manifests[] | .digest, .artifactType]]')" = \
	"$(jq -nc --arg r "$REF" '["application/vnd.oci.image.index.v1+json", [$r, "application/vnd.dev.sigstore.bundle.v0.3+json"]]')"
assert "serve: referrers filtered by another artifactType: an empty index, the filter named" bash -c \
	"curl -sfD '$T/hdr' '$S/v2/signed/referrers/$IMG?artifactType=application/x-other' | jq -e '.manifests == []' &&
	tr -d '\r' <'$T/hdr' | grep -qix 'oci-filters-applied: artifactType'"
assert "serve: referrers of a repository without any: 200 and an empty index" test \
	"$(code "$S/v2/up/nosig/referrers/$IMG"):$(jq -c .manifests "$T/body")" = "200:[]"
assert "serve: referrers of a tag, not a digest: 400 DIGEST_INVALID" test \
	"$(code "$S/v2/signed/referrers/1"):$(jq -r '.errors[0].code' "$T/body")" = "400:DIGEST_INVALID"
assert "serve: a signature's blob from a repository that does not list it: 404 BLOB_UNKNOWN" test \
	"$(code "$S/v2/up/nosig/blobs/$SIG_LAYER"):$(jq -r '.errors[0].code' "$T/body")" = "404:BLOB_UNKNOWN"
assert "serve: nor its .sig tag, nor the manifest by digest there: 404 MANIFEST_UNKNOWN" test \
	"$(code "$S/v2/up/nosig/manifests/$STAG"):$(code "$S/v2/up/nosig/manifests/$SIG")" = "404:404"
FSIG=$(tar -xOf forged.ferry bundle.yaml | jq_yaml | jq -r '.images[0].signatures[0].digest')
assert "serve: another bundle's .sig manifest of the same image is said at start, served by digest only" bash -c \
	"grep -q 'signed:$STAG is $SIG already .* $FSIG is served by its digest only' '$T/serve.log' &&
	test \"sha256:\$(curl -sf '$S/v2/signed/manifests/$FSIG' | sha256sum | cut -d' ' -f1)\" = '$FSIG'"
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: served, version: 1.0.0}\nimages:\n  - {ref: 127.0.0.1:%s/signed:1}\n' "$port" >served.yaml
expect 0 "serve: pack pulls the image back from it with --cosign-key (the .sig tag and the referrers API)" \
	"$PACK" build served.yaml -o served.ferry --plain-http "127.0.0.1:$port" --cosign-key cosign.pub --no-sbom
assert "serve: both signatures came back, the same digests" test \
	"$(tar -xOf served.ferry bundle.yaml | jq_yaml | jq -c '.images[0] | [.digest, .cosign, [.signatures[] | .kind, .digest]]')" = \
	"$(jq -nc --arg i "$IMG" --arg s "$SIG" --arg r "$REF" '[$i, "verified", ["simple-signing", $s, "sigstore-bundle", $r]]')"
_svc_stop "$sv_pid" 5

# ---- hostile sizes: a .sig manifest over 64 KiB, in a layout and from the registry
layout huge
$SIGN simple huge "$IMG" cosign.key --pad 70000 >/dev/null
spec huge.yaml huge
expect_err 1 "signature sha256:[0-9a-f]{64}: a signature manifest larger than 65536 bytes" \
	"a .sig manifest over 64 KiB in a layout is refused" "$PACK" build huge.yaml -o huge.ferry --no-sbom
skopeo copy -q --dest-tls-verify=false "oci:$T/good:ferry.test/app-a:1" "docker://$R/up/huge:1" && push_sig huge up/huge ||
	fail "push the huge signature"
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: pulled, version: 1.0.0}\nimages:\n  - {ref: %s/up/huge:1}\n' "$R" >pulled-huge.yaml
expect_err 4 "up/huge:1: signatures: GET .*sha256-[0-9a-f]{64}.sig: reply larger than 65536 bytes" \
	"a .sig manifest over 64 KiB from the registry stops the pull (exit 4, as other bad replies)" \
	"$PACK" build pulled-huge.yaml -o pulled-huge.ferry --plain-http "$R" --no-sbom
assert "no bundle written" test ! -e pulled-huge.ferry

# ---- a delta keeps the signature manifests (a target tags them from the delta)
expect 0 "a delta of the signed image against itself" "$PACK" build good.yaml -o delta.ferry --since good.ferry \
	--keyring "$KEYRING" --cosign-key cosign.pub --no-sbom
assert "the delta carries the signature manifests" test \
	"$(tar -tf delta.ferry | grep -c -e "${SIG#sha256:}" -e "${REF#sha256:}")" = 2
expect 0 "the delta loads with --cosign-key where its base was loaded" "$LOAD" load delta.ferry --keyring "$KEYRING" \
	--cosign-key cosign.pub --to "registry://$R" --plain-http

# ---- docker:// holds no signatures; --cosign-key still refuses there
if start_dockerd; then
	expect 0 "load a signed image into a Docker daemon (its signatures left out)" "$LOAD" load good.ferry --keyring "$KEYRING" \
		--cosign-key cosign.pub --to "docker://unix://$DOCKER_SOCK"
	assert "the daemon holds the image" docker image inspect ferry.test/signed:1
	expect_err 1 "ferry.test/signed:1: not loaded: no cosign signature verifies with cosign.pub" \
		"load --cosign-key into docker:// refuses a forged signature" "$LOAD" load forged.ferry --keyring "$KEYRING" \
		--cosign-key cosign.pub --to "docker://unix://$DOCKER_SOCK"
else
	skip "docker target: no Docker daemon: $SVC_WHY"
fi
