#!/usr/bin/env bash
# build-deb.sh OUTDIR: builds the Debian package (debian/, `dpkg-buildpackage
# -us -uc -b`) from a copy of this tree: the files git tracks and new files it
# does not ignore (everything but build/ and tests/.fixtures/ without git). The
# source tree is left as it was. Leaves in OUTDIR:
#
#   ferry_VERSION_ARCH.deb (and ferry-dbgsym_...), ferry_VERSION_ARCH.buildinfo,
#   ferry_VERSION_ARCH.changes, build.log, lintian.txt
#
# then runs lintian on the .changes. Exit 0 when the package built and lintian
# found no error (its warnings are printed and kept in lintian.txt); 1 when the
# build failed or lintian reported an error; 3 when a tool is missing.
set -eu
out=${1:?usage: build-deb.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
for tool in dpkg-buildpackage dpkg-parsechangelog dh lintian scdoc; do
	command -v "$tool" >/dev/null ||
		{ echo "build-deb: $tool not found (scripts/install-deps.sh installs it)" >&2; exit 3; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
w=$(mktemp -d "${TMPDIR:-/tmp}/ferry-deb.XXXXXX")
trap 'rm -rf "$w"' EXIT
src=$w/ferry-$version
mkdir -p "$src"

# The tree as a release would have it: no build output, no test caches.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$src"
else
	tar -C "$root" --exclude=./build --exclude=./tests/.fixtures -cf - . | tar -xf - -C "$src"
fi

# A make that runs this script hands its jobserver down; dpkg-buildpackage
# starts its own make.
echo "build-deb: dpkg-buildpackage -us -uc -b for ferry $version ($arch), log in $out/build.log"
if ! (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	dpkg-buildpackage -us -uc -b -jauto) >"$out/build.log" 2>&1; then
	tail -30 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
rm -f "$out"/ferry*_"$version"_*.deb "$out"/ferry_"$version"_*.buildinfo "$out"/ferry_"$version"_*.changes
mv "$w"/ferry*_"$version"_*.deb "$w"/ferry_"$version"_*.buildinfo "$w"/ferry_"$version"_*.changes "$out"/
deb=$out/ferry_${version}_${arch}.deb
[ -f "$deb" ] || { echo "build-deb: $deb was not made" >&2; exit 1; }
echo "build-deb: $deb"

# lintian refuses nothing for running as root but says so; the tags are what count.
lintian --fail-on error "$out/ferry_${version}_${arch}.changes" >"$out/lintian.txt" 2>&1 && rc=0 || rc=$?
grep -v '^running with root privileges' "$out/lintian.txt" || true
if [ "$rc" -ne 0 ]; then
	echo "build-deb: lintian reported errors (exit $rc; $out/lintian.txt)" >&2
	exit 1
fi
echo "build-deb: lintian: no errors ($(grep -c '^W: ' "$out/lintian.txt" || true) warnings)"
