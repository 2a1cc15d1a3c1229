#!/usr/bin/env bash
# make demo: the whole journey on this machine, with real components.
#   release engineer: keys, a license, sample images from a real Docker daemon, a bundle
#   operator:         verify, load into a local registry and into an oci: directory
#   auditor:          inspect, and the stock-tool audit (tar, gpg, sha256sum)
# Everything is written under build/demo/; the registry it starts is stopped at the end.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
D=$root/build/demo
PACK=$root/build/ferry-pack
LOAD=$root/build/ferry-load
export FERRY_ROOT=$root FERRY_FIXTURES=$D/fixtures
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

rm -rf "$D/gnupg" "$D/lic" "$D/out" "$D/oci" "$D"/*.ferry "$D"/*.lic "$D"/*.asc
mkdir -p "$D/gnupg" && chmod 700 "$D/gnupg"
export GNUPGHOME=$D/gnupg
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-demo.XXXXXX")
source "$root/tests/services.sh"
at_exit "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1"

say "Release engineer: a release key and a license key (demo keys, under build/demo/)"
run "$PACK" keygen --pgp --name "Acme Demo Release <release@acme.example>" --export "$D/acme-release.asc"
run "$PACK" keygen --license "$D/lic"
run "$PACK" license issue --key "$D/lic/license.key" --subject acme-corp --customer "Acme Corp" \
	--edition enterprise --seats 50 --feature sso --expires +365d --audience acme-demo -o "$D/acme-corp.lic"

say "Release engineer: sample images from a real Docker daemon (docker save, skopeo)"
need_fixtures || { echo "demo: $SVC_WHY" >&2; exit 1; }
ls -l "$FX"/app-a.docker.tar && du -sh "$FX"/app-b.ocidir

say "Release engineer: pack manifests/demo.yaml into one signed bundle"
# the spec takes its images and license from build/demo, outside manifests/: said explicitly
run "$PACK" build "$root/manifests/demo.yaml" -o "$D/acme-demo-1.0.0.ferry" --license-pubkey "$D/lic/license.pub" --allow-outside-paths

say "Auditor: what does the bundle hold, and who signed it?"
run "$LOAD" inspect "$D/acme-demo-1.0.0.ferry" --keyring "$D/acme-release.asc"

say "Operator: verify the signature and every entry"
run "$LOAD" verify "$D/acme-demo-1.0.0.ferry" --keyring "$D/acme-release.asc" \
	--license-pubkey "$D/lic/license.pub" --audience acme-demo

say "Operator: load the images into a local registry (started on loopback) and an oci: directory"
start_registry || { echo "demo: $SVC_WHY" >&2; exit 1; }
run "$LOAD" load "$D/acme-demo-1.0.0.ferry" --keyring "$D/acme-release.asc" \
	--to "registry://$REG_ADDR/demo" --plain-http --to "oci:$D/oci"
echo "(ferry.test/app-a:1 lands as demo/app-a:1: the original registry host is replaced by the target)"
run skopeo inspect --tls-verify=false --format '{{.Name}} {{.Digest}}' "docker://$REG_ADDR/demo/app-a:1"
run skopeo inspect --format '{{.Digest}}' "oci:$D/oci:ferry.test/app-b:1"

say "Auditor: the same checks with stock tools only"
mkdir -p "$D/out"
run tar -xf "$D/acme-demo-1.0.0.ferry" -C "$D/out"
(cd "$D/out" && run gpg --verify SHA256SUMS.asc SHA256SUMS && run sha256sum -c --strict --quiet SHA256SUMS && echo "sha256sum: all entries OK")

say "Done"
echo "bundle:     $D/acme-demo-1.0.0.ferry"
echo "public key: $D/acme-release.asc (give this to operators)"
echo "registry:   http://$REG_ADDR (stopped now), OCI layout: $D/oci"
