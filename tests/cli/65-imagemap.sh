#!/usr/bin/env bash
# The image map and `ferry-load rewrite`: a bundle of two images loaded into a real
# registry under a prefix (and an oci: layout) writes a map whose references and
# digests skopeo finds there; inspect --image-map predicts the same map; a Compose file
# and a Helm values file are pointed at the loaded images, byte for byte elsewhere,
# accepted by docker-compose and run by a real daemon that pulls the pinned images
# through the registry; unknown references, --strict, idempotence and hostile files.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
need_fixtures || { skip "image map: image fixtures: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1

cat >spec.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: mapped, version: 2.0.0, vendor: Ferry Tests}
images:
  - {ref: $APP_A_REF, from: $FX/app-a.docker.tar}
  - {ref: $APP_B_REF, from: $FX/app-b.docker.tar}
EOS
expect 0 "pack two images" "$PACK" build spec.yaml -o two.ferry --allow-outside-paths || exit 1
"$LOAD" inspect two.ferry --keyring "$KEYRING" --json >inspect.json
digest_of() { jq -r --arg r "$1" '.images[] | select(.ref == $r) | .digest' inspect.json; }
DA=$(digest_of "$APP_A_REF") DB=$(digest_of "$APP_B_REF")
# map_field MAP TARGET SOURCE FIELD
map_field() { jq -r --arg t "$2" --arg s "$3" --arg f "$4" '.images[] | select(.target == $t and .source == $s) | .[$f]' "$1"; }

start_registry || { skip "image map: registry: $SVC_WHY"; exit 0; }
R=$REG_ADDR
TO=registry://$R/site/apps
# ferry.test/app-a:1 -> HOST/PREFIX/app-a:1 (the registry host ferry.test is dropped)
WANT_A=$R/site/apps/app-a:1 WANT_B=$R/site/apps/app-b:1

# ---------------------------------------------------------------- the map
expect 0 "inspect --image-map prints the map a load would write" \
	"$LOAD" inspect two.ferry --keyring "$KEYRING" --image-map --to "$TO" --to "oci:$T/layout"
cp "$T/out" plan.json
assert "inspect --image-map: the registry reference by the naming rule" test "$(map_field plan.json "$TO" "$APP_A_REF" reference)" = "$WANT_A"
expect 0 "load into a registry under a prefix and an oci: layout with --image-map" \
	"$LOAD" load two.ferry --keyring "$KEYRING" --to "$TO" --to "oci:$T/layout" --plain-http --image-map map.json
assert "the load says it wrote the map" grep -q 'map.json: image map of 4 images written' "$T/err"
assert "the map is JSON with the documented header" test "$(jq -r '.apiVersion + " " + .kind + " " + .bundle.name + " " + .bundle.version' map.json)" = "ferry/v1 ImageMap mapped 2.0.0"
assert "one entry per image and target (2 x 2), keys source/target/reference/digest" \
	test "$(jq -c '[.images[] | keys] | unique' map.json)" = '[["digest","reference","source","target"]]'
assert "the map equals what inspect --image-map predicted" test "$(jq -S . map.json)" = "$(jq -S . plan.json)"
for pair in "$APP_A_REF $WANT_A" "$APP_B_REF $WANT_B"; do
	set -- $pair
	got_ref=$(map_field map.json "$TO" "$1" reference)
	got_dig=$(map_field map.json "$TO" "$1" digest)
	assert "map: $1 landed at $2" test "$got_ref" = "$2"
	assert "map: $1 digest is the bundle's" test "$got_dig" = "$(digest_of "$1")"
	assert "skopeo inspect of the map's reference reports the map's digest ($1)" \
		test "$(skopeo inspect --tls-verify=false "docker://$got_ref" | jq -r .Digest)" = "$got_dig"
	oref=$(map_field map.json "oci:$T/layout" "$1" reference)
	assert "map: oci: reference is skopeo's oci:DIR:REF ($1)" test "$oref" = "oci:$T/layout:$1"
	assert "skopeo reads the oci: reference with the map's digest ($1)" \
		test "sha256:$(skopeo inspect --raw "$oref" | sha256sum | cut -d' ' -f1)" = "$(map_field map.json "oci:$T/layout" "$1" digest)"
done
expect 0 "load again with a YAML map (.yaml)" \
	"$LOAD" load two.ferry --keyring "$KEYRING" --to "$TO" --plain-http --image-map map.yaml -q
assert "the YAML map is YAML with the same entries" python3 -c '
import json, sys, yaml
y = yaml.safe_load(open("map.yaml")); j = json.load(open("map.json"))
want = [e for e in j["images"] if e["target"] == sys.argv[1]]
sys.exit(0 if y["kind"] == "ImageMap" and y["images"] == want else 1)' "$TO"
expect 0 "--image: the map lists only the image loaded" \
	"$LOAD" load two.ferry --keyring "$KEYRING" --to "$TO" --plain-http --image "$APP_B_REF" --image-map one.json -q
assert "--image: one entry, app-b" test "$(jq -c '[.images[].source]' one.json)" = "[\"$APP_B_REF\"]"
expect 0 "inspect --image-map --keep-registry-host" \
	"$LOAD" inspect two.ferry --image-map --to "$TO" --keep-registry-host
assert "--keep-registry-host keeps ferry.test as the first path part" \
	test "$(jq -r --arg s "$APP_A_REF" '.images[] | select(.source == $s) | .reference' "$T/out")" = "$R/site/apps/ferry.test/app-a:1"
assert "inspect --image-map without --keyring warns UNVERIFIED" grep -q UNVERIFIED "$T/err"
expect 0 "inspect --image-map --to docker://: the tag the daemon gets" "$LOAD" inspect two.ferry --image-map --to docker://
assert "docker:// reference is the bundle's tag" test "$(jq -r '.images[0].reference' "$T/out")" = "$APP_A_REF"
expect_err 2 "--image-map" "inspect --to without --image-map is a usage error" "$LOAD" inspect two.ferry --to "$TO"
expect_err 2 "at least one --to" "inspect --image-map without --to is a usage error" "$LOAD" inspect two.ferry --image-map
expect_err 2 "--json" "inspect --image-map --json is a usage error" "$LOAD" inspect two.ferry --image-map --json --to "$TO"
expect_err 2 "dry-run" "load --image-map --dry-run is a usage error" \
	"$LOAD" load two.ferry --keyring "$KEYRING" --to "$TO" --plain-http --dry-run --image-map x.json
expect_err 3 "nodir/m.json: .*nodir: No such file" "--image-map into a missing directory fails before loading" \
	"$LOAD" load two.ferry --keyring "$KEYRING" --to "registry://$R/other" --plain-http --image-map nodir/m.json
assert "nothing was loaded by the refused command" test "$(curl -s "http://$R/v2/_catalog" | jq -c '[.repositories[] | select(startswith("other"))]')" = "[]"
port=$(free_port)
expect_err 4 "not loaded" "a load into an unreachable registry: exit 4" \
	"$LOAD" load two.ferry --keyring "$KEYRING" --to "registry://127.0.0.1:$port" --to "oci:$T/layout2" --plain-http --image-map part.json
assert "after a partial failure the map lists only the images that loaded (oci:)" \
	test "$(jq -c '[.images[].target] | unique' part.json)" = "[\"oci:$T/layout2\"]"

# ---------------------------------------------------------------- Compose
cat >compose.yaml <<EOF
# Acme stack, air-gapped edition
version: "3.7"
services:
  api:
    image: $APP_A_REF   # the API
    command: ["sleep", "600"]
    network_mode: none
  worker:
    # the worker shares a layer with api
    image: "$APP_B_REF"
    command: ["sleep", "600"]
    network_mode: none
  cache:
    image: redis:7-alpine
    network_mode: none
EOF
expect_err 0 "compose.yaml:14: redis:7-alpine: not in the image map; left alone" \
	"rewrite --pin-digest: the unknown reference is listed with its line" \
	"$LOAD" rewrite compose.yaml --map map.json --target "$TO" --pin-digest -o compose.out.yaml
assert "rewrite summary: 2 rewritten, 1 left alone" grep -q 'compose.yaml: 2 references rewritten, 0 already right, 1 left alone' "$T/err"
diff compose.yaml compose.out.yaml >compose.diff
cat >compose.diff.want <<EOF
5c5
<     image: $APP_A_REF   # the API
---
>     image: $WANT_A@$DA   # the API
10c10
<     image: "$APP_B_REF"
---
>     image: "$WANT_B@$DB"
EOF
assert "the rewritten file differs from the original in the two image scalars only" diff compose.diff.want compose.diff
expect 0 "rewriting the output again" "$LOAD" rewrite compose.out.yaml --map map.json --target "$TO" --pin-digest
assert "idempotent: the same bytes" cmp "$T/out" compose.out.yaml
assert "the second run recognised both as already right" grep -q '0 references rewritten, 2 already right, 1 left alone' "$T/err"
expect_err 1 "1 reference left alone \(--strict\): nothing written" "--strict fails on the unknown reference" \
	"$LOAD" rewrite compose.yaml --map map.json --target "$TO" --pin-digest --strict -o strict.yaml
assert "--strict wrote nothing" test ! -e strict.yaml
expect_err 2 "several targets" "a map with several targets needs --target" "$LOAD" rewrite compose.yaml --map map.json
expect_err 2 "OCI layout" "--target oci: is refused (not pullable)" "$LOAD" rewrite compose.yaml --map map.json --target "oci:$T/layout"
expect_err 3 "already exists" "-o onto an existing file needs --force" \
	"$LOAD" rewrite compose.yaml --map map.json --target "$TO" -o compose.out.yaml
echo old >forced.yaml
expect 0 "-o --force replaces it" "$LOAD" rewrite compose.yaml --map map.json --target "$TO" -o forced.yaml --force -q
expect 0 "the YAML map gives the same rewrite" "$LOAD" rewrite compose.yaml --map map.yaml -q
assert "same bytes from map.yaml as from map.json" cmp "$T/out" forced.yaml
cp compose.yaml inplace.yaml && chmod 640 inplace.yaml
expect 0 "--in-place" "$LOAD" rewrite inplace.yaml --map map.json --target "$TO" --pin-digest --in-place -q
"$LOAD" rewrite compose.yaml --map map.json --target "$TO" --pin-digest -q >pinned.yaml 2>/dev/null
assert "--in-place wrote what stdout shows, keeping the mode" sh -c "cmp inplace.yaml pinned.yaml && test \$(stat -c %a inplace.yaml) = 640"
expect_err 2 "several FILEs need --in-place" "several FILEs without --in-place: usage" "$LOAD" rewrite a.yaml b.yaml --map map.json
expect_err 2 "-o takes one FILE" "-o with several FILEs: usage" "$LOAD" rewrite a.yaml b.yaml --map map.json -o x.yaml
expect_err 2 "exclude each other" "-o with --in-place: usage" "$LOAD" rewrite a.yaml --map map.json -o x.yaml --in-place
expect_err 2 "is compose.yaml itself" "-o naming the input: usage" "$LOAD" rewrite compose.yaml --map map.json --target "$TO" -o ./compose.yaml --force
expect 0 "rewrite --help" "$LOAD" rewrite --help
assert "rewrite --help documents --pin-digest and --strict" sh -c "grep -q -- --pin-digest '$T/out' && grep -q -- --strict '$T/out'"

if command -v docker-compose >/dev/null; then
	expect 0 "docker-compose config accepts the rewritten file" docker-compose -f compose.out.yaml config
	assert "docker-compose config shows the pinned reference" grep -q "image: $WANT_A@$DA" "$T/out"
else
	skip "docker-compose is not installed (scripts/install-deps.sh): compose config not checked"
fi
if start_dockerd; then
	if command -v docker-compose >/dev/null; then
		mkdir -p stack && cp compose.out.yaml stack/docker-compose.yml
		expect 0 "docker-compose up -d pulls the pinned images through the registry and starts them" \
			env COMPOSE_PROJECT_NAME=ferrymap docker-compose -f stack/docker-compose.yml up -d api worker
		for svc in api:"$APP_A_ID" worker:"$APP_B_ID"; do
			cid=$(docker ps -q --filter "label=com.docker.compose.service=${svc%%:*}")
			assert "service ${svc%%:*} is running" test "$(docker inspect -f '{{.State.Running}}' "$cid" 2>/dev/null)" = true
			assert "service ${svc%%:*} runs the image ID the bundle carries" test "$(docker inspect -f '{{.Image}}' "$cid" 2>/dev/null)" = "${svc#*:}"
		done
		env COMPOSE_PROJECT_NAME=ferrymap docker-compose -f stack/docker-compose.yml down -t 1 >/dev/null 2>&1
	else
		for ref in "$WANT_A@$DA" "$WANT_B@$DB"; do
			run docker run --rm --network none "$ref"
			assert "docker run $ref (pulled by digest through the registry)" test "$RC" = 0
		done
	fi
else
	skip "image map: no Docker daemon, compose up not run: $SVC_WHY"
fi

# ---------------------------------------------------------------- Helm values
cat >values.yaml <<EOF
# values for the air gap
api:
  image: $APP_A_REF
worker:
  image:
    registry: ferry.test
    repository: app-b   # split form
    tag: "1"
    pullPolicy: IfNotPresent
short:
  image: {repository: ferry.test/app-a, tag: '1'}
bitnami:
  image:
    registry: docker.io
    repository: ferry.test/app-b
    tag: "1"
    digest: ""
sidecar:
  image:
    repository: busybox
    tag: "1.36"
chart:
  image:
    repository: ferry.test/app-a
    tag: ""
EOF
expect 0 "rewrite a Helm values file" "$LOAD" rewrite values.yaml --map map.json --target "$TO" -o values.out.yaml
cat >values.want <<EOF
# values for the air gap
api:
  image: $WANT_A
worker:
  image:
    registry: "$R"
    repository: site/apps/app-b   # split form
    tag: "1"
    pullPolicy: IfNotPresent
short:
  image: {repository: $R/site/apps/app-a, tag: '1'}
bitnami:
  image:
    registry: docker.io
    repository: ferry.test/app-b
    tag: "1"
    digest: ""
sidecar:
  image:
    repository: busybox
    tag: "1.36"
chart:
  image:
    repository: ferry.test/app-a
    tag: ""
EOF
assert "values: string and {registry, repository, tag} forms rewritten, all else kept" diff values.want values.out.yaml
assert "values: docker.io/ferry.test/app-b (another image) left alone and listed" grep -q 'values.yaml:15: docker.io/ferry.test/app-b:1: not in the image map' "$T/err"
assert "values: busybox listed as unknown" grep -q 'values.yaml:20: busybox:1.36: not in the image map' "$T/err"
assert "values: an empty tag is listed (the chart's default applies)" grep -q "values.yaml:24: ferry.test/app-a: no tag" "$T/err"
expect 0 "rewrite values with --pin-digest" "$LOAD" rewrite values.yaml --map map.json --target "$TO" --pin-digest -o values.pin.yaml
assert "pinned: string form REF@DIGEST" grep -qx "  image: $WANT_A@$DA" values.pin.yaml
assert "pinned: split form without a digest key gets TAG@DIGEST, quoting kept" grep -qx "    tag: \"1@$DB\"" values.pin.yaml
assert "pinned: flow form keeps single quotes" grep -qxF "  image: {repository: $R/site/apps/app-a, tag: '1@$DA'}" values.pin.yaml
expect 0 "pinned values rewritten again" "$LOAD" rewrite values.pin.yaml --map map.json --target "$TO" --pin-digest
assert "idempotent (values, pinned)" cmp "$T/out" values.pin.yaml
expect_err 1 "left alone \(--strict\)" "--strict fails on the unknown references of the values file" \
	"$LOAD" rewrite values.yaml --map map.json --target "$TO" --strict
cat >bitnami.yaml <<EOF
image:
  registry: ferry.test
  repository: app-b
  tag: "1"
  digest: ""
EOF
expect 0 "a values file with a digest key" "$LOAD" rewrite bitnami.yaml --map map.json --target "$TO" --pin-digest -o bitnami.out.yaml
assert "--pin-digest fills the digest key, the tag stays" sh -c "grep -qx '  digest: \"$DB\"' bitnami.out.yaml && grep -qx '  tag: \"1\"' bitnami.out.yaml && grep -qx '  registry: \"$R\"' bitnami.out.yaml"
# docker:// maps: the reference stays the bundle's; no digest to pin
"$LOAD" inspect two.ferry --image-map --to docker:// >dmap.json 2>/dev/null
expect_err 2 "no registry digest" "--pin-digest with a docker:// map is refused" "$LOAD" rewrite compose.yaml --map dmap.json --pin-digest
expect 0 "a docker:// map keeps the bundle's references" "$LOAD" rewrite compose.yaml --map dmap.json
assert "docker:// map: nothing to change" cmp "$T/out" compose.yaml

# ---------------------------------------------------------------- hostile and odd files
cat >anchor.yaml <<EOF
x-base: &base
  image: $APP_A_REF
services:
  a:
    <<: *base
EOF
expect_err 2 "anchor.yaml:2: image reference inside an anchor \(line 1\)" "an image inside an anchor is refused (an edit would change every alias)" \
	"$LOAD" rewrite anchor.yaml --map map.json --target "$TO"
printf 'services:\n  a:\n    image: *img\n' >alias.yaml
expect_err 2 "alias.yaml:3: image reference given by an alias" "an image given by an alias is refused" \
	"$LOAD" rewrite alias.yaml --map map.json --target "$TO"
printf 'x: &args ["a"]\nservices:\n  a:\n    image: %s\n    command: *args\n' "$APP_A_REF" >harmless.yaml
expect 0 "anchors and aliases away from image references are fine" "$LOAD" rewrite harmless.yaml --map map.json --target "$TO"
python3 -c "import sys; sys.stdout.write('services:\n  a:\n    image: $APP_A_REF\n' + '# ' + 'x' * (10 << 20) + '\n')" >big.yaml
expect_err 2 "big.yaml: larger than 4 MiB" "a 10 MB file is refused" "$LOAD" rewrite big.yaml --map map.json --target "$TO"
python3 -c "import random, sys; r = random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(4096)))" >junk.yaml
expect_err 2 "junk.yaml:[0-9]+: (a NUL byte|not UTF-8|control character)" "binary junk is refused naming the line" \
	"$LOAD" rewrite junk.yaml --map map.json --target "$TO"
printf 'services:\n  a:\n    image: ferry.test/app-a\xe2\x80\xae:1\n' >bidi.yaml
expect_err 2 "bidi.yaml:3: a bidi control character \(U\+202E\)" "a bidi override in a reference is refused" \
	"$LOAD" rewrite bidi.yaml --map map.json --target "$TO"
printf 'services:\n  a:\n    image: "ferry.test/app-a\\u202e:1"\n' >bidi2.yaml
expect_err 2 'bidi2.yaml:3: image reference holds a control or bidi character \(ferry.test/app-a\\xe2\\x80\\xae:1\)' \
	"a bidi override written as a YAML escape is refused, shown escaped" "$LOAD" rewrite bidi2.yaml --map map.json --target "$TO"
printf 'services:\n  a:\n    image: "ferry.test/app-a\\e[2J:1"\n' >ctl.yaml
expect_err 2 "ctl.yaml:3: image reference holds control character 0x1b" "a control character (escape) in a reference is refused" \
	"$LOAD" rewrite ctl.yaml --map map.json --target "$TO"
printf 'services: {a: {image: x}}\n---\nservices: {}\n' >multi.yaml
expect_err 2 "multi.yaml:2: more than one YAML document" "several documents are refused" "$LOAD" rewrite multi.yaml --map map.json --target "$TO"
printf 'services:\n  a: [\n' >broken.yaml
expect_err 2 "broken.yaml:3:1: not YAML" "not YAML: an error naming file and line" "$LOAD" rewrite broken.yaml --map map.json --target "$TO"
printf -- '- a\n' >list.yaml
expect_err 2 "list.yaml:1: not a Compose or Helm values file" "a top level that is not a mapping is refused" \
	"$LOAD" rewrite list.yaml --map map.json --target "$TO"
printf 'services:\n  a:\n    image: |\n      %s\n' "$APP_A_REF" >block.yaml
expect_err 2 "block.yaml:3: image reference in a block scalar" "a block scalar reference is refused" "$LOAD" rewrite block.yaml --map map.json --target "$TO"
ln -s compose.yaml link.yaml
expect_err 2 "link.yaml: a symbolic link" "--in-place refuses a symbolic link" "$LOAD" rewrite link.yaml --map map.json --target "$TO" --in-place
assert "the link and its target are unchanged" sh -c "test -L link.yaml && cmp compose.yaml link.yaml"
mkfifo fifo.yaml
expect_err 2 "fifo.yaml: not a regular file" "a FIFO is refused without hanging" timeout 10 "$LOAD" rewrite fifo.yaml --map map.json --target "$TO"
cp compose.yaml keep1.yaml && cp broken.yaml keep2.yaml
expect_err 2 "keep2.yaml" "--in-place with one bad file writes none" "$LOAD" rewrite keep1.yaml keep2.yaml --map map.json --target "$TO" --in-place
assert "the good file was not written either" cmp keep1.yaml compose.yaml

# ---------------------------------------------------------------- hostile maps
bad_map() { # bad_map NAME JQ-FILTER: map.json changed by the filter
	jq "$2" map.json >"$1"
}
bad_map baddigest.json '.images[0].digest = "sha256:1234"'
expect_err 2 "baddigest.json: images\[0\]: digest sha256:1234 is not sha256:<64 hex digits>" "a map entry with a bad digest is refused" \
	"$LOAD" rewrite compose.yaml --map baddigest.json --target "$TO"
bad_map badref.json '.images[1].reference = "Not A Ref"'
expect_err 2 "badref.json: images\[1\]: reference Not A Ref is not an image reference" "a map reference that is not one is refused" \
	"$LOAD" rewrite compose.yaml --map badref.json --target "$TO"
bad_map bidimap.json '.images[0].source = "ferry.test/app-a\u202e:1"'
expect_err 2 'source ferry.test/app-a\\xe2\\x80\\xae:1 is not an image reference' "a bidi override in a map is refused, shown escaped" \
	"$LOAD" rewrite compose.yaml --map bidimap.json --target "$TO"
bad_map dup.json '.images += [.images[0]]'
expect_err 2 "listed twice" "a map naming one image twice for a target is refused" "$LOAD" rewrite compose.yaml --map dup.json --target "$TO"
bad_map kind.json '.kind = "Other"'
expect_err 2 "not an image map" "a JSON file that is not an image map is refused" "$LOAD" rewrite compose.yaml --map kind.json
printf '{"apiVersion": "ferry/v1", ' >trunc.json
expect_err 2 "trunc.json:1:[0-9]+: not JSON" "a truncated map is refused naming the position" "$LOAD" rewrite compose.yaml --map trunc.json
printf 'apiVersion: ferry/v1\nkind: ImageMap\nimages: &a [*a]\n' >alias-map.yaml
expect_err 2 "alias-map.yaml:3:[0-9]+: YAML aliases are not allowed" "a YAML map with aliases is refused" "$LOAD" rewrite compose.yaml --map alias-map.yaml
python3 -c "print('{\"apiVersion\": \"ferry/v1\", \"kind\": \"ImageMap\", \"images\": [], \"pad\": \"' + 'x' * (5 << 20) + '\"}')" >huge.json
expect_err 2 "huge.json: larger than 4 MiB" "a map over 4 MiB is refused" "$LOAD" rewrite compose.yaml --map huge.json
