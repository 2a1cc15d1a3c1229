#!/usr/bin/env bash
# SBOMs and the auditor's report: the packages ferry-pack catalogues match what dpkg
# itself lists on the real Debian image; whiteouts, opaque directories, Alpine and RPM
# databases; every SBOM passes the official SPDX 2.3 and CycloneDX 1.5 schemas; a
# tampered SBOM fails like any entry; hostile names are escaped in the table and in the
# HTML; the report rendered by a real browser shows its verdict first, in red when the
# signature is bad; and the change review against an older bundle.
. "$FERRY_ROOT/tests/lib.sh"
. "$FERRY_ROOT/tests/services.sh"
TARX="python3 $FERRY_ROOT/tests/tools/tarx.py"
PKGIMG="python3 $FERRY_ROOT/tests/fixtures/pkgimage.py"
VALIDATE=${FERRY_SCHEMAS:-$FERRY_ROOT/../shared/schemas}/validate.py
need_fixtures debian || { skip "debian fixture: $SVC_WHY"; exit 0; }
new_gpg_home || { fail "test key generation"; exit 1; }
cd "$T" || exit 1

# ---- the real Debian image (docker save: catalogued from its uncompressed layer) and
# an image without a package database
cat >deb.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: deb, version: "12"}
images:
  - {ref: $DEBIAN_REF, from: $FX_DEBIAN/debian.docker.tar}
  - {ref: $APP_A_REF, from: $FX/app-a.docker.tar}
EOS
expect 0 "pack the Debian image and a busybox image" "$PACK" build deb.yaml -o deb.ferry --allow-outside-paths
expect 0 "sbom --format cyclonedx of the Debian image" "$LOAD" sbom deb.ferry --keyring "$KEYRING" --image "$DEBIAN_REF" --format cyclonedx
cp out deb.cdx.json
# what dpkg itself says: its status file, taken from the image's layer
layer=$(tar -xOf "$FX_DEBIAN/debian.docker.tar" manifest.json | jq -r '.[0].Layers[0]')
mkdir -p dpkg && tar -xOf "$FX_DEBIAN/debian.docker.tar" "$layer" | tar -xOf - --wildcards '*var/lib/dpkg/status' >dpkg/status
dpkg-query --admindir=dpkg -W -f '${db:Status-Abbrev}|${Package} ${Version}\n' | sed -n 's/^ii |//p' | LC_ALL=C sort >dpkg.list
jq -r '.components[] | select(.type == "library") | "\(.name) \(.version)"' deb.cdx.json | LC_ALL=C sort >sbom.list
n=$(wc -l <dpkg.list)
assert "dpkg-query lists the image's packages ($n)" test "$n" -gt 50
assert "the SBOM lists exactly the packages and versions dpkg-query lists" cmp dpkg.list sbom.list
assert "the Debian SBOM knows the OS" jq -e '.metadata.properties[] | select(.name == "ferry:os:pretty-name") | .value | startswith("Debian GNU/Linux 12")' deb.cdx.json
assert "purls as the purl spec writes them (deb, arch, distro, + encoded)" jq -e '[.components[] | select(.name == "base-files") | .purl | test("^pkg:deb/debian/base-files@[0-9.]+%2Bdeb12u[0-9]+\\?arch=amd64&distro=debian-12$")] | all and length == 1' deb.cdx.json
assert "licences from the DEP-5 copyright files (adduser: GPL-2.0-or-later)" jq -e '.components[] | select(.name == "adduser") | .licenses[0].license.id == "GPL-2.0-or-later"' deb.cdx.json
expect 0 "sbom (SPDX, the default) of the Debian image" "$LOAD" sbom deb.ferry --keyring "$KEYRING" --image "$DEBIAN_REF"
cp out deb.spdx.json
assert "the SPDX document lists the same $n packages (and the image)" test "$(jq '.packages | length' deb.spdx.json)" = $((n + 1))
expect 0 "sbom --format table" "$LOAD" sbom deb.ferry --keyring "$KEYRING" --image "$DEBIAN_REF" --format table
assert "the table counts the packages" grep -q "; $n packages" out
expect 0 "sbom of the busybox image" "$LOAD" sbom deb.ferry --keyring "$KEYRING" --image "$APP_A_REF" --format cyclonedx
assert "an image without a package database: said so, zero packages" jq -e '(.metadata.properties[] | select(.name == "ferry:catalogue") | .value == "no package database found") and ([.components[] | select(.type == "library")] | length == 0)' out
"$LOAD" sbom deb.ferry --keyring "$KEYRING" --image "$APP_A_REF" >busybox.spdx.json
assert "... and in the SPDX document's comment" jq -e '.comment == "no package database found" and (.packages | length) == 1' busybox.spdx.json
mkdir audit && tar -xf deb.ferry -C audit
assert "SBOM entries are listed in SHA256SUMS (signed)" test "$(grep -c '  sboms/' audit/SHA256SUMS)" = 4
assert "bundle.yaml lists the SBOMs against each image" test "$(grep -c '^  sboms: \[sboms/' audit/bundle.yaml)" = 2
assert "stock audit covers the SBOMs (sha256sum -c)" sh -c "cd audit && sha256sum -c --strict --quiet SHA256SUMS"
if [ -f "$VALIDATE" ] && python3 -c 'import jsonschema' 2>/dev/null; then
	for f in audit/sboms/*.json; do
		assert "$(basename "$f"): valid by the official schema" python3 "$VALIDATE" "$f"
	done
else
	skip "schema validation: $VALIDATE or python3-jsonschema missing"
fi

# ---- synthetic images: whiteouts, opaque directories, Alpine, RPM, hostile names
status() { # NAME VERSION [STATUS]
	printf 'Package: %s\nStatus: %s\nPriority: optional\nArchitecture: amd64\nVersion: %s\nDescription: test\n continuation line\n\n' "$1" "${3:-install ok installed}" "$2"
}
dep5() { printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: 2024 Someone\nLicense: %s\n text of it\n' "$1"; }
mkdir -p l1/var/lib/dpkg l1/usr/share/doc/keep l1/usr/share/doc/gone l1/etc l1/usr/lib
{ status keep 1.0-1; status gone 2.0; status held 1.0 "hold ok installed"; status cfg 3.0 "deinstall ok config-files"; } >l1/var/lib/dpkg/status
dep5 "GPL-2+" >l1/usr/share/doc/keep/copyright
dep5 Expat >l1/usr/share/doc/gone/copyright
ln -s keep l1/usr/share/doc/held
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' >l1/usr/lib/os-release
ln -s ../usr/lib/os-release l1/etc/os-release
# a later layer removes "gone": its files (whiteout) and its status entry
mkdir -p l2/var/lib/dpkg l2/usr/share/doc && : >l2/usr/share/doc/.wh.gone
{ status keep 1.0-1; status held 1.0 "hold ok installed"; } >l2/var/lib/dpkg/status
mkdir -p l3/var/lib/dpkg && : >l3/var/lib/dpkg/.wh.status         # the database itself removed
mkdir -p l4/var/lib/dpkg && : >l4/var/lib/dpkg/.wh..wh..opq && status fresh 0.1 >l4/var/lib/dpkg/status
mkdir -p alp/lib/apk/db alp/etc
printf 'C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nT:the musl c library\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\n\n' >alp/lib/apk/db/installed
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' >alp/etc/os-release
mkdir -p evil/var/lib/dpkg
{
	status '<script>alert(1)</script>' '1.0"'"'"'<b>'
	status "$(printf 'esc\033[31mred')" 2.0
	status "$(printf 'bidi\342\200\256txt.exe')" 3.0
} >evil/var/lib/dpkg/status
$PKGIMG wh.oci.tar 1 l1 l2:zstd >/dev/null
$PKGIMG whdb.oci.tar 1 l1 l3:plain >/dev/null
$PKGIMG opq.oci.tar 1 l1 l4:plain >/dev/null
$PKGIMG alp.oci.tar 1 alp >/dev/null
$PKGIMG evil.oci.tar 1 evil >/dev/null
rpm_images=""
if command -v rpmbuild >/dev/null && command -v rpm >/dev/null; then
	mkdir -p rpmb/SPECS rpmimg/usr/lib/sysimage/rpm rpmimg/etc rpmbad/var/lib/rpm
	printf 'Name: ferry-hello\nVersion: 1.2\nRelease: 3.el9\nEpoch: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\n%%description\nt\n%%files\n' >rpmb/SPECS/h.spec
	# rpm and rpmbuild keep a database of their own in ~/.rpmdb: give them a home of their own
	HOME=$T/rpmhome rpmbuild --define "_topdir $T/rpmb" -bb rpmb/SPECS/h.spec >rpmb/log 2>&1 &&
		HOME=$T/rpmhome rpm --dbpath "$T/rpmimg/usr/lib/sysimage/rpm" --initdb &&
		HOME=$T/rpmhome rpm --dbpath "$T/rpmimg/usr/lib/sysimage/rpm" -i --justdb --nodeps --noscripts rpmb/RPMS/noarch/*.rpm >>rpmb/log 2>&1
	rm -f rpmimg/usr/lib/sysimage/rpm/.rpm.lock rpmimg/usr/lib/sysimage/rpm/rpmdb.sqlite-shm
	printf 'ID="rocky"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n' >rpmimg/etc/os-release
	head -c 4096 /dev/urandom >rpmbad/var/lib/rpm/rpmdb.sqlite
	$PKGIMG rpm.oci.tar 1 rpmimg >/dev/null
	$PKGIMG rpmbad.oci.tar 1 rpmbad >/dev/null
	rpm_images="  - {ref: ferry.test/rpm:1, from: rpm.oci.tar}
  - {ref: ferry.test/rpmbad:1, from: rpmbad.oci.tar}"
else
	skip "rpm images: rpm/rpmbuild not installed (scripts/install-deps.sh)"
fi
mkdir -p ch/evil && printf 'apiVersion: v2\nname: "<script>alert(2)</script>\\"x"\nversion: "1.0\\u202e\\x1b"\n' >ch/evil/Chart.yaml
tar -czf evil-chart.tgz -C ch evil
echo doc >doc.txt
cat >pkgs.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: pkgs, version: "1", vendor: "Evil <b>Corp</b> \\"q\\"", description: "\\x1b[2J\\u202e"}
images:
  - {ref: ferry.test/wh:1, from: wh.oci.tar}
  - {ref: ferry.test/whdb:1, from: whdb.oci.tar}
  - {ref: ferry.test/opq:1, from: opq.oci.tar}
  - {ref: ferry.test/alpine:1, from: alp.oci.tar}
  - {ref: ferry.test/evil:1, from: evil.oci.tar}
$rpm_images
docs: [{path: doc.txt, title: "<img src=x onerror=alert(3)> \\x07\\u202e'\\""}]
EOS
expect 0 "pack the synthetic images (gzip, zstd and plain layers)" "$PACK" build pkgs.yaml -o pkgs.ferry
cp err pack.err
cdx() { "$LOAD" sbom pkgs.ferry --keyring "$KEYRING" --image "$1" --format cyclonedx >"$2"; }
names() { jq -r '[.components[] | select(.type == "library") | .name] | join(" ")' "$1"; }
cdx ferry.test/wh:1 wh.json
assert "whiteout: the removed package is gone, held and installed ones stay, config-files is not installed" test "$(names wh.json)" = "held keep"
assert "whiteout: licence through a doc directory that is a link (held -> keep)" jq -e '.components[] | select(.name == "held") | .licenses[0].license.id == "GPL-2.0-or-later"' wh.json
cdx ferry.test/whdb:1 whdb.json
assert "a whiteout of the database itself: no package database found" jq -e '(.metadata.properties[] | select(.name == "ferry:catalogue") | .value == "no package database found") and ([.components[] | select(.type == "library")] | length == 0)' whdb.json
cdx ferry.test/opq:1 opq.json
assert "an opaque directory hides the lower layer's database" test "$(names opq.json)" = fresh
cdx ferry.test/alpine:1 alp.json
assert "Alpine: lib/apk/db/installed catalogued" test "$(names alp.json)" = "busybox musl"
assert "Alpine: purl and licence" jq -e '.components[] | select(.name == "musl") | .purl == "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1" and .licenses[0].license.id == "MIT"' alp.json
if [ -n "$rpm_images" ]; then
	cdx ferry.test/rpm:1 rpm.json
	assert "RPM: the rpmdb read with librpm" jq -e '.components[] | select(.name == "ferry-hello") | .version == "1:1.2-3.el9" and .purl == "pkg:rpm/rocky/ferry-hello@1.2-3.el9?arch=noarch&distro=rocky-9.3&epoch=1"' rpm.json
	cdx ferry.test/rpmbad:1 rpmbad.json
	assert "an rpmdb that cannot be read: said so, never a clean empty list" jq -e '(.metadata.properties[] | select(.name == "ferry:catalogue") | .value | startswith("incomplete")) and ([.metadata.properties[] | select(.name == "ferry:note") | .value | test("NOT catalogued")] | any)' rpmbad.json
	assert "pack warns about the rpmdb it could not read" grep -q "NOT catalogued" pack.err
fi
mkdir paudit && tar -xf pkgs.ferry -C paudit
if [ -f "$VALIDATE" ] && python3 -c 'import jsonschema' 2>/dev/null; then
	bad=0
	for f in paudit/sboms/*.json; do python3 "$VALIDATE" "$f" >>validate.log 2>&1 || bad=$((bad + 1)); done
	assert "all $(ls paudit/sboms | wc -l) SBOMs of the synthetic images (hostile names included) pass the schemas" test "$bad" = 0
fi
cdx ferry.test/evil:1 evil.json
assert "hostile names are kept as data in JSON (escaped, not lost)" jq -e '[.components[] | select(.type == "library") | .name] | (index("<script>alert(1)</script>") != null) and (index("esc\u001b[31mred") != null) and (index("bidi\u202etxt.exe") != null)' evil.json
assert "the SBOM text is ASCII only (control and bidi characters escaped)" test -z "$(LC_ALL=C grep -c -P '[^\x09\x0a\x20-\x7e]' paudit/sboms/*.json | grep -v ':0$')"
expect 0 "sbom --format table of the hostile image" "$LOAD" sbom pkgs.ferry --keyring "$KEYRING" --image ferry.test/evil:1 --format table
assert "table: no raw escape or bidi bytes reach the terminal" test -z "$(LC_ALL=C grep -P '\x1b|\xe2\x80\xae' out)"
assert "table: they are shown escaped" grep -qF 'esc\x1b[31mred' out

# a layer that claims a 4 GiB dpkg status; a gzip layer cut short
$PKGIMG huge.oci.tar 1 l1 hugestatus >/dev/null
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: huge, version: "1"}\nimages: [{ref: ferry.test/huge:1, from: huge.oci.tar}]\n' >huge.yaml
expect_err 1 "var/lib/dpkg/status is 4294967296 bytes: more than the 64 MiB" "a 4 GiB dpkg status is refused from its header, naming layer and file" "$PACK" build huge.yaml -o huge.ferry
assert "... and no bundle is written" test ! -e huge.ferry
python3 - l1 <<'PY'
import gzip, hashlib, io, json, sys, tarfile
# an oci-archive whose one gzip layer stops halfway (its digest is that of the cut bytes)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    t.add(sys.argv[1], arcname=".")
blob = gzip.compress(buf.getvalue() + b"\0" * 65536, mtime=0)
blob = blob[:len(blob) // 2]
raw_id = "sha256:" + hashlib.sha256(b"unknown").hexdigest()
sha = lambda b: hashlib.sha256(b).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [raw_id]}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha(cfg), "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + sha(blob), "size": len(blob)}]}).encode()
idx = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:" + sha(man), "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "1"}}]}).encode()
with tarfile.open("cut.oci.tar", "w") as t:
    for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("blobs/sha256/" + sha(blob), blob),
                       ("blobs/sha256/" + sha(cfg), cfg), ("blobs/sha256/" + sha(man), man), ("index.json", idx)):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
PY
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: cut, version: "1"}\nimages: [{ref: ferry.test/cut:1, from: cut.oci.tar}]\n' >cut.yaml
expect_err 1 "cut.oci.tar: layer sha256:[0-9a-f]{64}: .*(truncated|invalid)" "a layer that cannot be read fails the build, naming the input and the layer" "$PACK" build cut.yaml -o cut.ferry
assert "... and no bundle is written" test ! -e cut.ferry

# the same pass checks each layer's diff_id: a config naming another content's diff_id
# is refused (gzip and plain layers), the right one packs; --no-sbom copies unchecked
python3 - l1 <<'PY'
import gzip, hashlib, io, json, sys, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    t.add(sys.argv[1], arcname=".")
raw = buf.getvalue() + b"\0" * 10240
sha = lambda b: hashlib.sha256(b).hexdigest()
def archive(out, blob, mt, diff_id):
    rootfs = {"type": "layers", "diff_ids": [diff_id]} if diff_id else {"type": "layers", "diff_ids": []}
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": rootfs}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + sha(cfg), "size": len(cfg)},
        "layers": [{"mediaType": mt, "digest": "sha256:" + sha(blob), "size": len(blob)}]}).encode()
    idx = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + sha(man), "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "1"}}]}).encode()
    with tarfile.open(out, "w") as t:
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("blobs/sha256/" + sha(blob), blob),
                           ("blobs/sha256/" + sha(cfg), cfg), ("blobs/sha256/" + sha(man), man), ("index.json", idx)):
            ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
gz = gzip.compress(raw, mtime=0)
other = "sha256:" + sha(raw + b"\0" * 512)
archive("did-ok.oci.tar", gz, "application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + sha(raw))
archive("did-gz.oci.tar", gz, "application/vnd.oci.image.layer.v1.tar+gzip", other)
archive("did-plain.oci.tar", raw, "application/vnd.oci.image.layer.v1.tar", other)
archive("did-none.oci.tar", gz, "application/vnd.oci.image.layer.v1.tar+gzip", None)
PY
for k in ok gz plain none; do
	printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: did, version: "1"}\nimages: [{ref: ferry.test/did:1, from: did-%s.oci.tar}]\n' $k >did-$k.yaml
done
expect 0 "an oci-archive whose gzip layer decompresses to its diff_id packs" "$PACK" build did-ok.yaml -o did-ok.ferry --no-sign
expect_err 1 "image ferry.test/did:1: layer sha256:[0-9a-f]{64} decompresses to sha256:[0-9a-f]{64}, not to the config's diff_id sha256:[0-9a-f]{64}" \
	"an oci-archive gzip layer that is not its config's diff_id is refused, naming image and layer" "$PACK" build did-gz.yaml -o did-gz.ferry --no-sign
assert "... and no bundle is written" test ! -e did-gz.ferry
expect_err 1 "image ferry.test/did:1: layer sha256:[0-9a-f]{64} decompresses to .*not to the config's diff_id" \
	"an uncompressed oci-archive layer whose digest is not its diff_id is refused" "$PACK" build did-plain.yaml -o did-plain.ferry --no-sign
expect 0 "with --no-sbom the layers are not read: the oci-archive is copied, checked by its digests only" \
	"$PACK" build did-gz.yaml -o did-gz.ferry --no-sign --no-sbom
# a layer is catalogued from where it lies in the archive before its digest is checked;
# without a diff_id to bind it, it is read again from its checked copy: same packages
expect 0 "a config without diff_ids packs (its layer catalogued from the checked copy)" \
	"$PACK" build did-none.yaml -o did-none.ferry --no-sign
assert "... and its SBOM lists the packages of the one with diff_ids" sh -c \
	"[ \"\$(tar -xOf did-none.ferry --wildcards 'sboms/*.cdx.json' | grep -o 'pkg:deb/[^\"]*' | sort)\" = \"\$(tar -xOf did-ok.ferry --wildcards 'sboms/*.cdx.json' | grep -o 'pkg:deb/[^\"]*' | sort)\" ] && tar -xOf did-none.ferry --wildcards 'sboms/*.cdx.json' | grep -q 'pkg:deb/debian/keep@1.0-1'"

# ---- the bundle: --no-sbom, reproducible bytes, a tampered SBOM
expect 0 "--no-sbom" "$PACK" build deb.yaml -o nosbom.ferry --no-sbom --allow-outside-paths
assert "--no-sbom: no sboms/ entries and no sboms: in bundle.yaml" sh -c "! tar -tf nosbom.ferry | grep -q '^sboms/' && ! tar -xOf nosbom.ferry bundle.yaml | grep -q 'sboms:'"
expect_err 3 "no SBOM" "sbom of a bundle packed with --no-sbom says there is none" "$LOAD" sbom nosbom.ferry --keyring "$KEYRING" --image "$DEBIAN_REF"
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q pkgs.yaml -o r1.ferry --no-sign 2>/dev/null
SOURCE_DATE_EPOCH=1700000000 "$PACK" build -q pkgs.yaml -o r2.ferry --no-sign 2>/dev/null
assert "reproducible: the same images and SOURCE_DATE_EPOCH give the same bytes, SBOMs included" cmp r1.ferry r2.ferry
assert "the SBOMs carry the bundle's time" test "$(tar -xOf r1.ferry "$(tar -tf r1.ferry | grep -m1 '\.cdx\.json$')" | jq -r .metadata.timestamp)" = 2023-11-14T22:13:20Z
sb=$(tar -tf deb.ferry | grep -m1 '^sboms/.*\.cdx\.json$')
cp deb.ferry t.ferry && $TARX flip t.ferry $(($($TARX offset t.ferry "$sb") + 300))
expect_err 1 "$sb: checksum mismatch" "a flipped byte in an SBOM: verify fails, naming it" "$LOAD" verify t.ferry --keyring "$KEYRING"
expect_err 1 "checksum mismatch" "... and sbom prints nothing" "$LOAD" sbom t.ferry --keyring "$KEYRING" --image "$APP_A_REF" --format table
assert "... nothing at all on stdout" test ! -s out
expect_err 1 "verification FAILED" "... and report writes the report and fails" "$LOAD" report t.ferry --keyring "$KEYRING" -o tampered.json --json
assert "... which marks that entry BAD and the SBOM as not verified" jq -e --arg p "$sb" '(.entries[] | select(.path == $p) | .verdict == "BAD") and (.verdict.trusted == false) and ([.images[].sboms[] | select(.error != null)] | length == 1)' tampered.json

# ---- sbom: options
expect_err 2 "no such image" "sbom --image that is not in the bundle" "$LOAD" sbom deb.ferry --keyring "$KEYRING" --image ferry.test/nope:1
expect_err 2 "2 SBOMs match; choose one" "sbom of several images as one document asks which" "$LOAD" sbom deb.ferry --keyring "$KEYRING"
expect_err 2 "--format 'x'" "sbom --format x" "$LOAD" sbom deb.ferry --keyring "$KEYRING" --format x
expect_err 2 "keyring" "sbom without --keyring" "$LOAD" sbom deb.ferry
expect_err 2 "sbom: one --image only" "sbom with two --image" "$LOAD" sbom deb.ferry --keyring "$KEYRING" --image "$DEBIAN_REF" --image "$APP_A_REF"
expect_err 2 "option --platform does not apply to load" "--platform is sbom's alone (one option table)" "$LOAD" load deb.ferry --keyring "$KEYRING" --to oci:x --platform linux/amd64
expect_err 2 "report: -o REPORT.html is required" "report without -o or --json" "$LOAD" report deb.ferry --keyring "$KEYRING"
expect_err 2 "-o deb.ferry: is an input" "report -o naming the bundle itself" "$LOAD" report deb.ferry --keyring "$KEYRING" -o deb.ferry --force
new_gpg_home 2 || { fail "second test key"; exit 1; }
export GNUPGHOME=$T/gnupg KEYRING=$T/pub.asc # packs go on with the first key
expect_err 1 "not in the keyring" "sbom with a keyring that does not hold the signer: nothing printed" "$LOAD" sbom deb.ferry --keyring "$T/pub2.asc" --image "$APP_A_REF"
assert "... nothing at all on stdout" test ! -s out

# ---- report: HTML for a person, JSON for machines; a real browser renders it
expect_err 3 "already exists" "report refuses to overwrite without --force" "$LOAD" report deb.ferry --keyring "$T/pub.asc" -o deb.yaml
expect 0 "report of the Debian bundle" "$LOAD" report deb.ferry --keyring "$T/pub.asc" -o deb.html
assert "the report is self-contained: no URL it would load" test -z "$(grep -oiE '(src|href)=\"?(https?:)?//' deb.html)"
assert "the report has a Content-Security-Policy that allows nothing from outside" grep -q "default-src 'none'" deb.html
expect 0 "report --json" "$LOAD" report deb.ferry --keyring "$T/pub.asc" --json
assert "report --json: verified, packages of both images" jq -e --arg n "$n" '.verdict.trusted and (.images | length) == 2 and ([.images[].sboms[].packageCount] | sort) == [0, ($n | tonumber)]' out
expect_err 1 "not in the keyring" "report for a signer not in the keyring: written, and fails" "$LOAD" report deb.ferry --keyring "$T/pub2.asc" -o badsig.html
assert "the bad-signature report lists nothing (no image, no package)" sh -c "! grep -qE 'adduser|debian:12|app-a' badsig.html"
expect_err 1 "verification FAILED" "report of the hostile bundle with a tampered SBOM" "$LOAD" report t.ferry --keyring "$T/pub.asc" -o tampered.html
expect 0 "report of the hostile bundle" "$LOAD" report pkgs.ferry --keyring "$T/pub.asc" -o evil.html
assert "HTML: no hostile markup survives (<script>, <img>, <b>)" test -z "$(grep -E '<script>alert|<img src|<b>(1|Corp)' evil.html)"
assert "HTML: a hostile package name is there as text" grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' evil.html
assert "HTML: a hostile doc title is there as text" grep -qF '&lt;img src=x onerror=alert(3)&gt; \x07' evil.html
assert "HTML: a hostile vendor is there as text, quotes as entities" grep -qF 'Evil &lt;b&gt;Corp&lt;/b&gt; &quot;q&quot;' evil.html
assert "HTML: no raw control or bidi bytes" test -z "$(LC_ALL=C grep -P '\x1b|\x07|\xe2\x80\xae' evil.html)"
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: chart, version: "1"}\ncharts: [{path: evil-chart.tgz}]\n' >chart.yaml
run "$PACK" build chart.yaml -o chart.ferry
if [ "$RC" = 0 ]; then
	expect 0 "report of a bundle with a hostile chart name" "$LOAD" report chart.ferry --keyring "$T/pub.asc" -o chart.html
	assert "HTML: the chart name is text" sh -c "grep -qF '&lt;script&gt;alert(2)&lt;/script&gt;&quot;x' chart.html && ! grep -q '<script>alert(2)' chart.html"
	assert "HTML: the chart version's bidi and escape bytes are shown escaped" grep -qF '1.0\xe2\x80\xae\x1b' chart.html
else
	pass "a hostile chart name is refused at pack time already (exit $RC): it cannot reach a report"
fi
if command -v chromium >/dev/null; then
	shot() { # HTML PNG: a headless Chromium screenshot and the DOM it rendered
		timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
			--user-data-dir="$T/chromium" --screenshot="$T/$2" --window-size=1280,2000 "file://$T/$1" >"$T/$2.log" 2>&1
		timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
			--user-data-dir="$T/chromium" --dump-dom "file://$T/$1" >"$T/$2.dom" 2>>"$T/$2.log"
		# the first words of the rendered body (scripts and tags left out)
		python3 -c 'import re, sys
s = open(sys.argv[1]).read()
b = s[s.find("<body"):]
b = re.sub(r"<script.*?</script>", "", b, flags=re.S)
print(" ".join(re.sub(r"<[^>]+>", " ", b).split())[:300])' "$T/$2.dom" >"$T/$2.first"
	}
	shot deb.html deb.png
	python3 "$FERRY_ROOT/tests/tools/pngstat.py" deb.png >deb.stat 2>&1
	assert "Chromium renders the report: not blank ($(cat deb.stat))" awk '{split($3, a, "="); exit !(a[2] > 0.05)}' deb.stat
	assert "the rendered page shows the verdict first" grep -q '^VERIFIED: the signature is good' deb.png.first
	assert "the rendered page shows the packages" grep -q '>adduser<' deb.png.dom
	shot badsig.html badsig.png
	python3 "$FERRY_ROOT/tests/tools/pngstat.py" badsig.png >badsig.stat 2>&1
	assert "bad signature: the rendered page says so first" grep -q '^NOT TRUSTED' badsig.png.first
	assert "bad signature: in red at the top ($(cat badsig.stat))" awk '{split($4, a, "="); exit !(a[2] > 500)}' badsig.stat
	assert "a good report has no red at the top ($(cat deb.stat))" awk '{split($4, a, "="); exit !(a[2] < 50)}' deb.stat
	shot evil.html evil.png
	assert "Chromium shows the hostile names as text, runs none of them" sh -c "grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' evil.png.dom && ! grep -q '<img src=\"x\"' evil.png.dom"
else
	skip "report rendering: chromium not installed (scripts/install-deps.sh)"
fi

# ---- the license in the report: its claims, and its verdict when a key is given
"$PACK" keygen --license lk >/dev/null && "$PACK" keygen --license other >/dev/null || fail "license keygen"
"$PACK" license issue --key lk/license.key --subject acme-corp --customer "Acme <Corp>" --edition enterprise \
	--seats 5 --expires +30d -o acme.lic >/dev/null || fail "license issue"
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: lic, version: "1"}\nlicense: [{path: acme.lic}]\nimages: [{ref: ferry.test/alpine:1, from: alp.oci.tar}]\n' >lic.yaml
expect 0 "pack a bundle with a license" "$PACK" build lic.yaml -o lic.ferry
expect 0 "report without --license-pubkey: the claims, not checked" "$LOAD" report lic.ferry --keyring "$T/pub.asc" --json
assert "... claims shown, verdict 'not checked', and said in what was not checked" jq -e '(.license[0] | .customer == "Acme <Corp>" and .seats == 5 and .verdict == "not checked") and ([.verdict.notChecked[] | test("license")] | any)' out
expect 0 "report --license-pubkey with the issuer's key: valid" "$LOAD" report lic.ferry --keyring "$T/pub.asc" --license-pubkey lk/license.pub --json
assert "... the license's verdict is valid" jq -e '.license[0].verdict == "valid" and .verdict.trusted' out
expect_err 1 "license is not valid" "report --license-pubkey with another key: written, and fails" "$LOAD" report lic.ferry --keyring "$T/pub.asc" --license-pubkey other/license.pub -o lic.html
assert "... the page names the license's verdict and is not trusted" sh -c "grep -q 'bad-signature' lic.html && grep -q 'NOT TRUSTED' lic.html"

# ---- the change review: an older bundle of the same images
mkdir -p n1/var/lib/dpkg n1/usr/lib n1/etc
cp l1/usr/lib/os-release n1/usr/lib/ && ln -s ../usr/lib/os-release n1/etc/os-release
{ status keep 1.0-2; status held 1.0~rc1 "hold ok installed"; status newpkg 5; } >n1/var/lib/dpkg/status
mkdir -p alp2/lib/apk/db && cp -r alp/etc alp2/
printf 'P:musl\nV:1.2.4_rc1-r5\nA:x86_64\nL:MIT\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\n\n' >alp2/lib/apk/db/installed
$PKGIMG cmp.oci.tar 1 n1 >/dev/null
$PKGIMG alp2.oci.tar 1 alp2 >/dev/null
cat >new.yaml <<EOS
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: pkgs, version: "2"}
images:
  - {ref: ferry.test/wh:1, from: cmp.oci.tar}
  - {ref: ferry.test/alpine:1, from: alp2.oci.tar}
  - {ref: ferry.test/opq:1, from: opq.oci.tar}
  - {ref: ferry.test/added:1, from: wh.oci.tar}
EOS
expect 0 "pack the newer bundle" "$PACK" build new.yaml -o new.ferry
expect 0 "report --against the older bundle (JSON)" "$LOAD" report new.ferry --keyring "$T/pub.asc" --against pkgs.ferry --json
cp out cmp.json
assert "images added, removed, changed and unchanged" jq -e '.comparison.images | (.added == ["ferry.test/added:1"]) and ((.removed | sort) == (["ferry.test/evil:1", "ferry.test/whdb:1"] + (if (.removed | length) > 2 then ["ferry.test/rpm:1", "ferry.test/rpmbad:1"] else [] end) | sort)) and ([.changed[].ref] | sort) == ["ferry.test/alpine:1", "ferry.test/wh:1"] and .unchanged == ["ferry.test/opq:1"]' cmp.json
assert "deb: upgraded (1.0-1 -> 1.0-2), downgraded by dpkg's order (1.0 -> 1.0~rc1), added" jq -e '.comparison.packages[] | select(.ref == "ferry.test/wh:1") | ([.upgraded[] | "\(.name) \(.from) \(.to)"] == ["keep 1.0-1 1.0-2"]) and ([.downgraded[] | "\(.name) \(.from) \(.to)"] == ["held 1.0 1.0~rc1"]) and ([.added[].name] == ["newpkg"]) and (.removed == [])' cmp.json
assert "apk: 1.2.4-r2 -> 1.2.4_rc1-r5 is a downgrade by apk's order (a release candidate comes before)" jq -e '.comparison.packages[] | select(.ref == "ferry.test/alpine:1") | ([.downgraded[].name] == ["musl"]) and (.unchanged == 1)' cmp.json
expect 0 "report --against as HTML" "$LOAD" report new.ferry --keyring "$T/pub.asc" --against pkgs.ferry -o cmp.html
assert "the HTML shows the change review" sh -c "grep -q 'Changes since' cmp.html && grep -q 'keep 1.0-1 &rarr; 1.0-2' cmp.html"
GNUPGHOME=$T/gnupg2 "$PACK" build -q new.yaml -o other.ferry
expect_err 1 "against" "report --against a bundle signed by another key fails (and says so)" "$LOAD" report new.ferry --keyring "$T/pub.asc" --against other.ferry --json
assert "... the comparison says the older bundle did not verify" jq -e '.comparison.error | startswith("the older bundle did not verify")' out
exit 0
