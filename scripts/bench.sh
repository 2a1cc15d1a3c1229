#!/usr/bin/env bash
# make bench: ferry against what people do today, in one run on one machine.
#
#   pack   ferry-pack build        vs  tar -czf + sha256sum + gpg --detach-sign
#          and what the SBOMs cost: ferry-pack build vs ferry-pack build --no-sbom,
#          with the floor under them (the largest oci layer inflated on one core) and
#          their CPU against what the target leaves on this machine's cores (every
#          layer inflated and hashed: the least the SBOMs add)
#   verify ferry-load verify       vs  gpg --verify + sha256sum -c; openssl speed sha256
#   load   ferry-load load --to docker://   vs  tar -xzf + docker load of each archive
#          ferry-load load --to registry:// vs  skopeo copy oci-archive: -> docker://
#          (fresh registry each run), and again into the full registry
#   serve  docker pull from ferry-load serve vs from a docker-registry holding the
#          images; bundle to a first docker pull: serve (verify + pull) vs load into
#          a fresh registry + pull
#   pull   ferry-pack build of three images from a loopback registry vs skopeo copy
#          docker:// -> oci-archive: of each + tar + sha256sum + gpg, and vs skopeo
#          copy docker:// -> oci:DIR alone (the registry's CPU recorded beside, and
#          the pull's CPU against what that target leaves on this machine's cores)
#   delta  ferry-pack build --since v1 of version 2 of one application (its random
#          payload changed, bench/newversion.py): its size against the changed layer,
#          and its pack time against packing version 2 whole
#   peak RSS and disk written (/proc/PID/io) of every ferry run (bench/measure.py)
#
# The corpus (bench/mkcorpus.sh) is built once into bench/corpus/scale-N.
# Prints a table; writes bench/results.json, with BENCH_BIG=1 bench/results-big.json
# (BENCH_OUT overrides).
#
# Knobs: BENCH_SCALE=N (corpus size, default 1), BENCH_RUNS=N (runs per figure,
# default 5, the median is reported), BENCH_SCALE2=0 (skip the memory check on the
# corpus twice as large), BENCH_CORPUS=DIR (default bench/corpus), BENCH_ONLY="pack
# sbom zstd verify registry docker serve delta scale2" (a subset, for working on one figure; pack
# always runs, the other parts need its bundles). BENCH_BIG=1: instead, the large corpus
# (two docker-save images of 1.7 and 1.2 GB, 500 MB of `seq` text in one,
# bench/big.sh): pack against the manual procedure and against a floor measured in
# the same run, CPU per input GB, split against plain load and a load again
# (BENCH_RUNS defaults to 3 there).
# Everything runs warm (inputs in the page cache) on private services: a
# docker-registry on loopback and a dockerd on a unix socket (tests/services.sh).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
scale=${BENCH_SCALE:-1}
big=${BENCH_BIG:-0}
runs=${BENCH_RUNS:-$([ "$big" = 1 ] && echo 3 || echo 5)}
scale2=${BENCH_SCALE2:-1}
corpus_root=${BENCH_CORPUS:-$root/bench/corpus}
if [ "${BENCH_BIG:-0}" = 1 ]; then results=${BENCH_OUT:-$root/bench/results-big.json}; else results=${BENCH_OUT:-$root/bench/results.json}; fi
PACK=${FERRY_BIN:-$root/build}/ferry-pack
LOAD=${FERRY_BIN:-$root/build}/ferry-load
MEASURE=$root/bench/measure.py
only=${BENCH_ONLY:-pack sbom zstd verify registry docker serve pull delta scale2}
export FERRY_ROOT=$root
want() { case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
case $scale in '' | *[!0-9]* | 0) echo "bench: BENCH_SCALE must be a positive integer" >&2; exit 2 ;; esac
case $runs in '' | *[!0-9]* | 0) echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 2 ;; esac
if [ ! -x "$PACK" ] || [ ! -x "$LOAD" ]; then echo "bench: build ferry first (make)" >&2; exit 2; fi
for c in python3 gpg skopeo openssl tar gzip sha256sum docker docker-registry curl jq; do
	command -v $c >/dev/null || { echo "bench: $c not installed (scripts/install-deps.sh)" >&2; exit 2; }
done
start=$SECONDS

# shellcheck source=tests/services.sh
source "$root/tests/services.sh"   # standalone: gives $T, at_exit, start_registry, start_dockerd
# Private copies: a rebuild of build/ while the benchmark runs changes nothing.
mkdir -p "$T/bin"
cp "$PACK" "$LOAD" "$T/bin/"
PACK=$T/bin/ferry-pack LOAD=$T/bin/ferry-load
say() { printf '\n== %s\n' "$*" >&2; }
RUNS=$T/runs.jsonl META=$T/meta.env
# Loads keep their rollback state here, not in /var/lib/ferry of the machine (a
# bundle of the same name and version is loaded again and again).
export FERRY_STATE=$T/state.json
: >"$RUNS"
: >"$META"
meta() { printf '%s=%s\n' "$1" "$2" >>"$META"; }
skipped() { meta "skip_$1" "$2"; echo "bench: $1 not measured: $2" >&2; }

# svc_cpu PID: CPU seconds a service (and the children it reaped) has used so far.
svc_cpu() { awk '{printf "%.2f", ($14 + $15 + $16 + $17) / 100}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# measure LABEL CMD...: one measured run of CMD (stdout discarded), recorded in $RUNS.
# With SVC_PID set, the CPU time that service spent meanwhile is recorded too
# (label LABEL@service): the registry's or the daemon's share of a load.
measure() {
	local label=$1 rc=0 c0=''; shift
	[ -z "${SVC_PID:-}" ] || c0=$(svc_cpu "$SVC_PID")
	python3 "$MEASURE" --label "$label" --out "$RUNS" --stdout "$T/last.out" -- "$@" 2>"$T/last.err" || rc=$?
	if [ -n "$c0" ]; then
		printf '{"label": "%s@service", "rc": 0, "wall_s": %s, "user_s": 0, "sys_s": 0, "maxrss_kib": 0, "write_bytes": 0}\n' \
			"$label" "$(awk -v a="$(svc_cpu "$SVC_PID")" -v b="$c0" 'BEGIN { printf "%.2f", a - b }')" >>"$RUNS"
	fi
	if [ "$rc" -ne 0 ]; then
		echo "bench: $label: exit $rc: $*" >&2
		sed 's/^/    /' "$T/last.err" | tail -8 >&2
	fi
	return 0
}
# repeat LABEL PREP CMD...: $runs runs of CMD, running the shell command PREP
# (not measured) before each.
repeat() {
	local label=$1 prep=$2 i; shift 2
	for ((i = 1; i <= runs; i++)); do
		eval "$prep"
		measure "$label" "$@"
		printf '  %-22s run %d: %s\n' "$label" "$i" "$(grep -v '@service"' "$RUNS" | tail -1 | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%.2f s, rc %d, %d MiB RSS, %.1f MiB written" % (r["wall_s"], r["rc"], r["maxrss_kib"] // 1024, r["write_bytes"] / 1048576))')" >&2
	done
}
fsize() { stat -c %s "$1"; }
# fresh_registry: stops the registry of the previous run (and drops its data),
# starts an empty one.
REG_PID=
fresh_registry() {
	if [ -n "$REG_PID" ]; then { _svc_stop "$REG_PID" 5 || true; }; rm -rf "$REG_DIR"; fi
	# shellcheck disable=SC2119 # no arguments: a plain registry
	start_registry >&2 || { echo "bench: $SVC_WHY" >&2; exit 1; }
	SVC_PID=$REG_PID
}
stop_registry() {
	if [ -n "$REG_PID" ]; then { _svc_stop "$REG_PID" 5 || true; }; rm -rf "$REG_DIR"; fi
	REG_PID='' SVC_PID=''
}
# empty_docker: removes every image from the private daemon.
empty_docker() {
	docker images -aq | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
	[ -z "$(docker images -aq)" ] || { echo "bench: cannot empty the daemon" >&2; exit 1; }
}

# ------------------------------------------------------------------ corpus
if [ "$big" = 1 ]; then
	say "corpus (big)"
	C=$corpus_root/big
	bash "$root/bench/mkcorpus.sh" "$C" big >&2
else
	say "corpus (scale $scale)"
	C=$corpus_root/scale-$scale
	bash "$root/bench/mkcorpus.sh" "$C" "$scale" >&2
fi
# shellcheck disable=SC1091
. "$C/corpus.env"

# ------------------------------------------------------------------ machine
say "machine"
meta scale "$scale"
meta runs "$runs"
meta date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta git "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo '+dirty-src')"
meta nproc "$(nproc)"
meta cpu "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
meta mem "$(free -h | awk '/^Mem:/{print $2 " total, " $7 " available"}')"
meta kernel "$(uname -r)"
disk_dev=$(df --output=source "$T" | tail -1)
meta disk "$disk_dev ($(df -h --output=fstype,size "$T" | tail -1 | awk '{print $1 ", " $2}')); $(lsblk -dno NAME,ROTA,MODEL 2>/dev/null | awk '{r=($2=="1")?"rotational":"non-rotational"; printf "%s%s %s %s", sep, $1, r, $3; sep="; "}')"
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
meta tools "$(tar --version | head -1); gzip $(gzip --version | head -1 | awk '{print $2}'); $(gpg --version | head -1); $(skopeo --version); $(openssl version | cut -d' ' -f1-2); docker client $(docker --version | awk '{print $3}' | tr -d ,); $(docker-registry --version 2>/dev/null | awk '{print $NF}' | sed 's/^/registry /')"
for k in CORPUS_BASE_BYTES CORPUS_RAND_MIB CORPUS_TEXT_FILES CORPUS_APP1_DOCKER_TAR_BYTES CORPUS_APP2_DOCKER_TAR_BYTES \
	CORPUS_APP1_OCI_TAR_BYTES CORPUS_APP2_OCI_TAR_BYTES CORPUS_DOCS_BYTES; do
	meta "${k,,}" "${!k:-}"
done
# Single-core SHA-256 of this CPU, the ceiling for verify's hashing.
openssl speed -seconds 3 -bytes 1048576 -evp sha256 >"$T/speed.out" 2>/dev/null || true
meta openssl_sha256_bps "$(awk '/^sha256/ {v=$NF; sub(/k$/, "", v); printf "%.0f", v * 1000; exit}' "$T/speed.out")"
cat "$META" >&2

# A release key (no passphrase) in a throw-away GnuPG home, used by both sides.
export GNUPGHOME=$T/gnupg
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
at_exit "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1"
"$PACK" keygen --pgp --name "Ferry Bench <bench@ferry.invalid>" --export "$T/pub.asc" >"$T/keygen.out" 2>&1 ||
	{ cat "$T/keygen.out" >&2; exit 3; }
KEYRING=$T/pub.asc

# floor_tool: builds bench/inflate_floor.c once (libisal-dev, libssl-dev).
floor_tool() {
	[ -x "$T/inflate_floor" ] || cc -O2 -o "$T/inflate_floor" "$root/bench/inflate_floor.c" -lisal -lcrypto
}
# gzip_blobs DIR: the files of DIR that are gzip streams (the layers of a blob store).
gzip_blobs() {
	local f
	for f in "$1"/*; do
		[ "$(head -c 2 "$f" | od -An -tx1 | tr -d ' ')" = 1f8b ] && printf '%s\n' "$f"
	done
	return 0
}

# ------------------------------------------------------------------ pack
# baseline_pack NAME FILES...: tar.gz of FILES (relative to the corpus) + docs,
# its SHA-256 and a detached signature: what a release engineer does today.
B=$T/baseline
mkdir -p "$B"
cat >"$T/baseline-pack.sh" <<'SH'
set -e
out=$1 corpus=$2; shift 2
cd "$corpus"
tar -czf "$out" "$@" docs
cd "$(dirname "$out")"
sha256sum "$(basename "$out")" >"$out.sha256"
gpg --batch --yes -q --detach-sign -o "$out.sig" "$out"
SH
cat >"$T/baseline-verify.sh" <<'SH'
set -e
cd "$(dirname "$1")"
gpg --batch -q --verify "$1.sig" "$1" 2>/dev/null
sha256sum -c --quiet "$1.sha256"
SH

# shellcheck source=bench/big.sh
[ "$big" != 1 ] || . "$root/bench/big.sh"   # ends the run

for kind in docker oci; do
	say "pack from $kind archives"
	repeat "pack_${kind}_baseline" "rm -f '$B/$kind.tar.gz'*" \
		bash "$T/baseline-pack.sh" "$B/$kind.tar.gz" "$C" "app1.$kind.tar" "app2.$kind.tar"
	meta "baseline_${kind}_bytes" "$(($(fsize "$B/$kind.tar.gz") + $(fsize "$B/$kind.tar.gz.sig") + $(fsize "$B/$kind.tar.gz.sha256")))"
	repeat "pack_${kind}_ferry" "rm -f '$T/$kind.ferry'" \
		"$PACK" build "$C/bench-$kind.yaml" -o "$T/$kind.ferry" -q
	[ -f "$T/$kind.ferry" ] || { echo "bench: ferry-pack made no bundle; cannot go on" >&2; exit 1; }
	meta "ferry_${kind}_bytes" "$(fsize "$T/$kind.ferry")"
	# What the SBOMs cost: the same pack without them.
	if want sbom; then
		repeat "pack_${kind}_nosbom" "rm -f '$T/nosbom.ferry'" \
			"$PACK" build "$C/bench-$kind.yaml" -o "$T/nosbom.ferry" -q --no-sbom
		rm -f "$T/nosbom.ferry"
		# The floor under them: the largest gzip layer inflated on one core (a gzip
		# stream is inflated in order, so no SBOM of that image is made in less); and
		# every distinct layer inflated and hashed (the diff_id check): the CPU time
		# the SBOMs add however they are scheduled.
		if [ "$kind" = oci ]; then
			largest=$(tar -tvf "$C/app1.oci.tar" | awk '$6 ~ /^(\.\/)?blobs\/sha256\// {print $3, $6}' | sort -n | tail -1 | cut -d' ' -f2)
			rm -rf "$T/layers" && mkdir "$T/layers"
			if floor_tool && tar -xOf "$C/app1.oci.tar" "$largest" >"$T/largest.gz" &&
				tar -xf "$C/app1.oci.tar" -C "$T/layers" && tar -xf "$C/app2.oci.tar" -C "$T/layers"; then
				repeat sbom_floor_inflate : "$T/inflate_floor" "$T/largest.gz"
				meta sbom_floor_layer "$(sed 's/ bytes in, / -> /; s/ bytes out//' "$T/last.out")"
				mapfile -t gz < <(gzip_blobs "$T/layers/blobs/sha256")
				repeat sbom_floor_all : "$T/inflate_floor" --sha256 "${gz[@]}"
				meta sbom_floor_all_layers "${#gz[@]} layers, $(sed 's/ bytes in, / -> /; s/ bytes out//' "$T/last.out")"
			else
				skipped sbom_floor "cannot build bench/inflate_floor.c (libisal-dev) or read $largest"
			fi
			rm -rf "$T/largest.gz" "$T/layers"
		fi
	else
		skipped "sbom_$kind" "BENCH_ONLY without sbom"
	fi
done

# The same docker-save inputs with zstd layers (an option, not the default: older
# Docker daemons cannot load zstd layers); shown for the compression's share.
if want zstd; then
	say "pack from docker archives, --layer-compression zstd"
	repeat pack_docker_zstd_ferry "rm -f '$T/zstd.ferry'" \
		"$PACK" build "$C/bench-docker.yaml" -o "$T/zstd.ferry" --layer-compression zstd -q
	[ ! -f "$T/zstd.ferry" ] || meta ferry_zstd_bytes "$(fsize "$T/zstd.ferry")"
	rm -f "$T/zstd.ferry"
fi

# ferry-pack writes layers with O_DIRECT, past the page cache: the bundles are read
# once here so that every verify and load reads them from memory, as the baselines
# read their tar.gz files, which gzip wrote through the page cache.
cat "$T"/*.ferry >/dev/null 2>&1 || true

# ------------------------------------------------------------------ verify
if want verify; then
	say "verify"
	repeat verify_baseline : bash "$T/baseline-verify.sh" "$B/docker.tar.gz"
	repeat verify_ferry : "$LOAD" verify "$T/docker.ferry" --keyring "$KEYRING" -q
	repeat verify_ferry_oci : "$LOAD" verify "$T/oci.ferry" --keyring "$KEYRING" -q
	# The fixed part of verify: start-up and the signature check (inspect reads only
	# the head of the bundle, with the same throw-away GnuPG home and signature check).
	repeat inspect_ferry : "$LOAD" inspect "$T/docker.ferry" --keyring "$KEYRING"

fi

# ------------------------------------------------------------------ registry
# A fresh registry for every first load; skopeo's blob-info cache is a tmpfs of
# its own (a private mount namespace), so every skopeo run starts with none.
if want registry; then
	say "load into a fresh registry"
	cat >"$T/baseline-skopeo.sh" <<-'SH'
	set -e
	reg=$1 corpus=$2
	if [ -n "${BENCH_NS:-}" ]; then
		mkdir -p /var/lib/containers/cache
		mount -t tmpfs -o size=64m bench-bic /var/lib/containers/cache
	fi
	for app in app1 app2; do
		skopeo copy -q --dest-tls-verify=false "oci-archive:$corpus/$app.oci.tar" "docker://$reg/bench/$app:1" >/dev/null
	done
	SH
	if unshare -m true 2>/dev/null; then
		skopeo_cmd=(env BENCH_NS=1 unshare -m bash "$T/baseline-skopeo.sh")
		meta skopeo_cache "blob-info cache on an empty tmpfs in a private mount namespace"
	else
		skopeo_cmd=(bash "$T/baseline-skopeo.sh")
		meta skopeo_cache "blob-info cache removed before each run (no mount namespace)"
		at_exit ":"
	fi
	for ((i = 1; i <= runs; i++)); do
		fresh_registry
		[ "${skopeo_cmd[0]}" = env ] || rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
		runs_save=$runs runs=1
		repeat load_registry_baseline : "${skopeo_cmd[@]}" "$REG_ADDR" "$C"
		runs=$runs_save
	done
	for ((i = 1; i <= runs; i++)); do
		fresh_registry
		runs_save=$runs runs=1
		repeat load_registry_ferry : "$LOAD" load "$T/oci.ferry" --keyring "$KEYRING" --to "registry://$REG_ADDR/bench" --plain-http -q
		runs=$runs_save
	done
	# The registry the last ferry run filled: every blob is there already.
	if skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG_ADDR/bench/app2:1" >"$T/check.out" 2>&1; then
		meta registry_check "bench/app2:1 present ($(cat "$T/check.out"))"
	else
		meta registry_check "FAILED: $(tr '\n' ' ' <"$T/check.out")"
	fi
	say "load again into the full registry"
	repeat load_registry_again_ferry : "$LOAD" load "$T/oci.ferry" --keyring "$KEYRING" --to "registry://$REG_ADDR/bench" --plain-http -q
	stop_registry

fi

# ------------------------------------------------------------------ docker
if want docker; then
	say "load into Docker"
	if start_dockerd >&2; then
		meta dockerd "$(docker version --format '{{.Server.Version}}' 2>/dev/null), storage driver $(docker info --format '{{.Driver}}' 2>/dev/null)"
		SVC_PID=$DOCKERD_PID
		cat >"$T/baseline-docker.sh" <<-'SH'
	set -e
	x=$1; shift
	rm -rf "$x"; mkdir -p "$x"
	tar -xzf "$1" -C "$x"
	docker load -q -i "$x/app1.docker.tar" >/dev/null
	docker load -q -i "$x/app2.docker.tar" >/dev/null
	SH
		repeat load_docker_baseline "empty_docker; rm -rf '$B/x'" bash "$T/baseline-docker.sh" "$B/x" "$B/docker.tar.gz"
		meta baseline_extracted_bytes "$(du -sb "$B/x" | cut -f1)"
		rm -rf "$B/x"
		# The daemon's own share: docker load of the archives as they are (no tar -xzf).
		# shellcheck disable=SC2016 # expanded by the inner bash
		repeat load_docker_daemon_only empty_docker bash -c 'docker load -q -i "$1" >/dev/null && docker load -q -i "$2" >/dev/null' _ "$C/app1.docker.tar" "$C/app2.docker.tar"
		repeat load_docker_ferry empty_docker "$LOAD" load "$T/docker.ferry" --keyring "$KEYRING" --to "docker://unix://$DOCKER_SOCK" -q
		if docker run --rm --network none bench.ferry.test/app2:1 sh -c 'test -s /opt/app2/data/blob-0.bin && cat /etc/debian_version' >"$T/check.out" 2>&1; then
			meta docker_check "bench.ferry.test/app2:1 runs (Debian $(cat "$T/check.out"))"
		else
			meta docker_check "FAILED: $(tr '\n' ' ' <"$T/check.out")"
		fi
		empty_docker
		SVC_PID=
	else
		skipped load_docker "dockerd: $SVC_WHY"
	fi

fi

# ------------------------------------------------------------------ serve
# docker pull of both images from `ferry-load serve` (the verified bundle answered where
# it lies) vs from a docker-registry holding them (filled by ferry-load load first); then
# the time from a bundle on disk to a first docker pull of one image: serve (verify,
# answer, pull) vs load into a fresh registry, then pull. Docker is emptied before each.
if want serve; then
	if [ -n "${DOCKER_SOCK:-}" ] || start_dockerd >&2; then
		cat >"$T/pull.sh" <<-'SH'
		set -e
		for app in app1 app2; do docker pull -q "$1/bench/$app:1" >/dev/null; done
		SH
		cat >"$T/serve-pull.sh" <<-'SH'
		# LOAD KEYRING BUNDLE PORT: serve (it verifies first), docker pull app1, stop
		set -e
		"$1" serve "$3" --keyring "$2" --listen "127.0.0.1:$4" --prefix bench -q &
		pid=$!
		trap 'kill -TERM $pid 2>/dev/null; wait $pid || true' EXIT
		until curl -sf -o /dev/null "http://127.0.0.1:$4/v2/"; do kill -0 $pid; sleep 0.01; done
		docker pull -q "127.0.0.1:$4/bench/app1:1" >/dev/null
		SH
		cat >"$T/load-pull.sh" <<-'SH'
		# LOAD KEYRING BUNDLE REGISTRY: load into the registry, docker pull app1
		set -e
		"$1" load "$3" --keyring "$2" --to "registry://$4/bench" --plain-http -q
		docker pull -q "$4/bench/app1:1" >/dev/null
		SH
		# every config and layer blob of both images once, 3 at a time (curl): the
		# servers' own throughput, without Docker's unpacking
		cat >"$T/get-blobs.sh" <<-'SH'
		set -e
		for app in app1 app2; do
			curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$1/v2/bench/$app/manifests/1" |
				jq -r --arg u "http://$1/v2/bench/$app/blobs/" '.config.digest, .layers[].digest | $u + .'
		done | sort -u -t/ -k8 | xargs -P 3 -n 1 curl -sf -o /dev/null
		SH
		meta serve_pull_bytes "$(tar -tvf "$T/oci.ferry" | awk '$6 ~ /^images\/blobs\// {s += $3} END {print s}')"
		say "docker pull from a docker-registry holding the images"
		fresh_registry
		"$LOAD" load "$T/oci.ferry" --keyring "$KEYRING" --to "registry://$REG_ADDR/bench" --plain-http -q
		repeat pull_registry empty_docker bash "$T/pull.sh" "$REG_ADDR"
		repeat get_registry : bash "$T/get-blobs.sh" "$REG_ADDR"
		stop_registry
		say "docker pull from ferry-load serve"
		port=$(free_port)
		"$LOAD" serve "$T/oci.ferry" --keyring "$KEYRING" --listen "127.0.0.1:$port" --prefix bench -q &
		serve_pid=$!
		until curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"; do
			kill -0 "$serve_pid" || { echo "bench: ferry-load serve did not start" >&2; exit 1; }
			sleep 0.05
		done
		SVC_PID=$serve_pid
		repeat pull_serve empty_docker bash "$T/pull.sh" "127.0.0.1:$port"
		repeat get_serve : bash "$T/get-blobs.sh" "127.0.0.1:$port"
		SVC_PID=
		kill -TERM "$serve_pid"
		wait "$serve_pid" || true
		say "bundle to a first docker pull"
		for ((i = 1; i <= runs; i++)); do
			empty_docker
			fresh_registry
			runs_save=$runs runs=1
			repeat firstpull_load : bash "$T/load-pull.sh" "$LOAD" "$KEYRING" "$T/oci.ferry" "$REG_ADDR"
			runs=$runs_save
		done
		stop_registry
		repeat firstpull_serve empty_docker bash "$T/serve-pull.sh" "$LOAD" "$KEYRING" "$T/oci.ferry" "$(free_port)"
		empty_docker
	else
		skipped serve "dockerd: $SVC_WHY"
	fi
fi

# ------------------------------------------------------------------ pull
# Three images in a loopback registry (filled once with skopeo): ferry-pack pulls and
# packs them signed; the baselines pull them with skopeo.
if want pull; then
	say "pack from a registry"
	stop_registry
	fresh_registry
	PR=$REG_ADDR SVC_PID=
	for app in app1 app2; do
		skopeo copy -q --dest-tls-verify=false "oci-archive:$C/$app.oci.tar" "docker://$PR/bench/$app:1" >&2
	done
	skopeo copy -q --dest-tls-verify=false "docker-archive:$C/app1.docker.tar" "docker://$PR/bench/app3:1" >&2
	printf 'apiVersion: ferry/v1\nkind: BundleSpec\nmetadata: {name: pull, version: 1.0.0, vendor: Bench}\nimages:\n' >"$T/pull.yaml"
	for app in app1 app2 app3; do printf '  - {ref: %s/bench/%s:1}\n' "$PR" "$app" >>"$T/pull.yaml"; done
	cat >"$T/pull-manual.sh" <<'SH'
set -e
reg=$1 out=$2
rm -rf "$out" && mkdir -p "$out/a" && cd "$out/a"
for app in app1 app2 app3; do skopeo copy -q --src-tls-verify=false "docker://$reg/bench/$app:1" "oci-archive:$app.tar"; done
tar -cf ../bundle.tar ./*.tar && cd .. && sha256sum bundle.tar >bundle.sha256
gpg --batch --yes -q --detach-sign -o bundle.tar.sig bundle.tar
SH
	cat >"$T/pull-ocidir.sh" <<'SH'
set -e
reg=$1 out=$2
rm -rf "$out"
for app in app1 app2 app3; do skopeo copy -q --src-tls-verify=false "docker://$reg/bench/$app:1" "oci:$out:$app"; done
SH
	repeat pull_manual_baseline : bash "$T/pull-manual.sh" "$PR" "$T/pull-manual"
	# The registry's CPU time is recorded beside these (label@service): it shares the cores.
	SVC_PID=$REG_PID
	repeat pull_ocidir_baseline : bash "$T/pull-ocidir.sh" "$PR" "$T/pull-ocidir"
	repeat pull_ferry "rm -f '$T/pull.ferry'" "$PACK" build "$T/pull.yaml" -o "$T/pull.ferry" --plain-http "$PR" -q
	[ ! -f "$T/pull.ferry" ] || meta ferry_pull_bytes "$(fsize "$T/pull.ferry")"
	repeat pull_ferry_nosbom "rm -f '$T/pull.ferry'" "$PACK" build "$T/pull.yaml" -o "$T/pull.ferry" --plain-http "$PR" -q --no-sbom
	SVC_PID=
	# What the SBOMs of the pulled layers add however scheduled: each inflated and hashed.
	if floor_tool; then
		mapfile -t gz < <(gzip_blobs "$T/pull-ocidir/blobs/sha256")
		repeat pull_floor_all : "$T/inflate_floor" --sha256 "${gz[@]}"
		meta pull_floor_all_layers "${#gz[@]} layers, $(sed 's/ bytes in, / -> /; s/ bytes out//' "$T/last.out")"
	else
		skipped pull_floor "cannot build bench/inflate_floor.c (libisal-dev)"
	fi
	rm -rf "$T/pull-manual" "$T/pull-ocidir" "$T/pull.ferry"
	stop_registry
fi

# ------------------------------------------------------------------ delta
# Version 2 of app1 (its random-payload layer made anew, every other layer the same)
# packed whole and --since version 1: the delta must carry the changed layer and little
# else (target: at most 1 % more).
if want delta; then
	say "delta: version 2 of app1 --since version 1"
	changed=$(python3 "$root/bench/newversion.py" "$C/app1.oci.tar" "$T/app1v2.oci.tar" bench.ferry.test/app1:2)
	for v in 1 2; do
		from=$C/app1.oci.tar
		[ $v = 1 ] || from=$T/app1v2.oci.tar
		cat >"$T/delta-v$v.yaml" <<-Y
		apiVersion: ferry/v1
		kind: BundleSpec
		metadata: {name: bench-app1, version: "$v", vendor: Ferry Bench}
		images:
		  - {ref: bench.ferry.test/app1:$v, from: $from}
		Y
	done
	"$PACK" build "$T/delta-v1.yaml" -o "$T/app1-v1.ferry" --allow-outside-paths -q
	repeat pack_v2_whole_ferry "rm -f '$T/app1-v2.ferry'" \
		"$PACK" build "$T/delta-v2.yaml" -o "$T/app1-v2.ferry" --allow-outside-paths -q
	repeat pack_v2_delta_ferry "rm -f '$T/app1-v2d.ferry'" \
		"$PACK" build "$T/delta-v2.yaml" -o "$T/app1-v2d.ferry" --allow-outside-paths -q --since "$T/app1-v1.ferry" --keyring "$KEYRING"
	meta delta_changed_bytes "$changed"
	meta delta_whole_bytes "$(fsize "$T/app1-v2.ferry")"
	meta delta_bytes "$(fsize "$T/app1-v2d.ferry")"
	rm -f "$T/app1v2.oci.tar" "$T/app1-v1.ferry" "$T/app1-v2.ferry" "$T/app1-v2d.ferry"
fi

# ------------------------------------------------------------------ scale x2
# Peak memory must not grow with the bundle: verify and load once on the corpus
# twice as large.
if [ "$scale2" != 0 ] && want scale2; then
	s2=$((scale * 2))
	say "memory on the corpus at scale $s2"
	C2=$corpus_root/scale-$s2
	bash "$root/bench/mkcorpus.sh" "$C2" "$s2" >&2
	meta scale2 "$s2"
	"$PACK" build "$C2/bench-docker.yaml" -o "$T/docker2.ferry" -q
	"$PACK" build "$C2/bench-oci.yaml" -o "$T/oci2.ferry" -q
	meta ferry_docker2_bytes "$(fsize "$T/docker2.ferry")"
	meta ferry_oci2_bytes "$(fsize "$T/oci2.ferry")"
	repeat verify_ferry_x2 : "$LOAD" verify "$T/docker2.ferry" --keyring "$KEYRING" -q
	runs_save=$runs runs=1
	fresh_registry
	repeat load_registry_ferry_x2 : "$LOAD" load "$T/oci2.ferry" --keyring "$KEYRING" --to "registry://$REG_ADDR/bench" --plain-http -q
	stop_registry
	if [ -n "${DOCKER_SOCK:-}" ]; then
		SVC_PID=$DOCKERD_PID
		repeat load_docker_ferry_x2 : "$LOAD" load "$T/docker2.ferry" --keyring "$KEYRING" --to "docker://unix://$DOCKER_SOCK" -q
		empty_docker
		SVC_PID=
	fi
	runs=$runs_save
	rm -f "$T/docker2.ferry" "$T/oci2.ferry"
else
	skipped scale2 "BENCH_SCALE2=0 or BENCH_ONLY"
fi

meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
meta bench_seconds "$((SECONDS - start))"
say "results"
mkdir -p "$(dirname "$results")"
python3 "$root/bench/report.py" --runs "$RUNS" --meta "$META" --json "$results"
cp "$RUNS" "${results%.json}.runs.jsonl"
echo "bench: wrote $results (and ${results%.json}.runs.jsonl) in $((SECONDS - start)) s" >&2
