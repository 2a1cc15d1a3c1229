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

expect_err 2 "No such file" "a spec that does not exist" "$PACK" build nope.yaml
expect_err 2 "no SPEC" "build without a spec" "$PACK" build
expect_err 2 "--compress" "bad --compress value" "$PACK" build s.yaml --compress lz4
expect_err 2 "--jobs" "bad --jobs value" "$PACK" build s.yaml --jobs 0
exit 0
