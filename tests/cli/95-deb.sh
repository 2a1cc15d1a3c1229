# Installing ferry: `make install` / `make uninstall` into a DESTDIR, and the
# Debian package as a new site gets it: built by dpkg-buildpackage
# (scripts/build-deb.sh; lintian without errors), installed with its
# dependencies by apt into a fresh `debootstrap --variant=minbase bookworm`
# root (tests/fixtures/mkdebroot.sh, cached in tests/.fixtures/debroot), and
# used there: ferry-load --version, verify of a bundle this test packs (and of
# a tampered copy), man -w, the bash completion, dpkg -r.
source "$FERRY_ROOT/tests/lib.sh"

version=$(sed -n 's/^#define FERRY_VERSION "\(.*\)"$/\1/p' "$FERRY_ROOT/src/util/util.h")
assert "version: src/util/util.h defines FERRY_VERSION" test -n "$version"
assert "version: debian/changelog is at $version too" \
	test "$(dpkg-parsechangelog -l "$FERRY_ROOT/debian/changelog" -S Version 2>/dev/null)" = "$version"
expect 0 "version: ferry-load --version" "$LOAD" --version
assert "version: ferry-load --version prints $version" grep -qx "ferry-load $version" "$T/out"

# make runs here from the test, not as part of the make that runs the tests.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$FERRY_ROOT" "$@"; }

# ---- make install / uninstall
I=$T/inst
expect 0 "make install PREFIX=/usr/local DESTDIR=..." mk install PREFIX=/usr/local DESTDIR="$I"
p=$I/usr/local
for f in bin/ferry-pack bin/ferry-load; do
	assert "make install: $f, executable" test -x "$p/$f"
done
for f in share/man/man1/ferry-pack.1 share/man/man1/ferry-load.1 share/man/man5/ferry-bundle.5 \
	share/bash-completion/completions/ferry-pack share/bash-completion/completions/ferry-load; do
	assert "make install: $f" test -s "$p/$f"
done
expect 0 "make install: man -w finds ferry-load(1) in the installed tree" \
	man -M "$p/share/man" -w ferry-load
assert "make install: ... at share/man/man1/ferry-load.1" grep -qx "$p/share/man/man1/ferry-load.1" "$T/out"
assert "make install: the completion under either name registers both programs" \
	bash -c 'source "$1"; complete -p ferry-pack ferry-load' _ "$p/share/bash-completion/completions/ferry-load"
expect 0 "make uninstall PREFIX=/usr/local DESTDIR=..." mk uninstall PREFIX=/usr/local DESTDIR="$I"
assert "make uninstall: no file or link left" test -z "$(find "$I" ! -type d)"

# ---- the package
why=
[ "$(id -u)" -eq 0 ] || why="needs root (chroot, mount namespaces; uid $(id -u))"
for tool in dpkg-buildpackage dh lintian debootstrap unshare; do
	[ -n "$why" ] || command -v "$tool" >/dev/null || why="$tool not installed (scripts/install-deps.sh)"
done
if [ -n "$why" ]; then
	skip "the Debian package: $why"
	exit 0
fi

arch=$(dpkg --print-architecture)
deb=$T/deb/ferry_${version}_$arch.deb
started=$SECONDS
expect 0 "deb: scripts/build-deb.sh builds it and lintian reports no error" \
	bash "$FERRY_ROOT/scripts/build-deb.sh" "$T/deb"
sed -n 's/^build-deb: lintian: /# lintian: /p' "$T/out"
grep -E '^[EW]: ' "$T/deb/lintian.txt" 2>/dev/null | sed 's/^/#   /'
echo "# deb: built and checked in $((SECONDS - started)) s"
assert "deb: named ferry_${version}_$arch.deb" test -f "$deb"
[ -f "$deb" ] || exit 0
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$T/contents"
for f in ./usr/bin/ferry-pack ./usr/bin/ferry-load ./usr/share/man/man1/ferry-pack.1.gz \
	./usr/share/man/man1/ferry-load.1.gz ./usr/share/man/man5/ferry-bundle.5.gz \
	./usr/share/bash-completion/completions/ferry-pack ./usr/share/bash-completion/completions/ferry-load \
	./usr/share/doc/ferry/copyright ./usr/share/doc/ferry/changelog.gz \
	./usr/share/doc/ferry/docs/loading.md.gz ./usr/share/doc/ferry/docs/offline-install.md.gz \
	./usr/share/doc/ferry/examples/demo.yaml; do
	assert "deb: holds $f" grep -qxF "$f" "$T/contents"
done
assert "deb: holds the README" grep -qE '^\./usr/share/doc/ferry/README\.md(\.gz)?$' "$T/contents"
dpkg-deb -f "$deb" Depends >"$T/depends"
for lib in libarchive13 libgpgme11 libjansson4 libdeflate0 libyaml-0-2 libzstd1 libcurl4 libmicrohttpd12 libisal2 librpm9 gpg; do
	assert "deb: Depends names $lib" grep -qE "(^|, )$lib( |,|$)" "$T/depends"
done

# ---- installed into a clean Debian root
base=${FERRY_FIXTURES:-$FERRY_ROOT/tests/.fixtures}/debroot
started=$SECONDS
if ! bash "$FERRY_ROOT/tests/fixtures/mkdebroot.sh" "$base" >"$T/mkdebroot.log" 2>&1; then
	fail "deb: a clean Debian root (tests/fixtures/mkdebroot.sh)"
	tail -5 "$T/mkdebroot.log" | sed 's/^/#   /'
	exit 0
fi
R=$T/root
cp -a "$base/root" "$R"
cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
echo "# deb: clean root ready in $((SECONDS - started)) s"

# in_root CMD...: CMD in the root, in a mount namespace of its own (/dev, /proc,
# and the cached package directory; all gone when it ends), with a clean environment.
in_root() {
	unshare --mount -- sh -c 'r=$1 debs=$2; shift 2
		mount --rbind /dev "$r/dev" && mount -t proc proc "$r/proc" &&
		mount --bind "$debs" "$r/var/cache/apt/archives" || exit 3
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' _ "$R" "$base/debs" "$@"
}

cp "$deb" "$R/tmp/"
apt_install=(apt-get install -y -q --no-install-recommends "/tmp/${deb##*/}" man-db)
started=$SECONDS
# The lists in the cached root go stale when the mirror moves on: fetch them again then.
if ! in_root "${apt_install[@]}" >"$T/apt.log" 2>&1; then
	in_root apt-get update -q -o Acquire::Languages=none >>"$T/apt.log" 2>&1
	in_root "${apt_install[@]}" >>"$T/apt.log" 2>&1
fi
in_root dpkg-query -W -f '${Status} ${Version}\n' ferry >"$T/status" 2>&1
assert "root: apt installs the .deb with its dependencies (and man-db)" \
	grep -qx "install ok installed $version" "$T/status"
grep -qx "install ok installed $version" "$T/status" || tail -8 "$T/apt.log" | sed 's/^/#   /'
echo "# deb: installed in $((SECONDS - started)) s"

expect 0 "root: ferry-load --version" in_root ferry-load --version
assert "root: prints ferry-load $version" grep -qx "ferry-load $version" "$T/out"
expect 0 "root: ferry-pack --version" in_root ferry-pack --version

# A small bundle made here, verified there.
new_gpg_home || exit 1
mkdir -p "$T/spec"
printf 'hello from the connected side\n' >"$T/spec/note.txt"
cat >"$T/spec/spec.yaml" <<'EOF'
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: deb-check, version: 1.0.0}
files: [{path: note.txt}]
EOF
expect 0 "bundle: packed for the check in the root" "$PACK" build "$T/spec/spec.yaml" -o "$T/small.ferry" -q
cp "$T/small.ferry" "$KEYRING" "$R/tmp/"
cp "$T/small.ferry" "$R/tmp/tampered.ferry"
python3 - "$R/tmp/tampered.ferry" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.index(b"hello from the connected side")
b[i] ^= 0x20
open(p, "wb").write(bytes(b))
EOF
expect 0 "root: ferry-load verify of the bundle" in_root ferry-load verify /tmp/small.ferry --keyring "/tmp/${KEYRING##*/}"
assert "root: verify says OK" grep -q '^/tmp/small.ferry: OK' "$T/out"
expect_err 1 'files/note.txt' "root: ferry-load verify of a tampered copy fails, naming the entry" \
	in_root ferry-load verify /tmp/tampered.ferry --keyring "/tmp/${KEYRING##*/}"

# The check docs/offline-install.md prescribes before dpkg runs, with what a bare
# Debian has (gpgv, sha256sum): a signed list of the packages.
mkdir -p "$R/carry"
cp "$deb" "$R/carry/"
(cd "$R/carry" && sha256sum "${deb##*/}" >SHA256SUMS)
gpg --batch -q --armor --detach-sign -o "$R/carry/SHA256SUMS.asc" "$R/carry/SHA256SUMS" &&
	gpg --batch -q --export "$FPR" >"$R/carry/release.gpg"
expect 0 "offline: gpgv in the root accepts the signed list of packages" \
	in_root sh -c 'cd /carry && gpgv --keyring ./release.gpg SHA256SUMS.asc SHA256SUMS'
expect 0 "offline: sha256sum -c --strict accepts the .deb" in_root sh -c 'cd /carry && sha256sum -c --strict SHA256SUMS'
# one bit flipped (writing a fixed byte would change nothing where the .deb has it)
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(4096); b = f.read(1); f.seek(4096); f.write(bytes([b[0] ^ 1]))' \
	"$R/carry/${deb##*/}"
expect_err 1 'did NOT match' "offline: a .deb changed on the way fails sha256sum -c" \
	in_root sh -c 'cd /carry && sha256sum -c --strict SHA256SUMS'
echo "0000000000000000000000000000000000000000000000000000000000000000  other.deb" >>"$R/carry/SHA256SUMS"
expect_err 1 'BAD signature' "offline: a list changed on the way fails gpgv" \
	in_root sh -c 'cd /carry && gpgv --keyring ./release.gpg SHA256SUMS.asc SHA256SUMS'

expect 0 "root: man -w ferry-load" in_root man -w ferry-load
assert "root: ... is /usr/share/man/man1/ferry-load.1.gz" grep -qx /usr/share/man/man1/ferry-load.1.gz "$T/out"
expect 0 "root: man -w 5 ferry-bundle" in_root man -w 5 ferry-bundle
expect 0 "root: man renders ferry-pack(1)" in_root sh -c 'MANWIDTH=80 man ferry-pack | grep -q "SOURCE_DATE_EPOCH"'
expect 0 "root: the bash completion registers ferry-load" \
	in_root bash -c '. /usr/share/bash-completion/completions/ferry-load && complete -p ferry-load'

expect 0 "root: dpkg -r ferry" in_root dpkg -r ferry
expect 0 "root: after dpkg -r, ferry-load is gone" in_root test ! -e /usr/bin/ferry-load
