#!/usr/bin/env bash
# make demo: the whole journey on this machine, with real components.
#   release engineer: keys, a license, sample images, a bundle
#   operator:         verify, load into a local registry, an oci: directory and,
#                     where a Docker daemon can run, a private Docker daemon
#   auditor:          inspect, and the stock-tool audit (tar, gpg, sha256sum)
#
# The sample images come from a real Docker daemon (docker save, skopeo) when
# dockerd can start here. Where it cannot (not installed, not root, an
# unprivileged container), they are written without a daemon by the project's
# fixture tool (tests/fixtures/ocitool.py sample), and the Docker target is
# skipped with one line saying why; everything else runs the same.
#
# Environment:
#   FERRY_DEMO_DOCKER=no  do not try to start dockerd (as if it could not run)
#   FERRY_DEMO_DIR=DIR    work directory (default build/demo; emptied first)
#   FERRY_BIN=DIR         where ferry-pack and ferry-load are (default build)
# The registry and the daemon it starts are stopped at the end.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
D=${FERRY_DEMO_DIR:-$root/build/demo}
BIN=${FERRY_BIN:-$root/build}
PACK=$BIN/ferry-pack
LOAD=$BIN/ferry-load
S=$D/spec
export FERRY_ROOT=$root
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

for b in "$PACK" "$LOAD"; do
	[ -x "$b" ] || { echo "demo: $b not built (make all)" >&2; exit 3; }
done
mkdir -p "$D"
D=$(cd "$D" && pwd) S=$D/spec
rm -rf "$D/gnupg" "$D/lic" "$D/out" "$D/oci" "$S" "$D"/*.ferry "$D"/*.asc
mkdir -p "$D/gnupg" "$S" && chmod 700 "$D/gnupg"
cp "$root/manifests/demo.yaml" "$S/demo.yaml"
cp -R "$root/manifests/demo" "$S/demo"
export GNUPGHOME=$D/gnupg
source "$root/tests/services.sh"
at_exit "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1"

say "Release engineer: a release key and a license key (demo keys, under $D/)"
run "$PACK" keygen --pgp --name "Acme Demo Release <release@acme.example>" --export "$D/acme-release.asc"
run "$PACK" keygen --license "$D/lic"
run "$PACK" license issue --key "$D/lic/license.key" --subject acme-corp --customer "Acme Corp" \
	--edition enterprise --seats 50 --feature sso --expires +365d --audience acme-demo -o "$S/acme-corp.lic"

# A Docker daemon of the demo's own, for the sample images and the docker:// target.
docker_why=
if [ "${FERRY_DEMO_DOCKER:-auto}" = no ]; then
	docker_why="FERRY_DEMO_DOCKER=no"
elif ! start_dockerd 2>/dev/null; then
	docker_why=$SVC_WHY
fi

mkdir -p "$S/images"
if [ -z "$docker_why" ]; then
	say "Release engineer: sample images from a real Docker daemon (docker save, skopeo)"
	log=$T/mkimages.log
	if ! bash "$root/tests/fixtures/mkimages.sh" "$D/fixtures/images" >"$log" 2>&1; then
		tail -5 "$log" >&2
		echo "demo: the sample images could not be made with the Docker daemon (log above)" >&2
		exit 1
	fi
	cp -R "$D/fixtures/images/app-a.docker.tar" "$D/fixtures/images/app-b.ocidir" "$S/images/"
else
	say "Release engineer: sample images written without a Docker daemon ($docker_why)"
	run python3 "$root/tests/fixtures/ocitool.py" sample "$S/images"
fi
ls -l "$S/images/app-a.docker.tar" && du -sh "$S/images/app-b.ocidir"

say "Release engineer: pack manifests/demo.yaml into one signed bundle"
run "$PACK" build "$S/demo.yaml" -o "$D/acme-demo-1.0.0.ferry" --license-pubkey "$D/lic/license.pub"

say "Auditor: what does the bundle hold, and who signed it?"
run "$LOAD" inspect "$D/acme-demo-1.0.0.ferry" --keyring "$D/acme-release.asc"

say "Operator: verify the signature and every entry"
run "$LOAD" verify "$D/acme-demo-1.0.0.ferry" --keyring "$D/acme-release.asc" \
	--license-pubkey "$D/lic/license.pub" --audience acme-demo

say "Operator: load the images into a local registry (started on loopback), an oci: directory and Docker"
start_registry || { echo "demo: $SVC_WHY" >&2; exit 1; }
targets=(--to "registry://$REG_ADDR/demo" --plain-http --to "oci:$D/oci")
if [ -z "$docker_why" ]; then
	targets+=(--to docker://)
else
	echo "Docker target (docker://) skipped: $docker_why"
fi
run "$LOAD" load "$D/acme-demo-1.0.0.ferry" --keyring "$D/acme-release.asc" "${targets[@]}"
echo "(ferry.test/app-a:1 lands as demo/app-a:1: the original registry host is replaced by the target)"
run skopeo inspect --tls-verify=false --format '{{.Name}} {{.Digest}}' "docker://$REG_ADDR/demo/app-a:1"
run skopeo inspect --format '{{.Digest}}' "oci:$D/oci:ferry.test/app-b:1"
if [ -z "$docker_why" ]; then
	run docker image inspect --format '{{index .RepoTags 0}} {{.Id}}' ferry.test/app-a:1
	run docker run --rm --network none ferry.test/app-a:1
fi

say "Auditor: the same checks with stock tools only"
mkdir -p "$D/out"
run tar -xf "$D/acme-demo-1.0.0.ferry" -C "$D/out"
(cd "$D/out" && run gpg --verify SHA256SUMS.asc SHA256SUMS && run sha256sum -c --strict --quiet SHA256SUMS && echo "sha256sum: all entries OK")

say "Done"
echo "bundle:     $D/acme-demo-1.0.0.ferry"
echo "public key: $D/acme-release.asc (give this to operators)"
echo "registry:   http://$REG_ADDR (stopped now), OCI layout: $D/oci"
if [ -n "$docker_why" ]; then
	echo "docker:     skipped ($docker_why)"
else
	echo "docker:     $DOCKER_HOST (stopped now)"
fi
