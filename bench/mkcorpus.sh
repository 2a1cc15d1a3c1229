#!/usr/bin/env bash
# bench/mkcorpus.sh OUTDIR [SCALE|big]: the benchmark corpus, built once and cached.
#
#   base:  the debootstrap'd Debian 12 minbase image (tests/fixtures/mkdebian.sh,
#          imported into Docker as ferry.test/debian:12)
#   app1, app2: FROM that base, each adding SCALE x 40 MiB of random data
#          (incompressible) and SCALE x 8 MiB of text in 160 files, built with
#          the classic builder (DOCKER_BUILDKIT=0) on a private dockerd
#   saved as  appN.docker.tar   (docker save: legacy archive, base included)
#             appN.oci.tar      (skopeo copy to oci-archive: gzip layers)
#   big (BENCH_BIG=1 in scripts/bench.sh): instead of app1 and app2, big1 (1 GiB of
#          random data and 500 MB of text: the output of `seq`, as issue 21 measured
#          with) and big2 (1 GiB of random data), docker save only (1.7 and 1.2 GB):
#          pack and split load at USB-stick scale
#   docs/     INSTALL.md, release-notes.txt, manual.pdf (4 MiB, incompressible)
#   corpus.env  sizes and references, sourced by scripts/bench.sh
#
# Nothing is done when OUTDIR/.done holds the hash of this script and SCALE.
set -eu
out=${1:?usage: mkcorpus.sh OUTDIR [SCALE]}
scale=${2:-1}
case $scale in big) ;; '' | *[!0-9]* | 0) echo "mkcorpus: SCALE must be a positive integer or big" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export FERRY_ROOT=$root
stamp="$(sha256sum <"$here/mkcorpus.sh" | cut -d' ' -f1) scale=$scale"

mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
exec 9>"$out.lock"
flock -w 1800 9 || { echo "mkcorpus: $out.lock is held by another run" >&2; exit 1; }
if [ -f "$out/.done" ] && [ "$(cat "$out/.done")" = "$stamp" ]; then
	echo "mkcorpus: up to date in $out"
	exit 0
fi
start=$SECONDS
for c in skopeo python3 docker; do
	command -v $c >/dev/null || { echo "mkcorpus: $c not installed (scripts/install-deps.sh)" >&2; exit 1; }
done

# shellcheck source=../tests/services.sh
source "$root/tests/services.sh"
need_fixtures debian || exit 1
echo "mkcorpus: base image $FX_DEBIAN/debian.docker.tar ($(du -sh "$FX_DEBIAN/debian.docker.tar" | cut -f1))"
unset DOCKER_HOST
start_dockerd || exit 1

w=$out.tmp.$$
rm -rf "$w"
mkdir -p "$w/docs"
at_exit "rm -rf '$w'"
docker load -q -i "$FX_DEBIAN/debian.docker.tar" >/dev/null

# text FILE SEED BYTES: pseudo-English (a Zipf-distributed vocabulary, lines of
# prose) that compresses like real documentation (about 3x with gzip). A pool of
# 64 Ki distinct lines (4-5 MB, more than any compressor window ferry uses) is made
# word by word; the file is lines drawn from it at random, written in 1 MiB blocks:
# a second per 100 MB instead of a minute.
text() {
	python3 - "$1" "$2" "$3" <<'PY'
import itertools, random, sys
path, seed, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
letters = "etaoinshrdlcumwfgypbvkjxqz"
wts = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
vocab = ["".join(rng.choices(letters, wts, k=rng.randint(2, 10))) for _ in range(8000)]
zipf = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(vocab))))
pool = [" ".join(rng.choices(vocab, cum_weights=zipf, k=rng.randint(6, 16))).capitalize() + ".\n"
        for _ in range(min(65536, size // 40 + 1))]
n = 0
with open(path, "w") as f:
    while n < size:
        block = "".join(rng.choices(pool, k=16384))[: size - n]
        f.write(block)
        n += len(block)
PY
}

# seqtext FILE BYTES: the output of `seq`, the text the targets of the large corpus
# were set with (issue 21: "500 MB of `seq` text"); deflates several times faster
# than text(), which stays the text of the scale-N corpora. 500 MB in a few seconds.
seqtext() {
	seq 1 1000000000 | head -c "$2" >"$1" || true
	[ "$(stat -c %s "$1")" = "$2" ] || { echo "mkcorpus: seq made a short $1" >&2; exit 1; }
}

if [ "$scale" = big ]; then
	apps="big1 big2" rand_mib=1024 text_files=9766 kinds=docker
else
	apps="app1 app2" rand_mib=$((40 * scale)) text_files=$((160 * scale)) kinds="docker oci"
fi
for app in $apps; do
	ctx=$T/ctx-$app
	mkdir -p "$ctx/data" "$ctx/text"
	seed=$(case $app in app1 | big1) echo 1 ;; *) echo 2 ;; esac)
	# Incompressible data in 4 MiB files.
	for ((i = 0; i < rand_mib / 4; i++)); do
		head -c $((4 << 20)) /dev/urandom >"$ctx/data/blob-$i.bin"
	done
	if [ "$app" = big2 ]; then
		echo "no text in $app" >"$ctx/text/README"
	else
		if [ "$scale" = big ]; then
			seqtext "$ctx/text/all.txt" $((text_files * 51200))
		else
			text "$ctx/text/all.txt" "$seed" $((text_files * 51200))
		fi
		split -a 4 -d -b 51200 --additional-suffix=.txt "$ctx/text/all.txt" "$ctx/text/doc-"
		# the big corpus keeps its compressible data apart: the deflate part of the floor
		if [ "$scale" = big ]; then mv "$ctx/text/all.txt" "$w/text.bin"; else rm -f "$ctx/text/all.txt"; fi
	fi
	cat >"$ctx/Dockerfile" <<DF
FROM ferry.test/debian:12
COPY data /opt/$app/data
COPY text /usr/share/doc/$app
LABEL org.opencontainers.image.title=$app
CMD ["/bin/bash"]
DF
	DOCKER_BUILDKIT=0 docker build -q -t "bench.ferry.test/$app:1" "$ctx" >"$T/build-$app.log" 2>&1 ||
		{ tail -15 "$T/build-$app.log" >&2; echo "mkcorpus: docker build of $app failed" >&2; exit 1; }
	docker save -o "$w/$app.docker.tar" "bench.ferry.test/$app:1"
	docker rmi -f "bench.ferry.test/$app:1" >/dev/null 2>&1 || true
	[ "$kinds" = docker ] ||
		skopeo copy -q "docker-archive:$w/$app.docker.tar" "oci-archive:$w/$app.oci.tar:bench.ferry.test/$app:1"
	rm -rf "$ctx"
	echo "mkcorpus: $app: $(du -sh "$w"/$app.*.tar | cut -f1 | tr '\n' ' ')(docker save${kinds#docker})"
done

text "$w/docs/INSTALL.md" 11 $((200 << 10))
text "$w/docs/release-notes.txt" 12 $((100 << 10))
head -c $((4 << 20)) /dev/urandom >"$w/docs/manual.pdf"

# The two specs ferry-pack builds from (paths relative to the spec).
[ "$kinds" = docker ] || for kind in docker oci; do
	cat >"$w/bench-$kind.yaml" <<Y
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: bench-$kind, version: 1.0.0, vendor: Ferry Bench}
images:
  - {ref: bench.ferry.test/app1:1, from: app1.$kind.tar}
  - {ref: bench.ferry.test/app2:1, from: app2.$kind.tar}
docs:
  - {path: docs/INSTALL.md, title: Installation guide}
  - {path: docs/manual.pdf, title: Manual}
  - {path: docs/release-notes.txt, title: Release notes}
Y
done
[ "$kinds" != docker ] || cat >"$w/bench-big.yaml" <<Y
apiVersion: ferry/v1
kind: BundleSpec
metadata: {name: bench-big, version: 1.0.0, vendor: Ferry Bench}
images:
  - {ref: bench.ferry.test/big1:1, from: big1.docker.tar}
  - {ref: bench.ferry.test/big2:1, from: big2.docker.tar}
docs:
  - {path: docs/INSTALL.md, title: Installation guide}
  - {path: docs/manual.pdf, title: Manual}
  - {path: docs/release-notes.txt, title: Release notes}
Y
{
	echo "# made by bench/mkcorpus.sh, scale $scale"
	echo "CORPUS_SCALE=$scale"
	echo "CORPUS_BASE_BYTES=$(stat -c %s "$FX_DEBIAN/debian.docker.tar")"
	echo "CORPUS_RAND_MIB=$rand_mib"
	echo "CORPUS_TEXT_FILES=$text_files"
	for f in "$w"/*.tar; do
		f=${f##*/}
		v=${f//./_}
		echo "CORPUS_${v^^}_BYTES=$(stat -c %s "$w/$f")"
	done
	echo "CORPUS_DOCS_BYTES=$(du -cb "$w"/docs/* | tail -1 | cut -f1)"
} >"$w/corpus.env"
echo "$stamp" >"$w/.done"
rm -rf "$out"
mv "$w" "$out"
echo "mkcorpus: wrote $out ($(du -sh "$out" | cut -f1)) in $((SECONDS - start)) s"
