#!/usr/bin/env bash
# A BundleSpec is read strictly: every mistake is exit 2 with file:line:column.
. "$FERRY_ROOT/tests/lib.sh"
cd "$T" || exit 1
mkdir in && echo doc >in/a.md && echo doc2 >in/b.md && mkdir in/x && echo same >in/x/a.md

spec() { cat >"$T/s.yaml"; }
bad() { # REGEX DESC: the spec in s.yaml must fail with exit 2 and stderr matching REGEX
	expect_err 2 "$1" "$2" "$PACK" build s.yaml -o "$T/o.ferry" --no-sign
	assert "$2: no output" test ! -e "$T/o.ferry"
}

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: [{path: in/a.md, titel: typo}]
EOS
bad 's\.yaml:4:24: docs: unknown key .titel.' "unknown key, with line and column"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
imagez: []
EOS
bad "s\.yaml:4:1: spec: unknown key 'imagez'" "unknown top-level key"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: {path: in/a.md}
EOS
bad "s\.yaml:4:7: 'docs' must be a list" "wrong type: mapping for a list"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: [{path: [in/a.md]}]
EOS
bad "s\.yaml:4:15: 'path' must be a string" "wrong type: list for a string"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: [{path: in/missing.md}]
EOS
bad "s\.yaml:4:15: .*in/missing\.md: No such file or directory" "missing file"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: [{path: in/a.md}, {path: in/x/a.md}]
EOS
bad "s\.yaml:4:25: docs/a\.md: duplicate bundle path \(also at s\.yaml:4:8\)" "duplicate destination"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: [{path: in/a.md, dest: ../../etc/passwd}]
EOS
bad "s\.yaml:4:8: bundle path docs/\.\./\.\./etc/passwd: '\.\.' path component" "dest escaping the bundle"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: [{path: in}]
EOS
bad "not a regular file" "a directory where a file belongs"

spec </dev/null
bad "s\.yaml: empty document" "empty spec"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
EOS
bad "lists nothing to pack" "spec with nothing in it"

spec <<'EOS'
apiVersion: ferry/v2
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: [{path: in/a.md}]
EOS
bad "s\.yaml:1:13: apiVersion must be ferry/v1" "unknown apiVersion"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: "../t", version: "1"}
docs: [{path: in/a.md}]
EOS
bad "name and version may hold only" "bundle name that would escape the output directory"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1"}
docs: [{path: in/a.md}
EOS
bad "s\.yaml:5:1: .*" "YAML syntax error"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: &m {name: t, version: "1"}
docs: [{path: in/a.md, title: *m}]
EOS
bad "aliases are not allowed" "YAML aliases refused"

spec <<'EOS'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: t, version: "1", name: u}
docs: [{path: in/a.md}]
EOS
bad "key 'name' given twice" "duplicate key"

printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: t, version: "1"}\ncharts: [{path: in/a.md}]\n' >s.yaml
bad "in/a\.md: not a Helm chart archive" "a chart that is not a chart archive"

# Paths outside the spec's directory (after links are resolved) are refused, naming
# file:line:column, unless --allow-outside-paths (docs/security.md).
mkdir -p outside spec && echo secret >outside/secret.txt && echo doc >spec/a.md
ln -s ../outside spec/linkdir
ln -s ../outside/secret.txt spec/link.txt
for p in "$T/outside/secret.txt" ../outside/secret.txt linkdir/secret.txt link.txt; do
	printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: t, version: "1"}\nfiles: [{path: %s}]\n' "$p" >spec/s.yaml
	expect_err 2 "spec/s\.yaml:4:16: .* is outside the spec's directory \(it resolves to .*/outside/secret\.txt\); --allow-outside-paths packs it anyway" \
		"a spec path outside its directory is refused: $p" "$PACK" build spec/s.yaml -o "$T/o.ferry" --no-sign
	assert "  and nothing is written" test ! -e "$T/o.ferry"
done
expect 0 "--allow-outside-paths packs it" "$PACK" build spec/s.yaml -o "$T/o.ferry" --no-sign --allow-outside-paths
rm -f o.ferry
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: t, version: "1"}\nimages: [{ref: ferry.test/x:1, from: "../outside/secret.txt:1"}]\n' >spec/s.yaml
expect_err 2 "spec/s\.yaml:4:38: .* is outside the spec's directory" "an image input outside the spec's directory is refused" \
	"$PACK" build spec/s.yaml -o "$T/o.ferry" --no-sign
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: t, version: "1"}\ndocs: [{path: a.md}]\n' >spec/s.yaml
expect 0 "a path inside the spec's directory packs without the flag" "$PACK" build spec/s.yaml -o "$T/o.ferry" --no-sign
rm -f o.ferry

# Charts: Helm's name rule, SemVer 2 versions and safe member names, checked at pack time.
# chart NAME VERSION [EXTRA-MEMBER]: writes c.tgz with NAME/Chart.yaml (python: exact names)
chart() {
	python3 - "$@" <<'PY'
import io, sys, tarfile
name, version = sys.argv[1], sys.argv[2]
with tarfile.open("c.tgz", "w:gz") as t:
    def add(n, data):
        i = tarfile.TarInfo(n); i.size = len(data); t.addfile(i, io.BytesIO(data))
    add("demo/Chart.yaml", ("apiVersion: v2\nname: %s\nversion: %s\n" % (name, version)).encode())
    add("demo/values.yaml", b"a: 1\n")
    if len(sys.argv) > 3:
        add(sys.argv[3], b"x\n")
PY
}
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: t, version: "1"}\ncharts: [{path: c.tgz}]\n' >s.yaml
chart demo 1.2.3-rc.1+build.5
expect 0 "a chart with a SemVer 2 version packs" "$PACK" build s.yaml -o "$T/o.ferry" --no-sign
rm -f o.ferry
bad_chart() { # DESC REGEX NAME VERSION [MEMBER]
	local desc=$1 re=$2; shift 2
	chart "$@"
	bad "s\.yaml:4:10: (\./)?c\.tgz: .*$re" "$desc"
}
bad_chart "chart version with a newline (shown escaped)" 'version 1\.2\.3\\x0ax is not a SemVer 2 version' demo '"1.2.3\nx"'
bad_chart "chart version with a control character" "is not a SemVer 2 version" demo '"1.2.3\e[31m"'
bad_chart "chart version that is not SemVer (1.2)" "version 1\.2 is not a SemVer 2" demo 1.2
bad_chart "chart version with a leading zero" "is not a SemVer 2" demo 1.02.3
bad_chart "chart name with upper case" "chart name Demo: Helm allows only lower-case letters, digits and '-'" Demo 1.0.0
bad_chart "chart name with a slash" "chart name .*: Helm allows only" '"x/../y"' 1.0.0
bad_chart "chart archive with a ../ member" "member \.\./\.\./etc/evil: '\.\.' path component" demo 1.0.0 ../../etc/evil
bad_chart "chart archive with an absolute member" "member /etc/evil: absolute path" demo 1.0.0 /etc/evil

# bundle.yaml limits: the loader's, applied before anything is written. Tabs are
# escaped in bundle.yaml, so a 9 MiB description becomes 18 MiB: over the 16 MiB a
# loader reads (docs/security.md).
python3 -c 'import sys; sys.stdout.write("apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: t, version: \"1\", description: \"" + "\t" * (9 << 20) + "\"}\ndocs: [{path: in/a.md}]\n")' >s.yaml
bad "s\.yaml: bundle\.yaml would be [0-9]+ bytes, more than the 16 MiB a loader reads" "a description that makes bundle.yaml too large for a loader"
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: t, version: "1"}\ndocs: [{path: in/a.md, dest: %s}]\n' "$(printf 'd%.0s' $(seq 1100))" >s.yaml
bad "s\.yaml:4:8: bundle path docs/d+: name longer than 1024 bytes" "an entry name longer than a loader takes"
head -c 1100000 /dev/zero >big.lic
printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: t, version: "1"}\nlicense: [{path: big.lic}]\n' >s.yaml
expect_err 3 "big\.lic: .*larger than|big\.lic: .*1048576" "a license larger than a loader reads" "$PACK" build s.yaml -o "$T/o.ferry" --no-sign
assert "  and nothing is written" test ! -e "$T/o.ferry"

expect_err 2 "No such file" "a spec that does not exist" "$PACK" build nope.yaml
expect_err 2 "no SPEC" "build without a spec" "$PACK" build
expect_err 2 "--compress" "bad --compress value" "$PACK" build s.yaml --compress lz4
expect_err 2 "--jobs" "bad --jobs value" "$PACK" build s.yaml --jobs 0
exit 0
