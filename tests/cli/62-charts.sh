#!/usr/bin/env bash
# Helm charts as OCI artifacts: a chart made here (Chart.yaml, values.yaml, templates/)
# packed from a .tgz with and without a provenance file (gpg --clearsign over Helm's
# layout), forged provenance refused at pack, hostile archives refused, and the load
# into a real docker-registry and an oci:DIR checked with skopeo and curl against
# Helm's media types.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
command -v jq >/dev/null || { skip "jq not installed"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
SIGNER_HOME=$GNUPGHOME SIGNER_KEYRING=$KEYRING
new_gpg_home 2 || { fail "second test key"; exit 1; }
OTHER_HOME=$GNUPGHOME
export GNUPGHOME=$SIGNER_HOME KEYRING=$SIGNER_KEYRING
cd "$T" || exit 1

# make_chart DIR NAME VERSION: a chart folder as `helm create` leaves one, much smaller
make_chart() {
	mkdir -p "$1/$2/templates"
	cat >"$1/$2/Chart.yaml" <<EOF
apiVersion: v2
name: $2
version: $3
appVersion: "2.1"
description: Acme <web> & friends
home: https://acme.example
sources: [https://git.example/acme, https://mirror.example/acme]
keywords: [web]
maintainers:
  - {name: Ann, email: ann@example.com}
  - {name: Bob}
annotations: {zz.example/last: "1", aa.example/first: "2"}
type: application
EOF
	printf 'replicaCount: 1\nimage: {repository: acme/web, tag: "2.1"}\n' >"$1/$2/values.yaml"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\n' >"$1/$2/templates/cm.yaml"
}
# sign_prov TGZ [NAME VERSION] [HOME]: Helm's provenance layout (the chart's metadata,
# "...", files: with the archive's SHA-256), clear-signed
sign_prov() {
	local tgz=$1 chart_yaml=$2 home=${3:-$SIGNER_HOME}
	{ cat "$chart_yaml"; printf '\n...\nfiles:\n  %s: sha256:%s\n' "$(basename "$tgz")" "$(sha256sum "$tgz" | cut -d' ' -f1)"; } |
		GNUPGHOME=$home gpg --batch --yes --clearsign -o "$tgz.prov" 2>/dev/null
}
spec() { # SPEC CHART-ITEM...
	local out=$1; shift
	{ printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: charts, version: 1.0.0}\ncharts:\n'
	  for item in "$@"; do printf '  - %s\n' "$item"; done; } >"$out"
}

make_chart src acme 1.2.3+build.5
tar -czf acme-1.2.3+build.5.tgz -C src acme
sign_prov acme-1.2.3+build.5.tgz src/acme/Chart.yaml
make_chart src2 plain 0.1.0
tar -czf plain-0.1.0.tgz -C src2 plain
make_chart src3 dirchart 0.2.0
mkdir src3/dirchart/ci && echo secret >src3/dirchart/ci/token && echo x >src3/dirchart/values.bak
echo hidden >src3/dirchart/templates/.notes
printf '# not packed\nci/\n*.bak\n' >src3/dirchart/.helmignore

# ---------------------------------------------------------------- pack
spec s.yaml "{path: acme-1.2.3+build.5.tgz}" "{path: plain-0.1.0.tgz}" "{from: src3/dirchart}"
expect 0 "pack: a chart with its .prov verified by --chart-keyring, one without, one from its directory" \
	"$PACK" build s.yaml -o c.ferry --chart-keyring "$KEYRING" -q
expect 0 "inspect --json" "$LOAD" inspect c.ferry --keyring "$KEYRING" --json
assert "inspect: provenance verdicts, app version, the references a load gives" jq -e '
	.charts[0].provenance == "verified" and .charts[1].provenance == "none" and
	.charts[0].appVersion == "2.1" and .charts[0].reference == "charts/acme:1.2.3_build.5" and
	.charts[1].reference == "charts/plain:0.1.0" and .charts[2].path == "charts/dirchart-0.2.0.tgz" and
	.charts[2].reference == "charts/dirchart:0.2.0"' "$T/out"
tar -xOf c.ferry charts/dirchart-0.2.0.tgz | tar -tz | sort >dirchart.list
assert "from: DIR packs as helm package: NAME/ on top, sorted, .helmignore and hidden templates left out" test "$(tr '\n' ' ' <dirchart.list)" = \
	"dirchart/.helmignore dirchart/Chart.yaml dirchart/templates/cm.yaml dirchart/values.yaml "
assert "from: DIR: every member 0644, owner 0, mtime the bundle's" sh -c "tar -xOf c.ferry charts/dirchart-0.2.0.tgz | tar -tvz | awk '{print \$1, \$2}' | sort -u | grep -qx -- '-rw-r--r-- 0/0'"
expect 0 "inspect (text)" "$LOAD" inspect c.ferry --keyring "$KEYRING" --charts-path helm/charts
assert "inspect text: the provenance verdict" grep -q "app version 2.1; provenance verified (ferry-pack checked" "$T/out"
assert "inspect text: the reference under --charts-path" grep -q "pushed as \[PREFIX/\]helm/charts/acme:1.2.3_build.5, manifest sha256:" "$T/out"
assert "the .prov is carried beside the chart" sh -c "tar -tf c.ferry | grep -qx 'charts/acme-1.2.3+build.5.tgz.prov'"
expect_err 1 "has no provenance file .*--require-chart-provenance" "--require-chart-provenance refuses a chart without one" \
	"$PACK" build s.yaml -o r.ferry --chart-keyring "$KEYRING" --require-chart-provenance
assert "nothing written on refusal" test ! -e r.ferry
spec s1.yaml "{path: acme-1.2.3+build.5.tgz}"
expect 0 "pack without --chart-keyring carries the .prov unverified" "$PACK" build s1.yaml -o u.ferry -q
expect 0 "inspect --json (unverified)" "$LOAD" inspect u.ferry --keyring "$KEYRING" --json
assert "unverified verdict" jq -e '.charts[0].provenance == "unverified"' "$T/out"

# reproducible: one SOURCE_DATE_EPOCH, one chart manifest digest
SOURCE_DATE_EPOCH=1700000000 "$PACK" build s.yaml -o r1.ferry --no-sign -q
SOURCE_DATE_EPOCH=1700000000 "$PACK" build s.yaml -o r2.ferry --no-sign -q
d1=$("$LOAD" inspect r1.ferry --json | jq -r '.charts[0].digest')
d2=$("$LOAD" inspect r2.ferry --json | jq -r '.charts[0].digest')
assert "one SOURCE_DATE_EPOCH gives one chart manifest digest" test -n "$d1" -a "$d1" = "$d2"
assert "one SOURCE_DATE_EPOCH gives one bundle (a chart directory packed the same twice)" cmp r1.ferry r2.ferry

# ---------------------------------------------------------------- forged provenance
mkdir forged && cp acme-1.2.3+build.5.tgz forged/
sign_prov forged/acme-1.2.3+build.5.tgz src/acme/Chart.yaml "$OTHER_HOME"
spec forged/s.yaml "{path: acme-1.2.3+build.5.tgz}"
expect_err 1 "acme-1.2.3\+build.5.tgz.prov: made by a key that is not in the keyring" \
	"forged provenance: signed by another key" "$PACK" build forged/s.yaml -o f.ferry --chart-keyring "$KEYRING"
mkdir changed && cp acme-1.2.3+build.5.tgz acme-1.2.3+build.5.tgz.prov changed/
printf 'x' >>changed/acme-1.2.3+build.5.tgz
spec changed/s.yaml "{path: acme-1.2.3+build.5.tgz}"
expect_err 1 "signs sha256:[0-9a-f]{64} for acme-1.2.3\+build.5.tgz, but the archive is sha256:.*changed after signing" \
	"forged provenance: the .tgz changed after signing" "$PACK" build changed/s.yaml -o f.ferry --chart-keyring "$KEYRING"
mkdir other && cp plain-0.1.0.tgz other/ && cp acme-1.2.3+build.5.tgz.prov other/plain-0.1.0.tgz.prov
spec other/s.yaml "{path: plain-0.1.0.tgz}"
expect_err 1 "signed for chart acme 1.2.3\+build.5, not plain 0.1.0" \
	"forged provenance: the .prov of another chart" "$PACK" build other/s.yaml -o f.ferry --chart-keyring "$KEYRING"
mkdir layout && cp acme-1.2.3+build.5.tgz layout/
printf 'name: acme\nversion: 1.2.3+build.5\n' | gpg --batch --clearsign -o layout/acme-1.2.3+build.5.tgz.prov 2>/dev/null
spec layout/s.yaml "{path: acme-1.2.3+build.5.tgz}"
expect_err 1 "not a Helm provenance file" "a signed text that is not Helm's layout" \
	"$PACK" build layout/s.yaml -o f.ferry --chart-keyring "$KEYRING"
spec other/s2.yaml "{path: plain-0.1.0.tgz, prov: ../acme-1.2.3+build.5.tgz.prov}"
expect_err 1 "signed for chart acme" "prov: in the spec is the one checked" \
	"$PACK" build other/s2.yaml -o f.ferry --chart-keyring "$KEYRING" --allow-outside-paths
assert "no bundle written for any forged provenance" test ! -e f.ferry

# ---------------------------------------------------------------- hostile archives
hostile() { # DESC REGEX: packs h.tgz and wants exit 2 with REGEX
	spec h.yaml "{path: h.tgz}"
	expect_err 2 "$2" "$1" "$PACK" build h.yaml -o h.ferry --no-sign
	if [ -e h.ferry ]; then fail "$1: h.ferry was written"; rm -f h.ferry; fi
}
python3 - <<'EOF'
import io, tarfile, gzip
def tgz(path, members, gz=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for m in members:
            t.addfile(m[0], io.BytesIO(m[1]) if len(m) > 1 else None)
    data = buf.getvalue()
    open(path, "wb").write(gzip.compress(data) if gz else data)
def f(name, data=b"x"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
chart = b"apiVersion: v2\nname: h\nversion: 1.0.0\n"
tgz("trav.tgz", [f("h/Chart.yaml", chart), f("h/../../etc/evil")])
l = tarfile.TarInfo("h/Chart.yaml"); l.type = tarfile.SYMTYPE; l.linkname = "/etc/passwd"
tgz("link.tgz", [(l,)])
tgz("outside.tgz", [f("h/Chart.yaml", chart), f("other/Chart.yaml", chart)])
tgz("nochart.tgz", [f("h/values.yaml")])
tgz("plain.tar", [f("h/Chart.yaml", chart)], gz=False)
tgz("noversion.tgz", [f("h/Chart.yaml", b"apiVersion: v2\nname: h\n")])
# a gzip bomb: a tar whose one member claims 200 MiB of zeros (about 200 KiB packed)
i = tarfile.TarInfo("h/big"); i.size = 200 << 20
ci, _ = f("h/Chart.yaml", chart)
with gzip.open("bomb.tgz", "wb", compresslevel=9) as g:
    g.write(ci.tobuf(tarfile.GNU_FORMAT) + chart + bytes(512 - len(chart)))
    g.write(i.tobuf(tarfile.GNU_FORMAT))
    z = bytes(1 << 20)
    for _ in range(200): g.write(z)
    g.write(bytes(1024))
open("notgz.tgz", "wb").write(b"this is not a chart\n" * 10)
open("huge.tgz", "wb").write(bytes(17 << 20))
EOF
rm -f h.ferry
cp trav.tgz h.tgz; hostile "path traversal inside the .tgz" "h.tgz: member h/\.\./\.\./etc/evil: '\.\.' path component"
cp link.tgz h.tgz; hostile "a symlink Chart.yaml" "h.tgz: member h/Chart.yaml: not a plain file or directory"
cp outside.tgz h.tgz; hostile "a member outside the chart's folder" "member other/Chart.yaml is outside the chart's folder h/"
cp nochart.tgz h.tgz; hostile "no Chart.yaml" "no <name>/Chart.yaml"
cp plain.tar h.tgz; hostile "a tar that is not gzip'd" "not gzip-compressed"
cp noversion.tgz h.tgz; hostile "Chart.yaml without version" "Chart.yaml.*missing 'version'"
cp bomb.tgz h.tgz; hostile "a gzip bomb" "unpacks to more than 64 MiB .*gzip bomb"
cp notgz.tgz h.tgz; hostile "not gzip/tar at all" "h.tgz: not a Helm chart archive"
cp huge.tgz h.tgz; hostile "a chart over the size limit" "chart archive larger than the 16 MiB limit"

mkdir -p linked/evil && printf 'apiVersion: v2\nname: evil\nversion: 1.0.0\n' >linked/evil/Chart.yaml
ln -s /etc/passwd linked/evil/values.yaml
spec linked/s.yaml "{from: evil}"
expect_err 2 "values.yaml: a symbolic link" "from: DIR with a symlink is refused" "$PACK" build linked/s.yaml -o h.ferry --no-sign
assert "nothing written (from: DIR refused)" sh -c "test ! -e h.ferry && ! ls -d h.ferry.images.* 2>/dev/null"

# ---------------------------------------------------------------- load into a registry
start_registry || { skip "registry: $SVC_WHY"; exit 0; }
expect 0 "load into registry://HOST/PREFIX" "$LOAD" load c.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR/corp" --plain-http
assert "summary counts the charts" grep -q "3 charts loaded, 0 failed" "$T/err"
R=http://$REG_ADDR/v2/corp/charts/acme
AM='Accept: application/vnd.oci.image.manifest.v1+json'
curl -fsS -H "$AM" "$R/manifests/1.2.3_build.5" -o m.json
assert "1.2.3+build.5 lands at tag 1.2.3_build.5, media types as helm push sets them" jq -e '
	.mediaType == "application/vnd.oci.image.manifest.v1+json" and
	.config.mediaType == "application/vnd.cncf.helm.config.v1+json" and
	.layers[0].mediaType == "application/vnd.cncf.helm.chart.content.v1.tar+gzip" and
	.layers[1].mediaType == "application/vnd.cncf.helm.chart.provenance.v1.prov"' m.json
assert "content layer digest is the SHA-256 of the .tgz" test "$(jq -r '.layers[0].digest' m.json)" = "sha256:$(sha256sum acme-1.2.3+build.5.tgz | cut -d' ' -f1)"
curl -fsS "$R/blobs/$(jq -r '.layers[0].digest' m.json)" -o got.tgz
assert "the content layer is the .tgz bytes" cmp got.tgz acme-1.2.3+build.5.tgz
curl -fsS "$R/blobs/$(jq -r '.layers[1].digest' m.json)" -o got.prov
assert "the provenance layer is the .prov bytes" cmp got.prov acme-1.2.3+build.5.tgz.prov
curl -fsS "$R/blobs/$(jq -r '.config.digest' m.json)" -o cfg.json
assert "config JSON: Chart.yaml fields in chart.Metadata's order, as Go writes them" test "$(cat cfg.json)" = \
	'{"name":"acme","home":"https://acme.example","sources":["https://git.example/acme","https://mirror.example/acme"],"version":"1.2.3+build.5","description":"Acme \u003cweb\u003e \u0026 friends","keywords":["web"],"maintainers":[{"name":"Ann","email":"ann@example.com"},{"name":"Bob"}],"apiVersion":"v2","appVersion":"2.1","annotations":{"aa.example/first":"2","zz.example/last":"1"},"type":"application"}'
created=$("$LOAD" inspect c.ferry --json | jq -r '.bundle.created')
assert "annotations as helm push sets them, created fixed by the bundle" jq -e --arg c "$created" '.annotations == {
	"aa.example/first": "2", "zz.example/last": "1",
	"org.opencontainers.image.authors": "Ann (ann@example.com), Bob",
	"org.opencontainers.image.created": $c,
	"org.opencontainers.image.description": "Acme <web> & friends",
	"org.opencontainers.image.source": "https://git.example/acme",
	"org.opencontainers.image.title": "acme",
	"org.opencontainers.image.url": "https://acme.example",
	"org.opencontainers.image.version": "1.2.3+build.5"}' m.json
if command -v skopeo >/dev/null; then
	expect 0 "skopeo inspect --raw reads the chart manifest" skopeo inspect --raw --tls-verify=false "docker://$REG_ADDR/corp/charts/plain:0.1.0"
	assert "skopeo: one content layer, no provenance layer for the chart without .prov" jq -e '.layers | length == 1' "$T/out"
	assert "the pushed manifest is the one bundle.yaml names" test "sha256:$(sha256sum m.json | cut -d' ' -f1)" = \
		"$(jq -r '.charts[0].digest' <("$LOAD" inspect c.ferry --json))"
fi
expect 0 "a second load finds everything there" "$LOAD" load c.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR/corp" --plain-http
expect 0 "--charts-path and --charts-only" "$LOAD" load c.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http --charts-path helm/x --charts-only
assert "the chart lands under --charts-path" curl -fsS -o /dev/null -H "$AM" "http://$REG_ADDR/v2/helm/x/acme/manifests/1.2.3_build.5"
expect 0 "--no-charts loads no chart" "$LOAD" load c.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR/nocharts" --plain-http --no-charts
assert "--no-charts: nothing under charts/" test "$(curl -s -o /dev/null -w '%{http_code}' -H "$AM" "http://$REG_ADDR/v2/nocharts/charts/acme/manifests/1.2.3_build.5")" = 404
expect_err 2 "--charts-path BAD/: a repository path" "--charts-path is checked" "$LOAD" load c.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http --charts-path 'BAD/'
expect_err 2 "--charts-only: not with --no-charts" "--charts-only and --no-charts conflict" "$LOAD" load c.ferry --keyring "$KEYRING" --to "registry://$REG_ADDR" --charts-only --no-charts

# ---------------------------------------------------------------- from: oci:// (a pull at pack time)
mkdir pull
spec pull/s.yaml "{from: \"oci://$REG_ADDR/corp/charts/acme:1.2.3+build.5\"}"
expect_err 4 "$REG_ADDR" "from: oci:// speaks TLS unless --plain-http names the registry: a plain one fails, named" \
	"$PACK" build pull/s.yaml -o pull.ferry --chart-keyring "$KEYRING" -q
assert "nothing written when the chart pull failed" test ! -e pull.ferry
expect 0 "from: oci:// pulls the chart and its provenance, verified" "$PACK" build pull/s.yaml -o pull.ferry --chart-keyring "$KEYRING" -q \
	--plain-http "$REG_ADDR"
expect 0 "inspect the pulled chart" "$LOAD" inspect pull.ferry --keyring "$KEYRING" --json
assert "pulled: the same archive, its provenance verified, named NAME-VERSION.tgz" jq -e --arg d "sha256:$(sha256sum acme-1.2.3+build.5.tgz | cut -d' ' -f1)" \
	'.charts[0].provenance == "verified" and .charts[0].path == "charts/acme-1.2.3+build.5.tgz"' "$T/out"
assert "pulled: the archive bytes are the pushed ones" sh -c "tar -xOf pull.ferry charts/acme-1.2.3+build.5.tgz | cmp - acme-1.2.3+build.5.tgz"
# an image that is not a chart, pushed with curl
cfg='{"architecture":"amd64","os":"linux"}'
cd_hex=$(printf %s "$cfg" | sha256sum | cut -d' ' -f1)
loc=$(curl -fsS -D - -o /dev/null -X POST "http://$REG_ADDR/v2/corp/notchart/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
case $loc in http*) ;; *) loc=http://$REG_ADDR$loc ;; esac
curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "$cfg" "$loc&digest=sha256:$cd_hex" -o /dev/null
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[]}' "$cd_hex" "${#cfg}" >notchart.json
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @notchart.json "http://$REG_ADDR/v2/corp/notchart/manifests/1.0.0" -o /dev/null
spec pull/s2.yaml "{from: \"oci://$REG_ADDR/corp/notchart:1.0.0\"}"
expect_err 1 "not a Helm chart \\(no manifest with config application/vnd.cncf.helm.config.v1\\+json\\)" \
	"from: oci:// naming an image, not a chart, is refused" "$PACK" build pull/s2.yaml -o pull2.ferry --no-sign --plain-http "$REG_ADDR"
spec pull/s3.yaml "{from: \"oci://$REG_ADDR/corp/charts/acme:9.9.9\"}"
expect_err 4 "HTTP 404" "from: oci:// naming a missing tag: exit 4, as for images" "$PACK" build pull/s3.yaml -o pull2.ferry --no-sign --plain-http "$REG_ADDR"
assert "nothing written for a failed pull" sh -c "test ! -e pull2.ferry && ! ls -d pull2.ferry.images.* 2>/dev/null"

# ---------------------------------------------------------------- oci:DIR and docker://
expect 0 "load into oci:DIR" "$LOAD" load c.ferry --keyring "$KEYRING" --to oci:lay
assert "oci:DIR: the chart manifest under its reference" jq -e '[.manifests[] | .annotations."org.opencontainers.image.ref.name"] | index("charts/acme:1.2.3_build.5") != null' lay/index.json
expect 0 "load --json into oci:DIR" "$LOAD" load c.ferry --keyring "$KEYRING" --to oci:lay2 --json
assert "--json: the charts listed apart from the images, each loaded under its reference" jq -e \
	'.targets[0] | (.charts | length) == 3 and (.charts | map(select(.name == "acme"))[0] | .reference == "charts/acme:1.2.3_build.5" and .loaded and .error == null) and (.images | map(.ref) | map(startswith("charts/")) | any | not)' "$T/out"
if command -v skopeo >/dev/null; then
	expect 0 "skopeo reads the chart from the layout" skopeo inspect --raw "oci:lay:charts/acme:1.2.3_build.5"
	assert "the layout's manifest is the registry's" cmp "$T/out" m.json
fi
expect_err 0 "docker://.*3 charts not loaded: a Docker daemon holds images only" "docker:// says why the charts were not loaded" \
	"$LOAD" load c.ferry --keyring "$KEYRING" --to docker://unix:///nonexistent.sock --dry-run
