#!/usr/bin/env bash
# Installs what ferry needs to build and test on Debian 12, and only what is
# missing. Safe to run again; non-interactive (CI=true, no stdin). Runs apt as
# root, or through sudo when not root. Prints one line: what it installed, or
# that everything was present.
set -eu

pkgs=(
	# build
	build-essential pkg-config
	libarchive-dev libzstd-dev libgpgme-dev libssl-dev libyaml-dev
	libcurl4-openssl-dev libjansson-dev libdeflate-dev zlib1g-dev
	libisal-dev librpm-dev          # SBOMs: gzip layers inflated with ISA-L; rpmdbs read with librpm
	libmicrohttpd-dev libcrypt-dev   # ferry-load serve: HTTP(S) server, bcrypt for --htpasswd
	clang libclang-rt-14-dev        # fuzz targets (-fsanitize=fuzzer)
	scdoc                           # the man pages (man/*.scd)
	# the Debian package (make deb, tests/cli/95-deb.sh) and reading it back
	dpkg-dev debhelper fakeroot lintian man-db
	# tools the tests use as independent, real counterparts
	gnupg zstd jq python3 ca-certificates curl
	openssl                         # throw-away CA and server certificate of the HTTPS test registry
	docker.io                       # dockerd 20.10 (+ containerd, runc, tini)
	docker-registry                 # Docker Distribution 2.8, the test registry
	skopeo                          # independent reader of OCI layouts/archives
	docker-compose                  # checks and runs Compose files that ferry-load rewrite pointed at a registry
	python3-yaml                    # reads the YAML image map back in the tests
	python3-cryptography            # makes cosign signatures in cosign's formats (66-cosign.sh)
	apache2-utils                   # htpasswd -B: bcrypt users for the auth registry
	busybox-static                  # static /bin/busybox: the rootfs of the base test image
	debootstrap debian-archive-keyring  # the real Debian image (tests/fixtures/mkdebian.sh)
	rpm                             # an rpmdb for the RPM image of the SBOM test (rpmbuild, rpm --justdb)
	python3-jsonschema              # the official SPDX and CycloneDX schemas check every SBOM
	chromium                        # renders the HTML report headless (screenshot, DOM)
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages already present"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1; then
	as_root=(sudo -n)      # never prompt: CI has no stdin
else
	echo "install-deps: missing ${missing[*]}, and not root and no sudo" >&2
	exit 1
fi

# Package scripts must not start system daemons (docker, containerd, registry):
# the tests start private ones on their own sockets and ports.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
	"${as_root[@]}" chmod 755 "$policy"
	made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then "${as_root[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" \
		--no-install-recommends "${missing[@]}"; } </dev/null >"$log" 2>&1; then
	tail -25 "$log" >&2
	rm -f "$log"
	echo "install-deps: failed to install: ${missing[*]}" >&2
	exit 1
fi
rm -f "$log"
echo "install-deps: installed ${missing[*]}"
