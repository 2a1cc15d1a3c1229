# `make demo` where dockerd cannot run (an unprivileged container): a dockerd
# that fails at start the way it does there comes first on PATH. The demo must
# still show the whole story with images written without a daemon (its fixture
# tool, tests/fixtures/ocitool.py sample), load them into the registry and the
# oci: directory, say in one line that the Docker target was skipped and why,
# and exit 0. (With a working dockerd, `make demo` runs the Docker part too.)
source "$FERRY_ROOT/tests/lib.sh"

command -v docker-registry >/dev/null || { skip "demo: docker-registry not installed"; exit 0; }
command -v skopeo >/dev/null || { skip "demo: skopeo not installed"; exit 0; }

mkdir -p "$T/nodocker"
cat >"$T/nodocker/dockerd" <<'EOF'
#!/bin/sh
echo 'failed to start daemon: Error initializing network controller: operation not permitted' >&2
exit 1
EOF
chmod 755 "$T/nodocker/dockerd"

started=$SECONDS
expect 0 "demo: runs to the end where dockerd cannot start" \
	env PATH="$T/nodocker:$PATH" FERRY_DEMO_DIR="$T/demo" FERRY_BIN="$FERRY_BIN" bash "$FERRY_ROOT/scripts/demo.sh"
echo "# demo: $((SECONDS - started)) s"
cp "$T/out" "$T/demo.out"
cp "$T/err" "$T/demo.err"
assert "demo: one line says the Docker target was skipped, and why" \
	test "$(grep -c '^Docker target (docker://) skipped: dockerd: exited during start' "$T/demo.out")" = 1
assert "demo: the sample images were written without a daemon" \
	grep -q 'ocitool.py sample' "$T/demo.out"
assert "demo: the bundle verified" grep -q 'acme-demo-1.0.0.ferry: OK' "$T/demo.out"
assert "demo: two images loaded into the registry" \
	grep -qE 'registry://127\.0\.0\.1:[0-9]+/demo: 2 images loaded, 0 failed' "$T/demo.err"
assert "demo: two images loaded into the oci: directory" \
	grep -qE "oci:$T/demo/oci: 2 images loaded, 0 failed" "$T/demo.err"
assert "demo: no docker:// target was attempted" bash -c '! grep -q "docker://:" "$1"' _ "$T/demo.err"
assert "demo: the stock-tool audit passed" grep -q '^sha256sum: all entries OK' "$T/demo.out"
assert "demo: ends with its summary" grep -qx 'docker:     skipped (dockerd: exited during start.*)' "$T/demo.out"
expect 0 "demo: skopeo reads app-a from its oci: directory" \
	skopeo inspect --format '{{.Digest}}' "oci:$T/demo/oci:ferry.test/app-a:1"
expect 0 "demo: its bundle verifies again with the key it printed" \
	"$LOAD" verify "$T/demo/acme-demo-1.0.0.ferry" --keyring "$T/demo/acme-release.asc"
assert "demo: nothing written to build/demo (FERRY_DEMO_DIR)" \
	bash -c '! grep -q "$1/build/demo" "$2"' _ "$FERRY_ROOT" "$T/demo.out"
