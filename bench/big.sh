# shellcheck shell=bash disable=SC2154,SC2153 # sourced by scripts/bench.sh: its variables
# bench/big.sh: the large-corpus part of scripts/bench.sh (BENCH_BIG=1), sourced by it
# after its set-up (repeat, measure, meta, fresh_registry, $C, $T, $B, $PACK, $LOAD,
# $KEYRING, baseline-pack.sh). Two docker-save images of 1.7 and 1.2 GB
# (bench/mkcorpus.sh OUTDIR big):
#   pack     ferry-pack build  vs  tar -czf + sha256sum + gpg --detach-sign
#   floor    openssl dgst -sha256 of the inputs and of the bundle, the deflate of the
#            compressible text at ferry's level on every core (bench/deflate_floor.c),
#            writing as many bytes as the bundle holds (dd, fdatasync): each once
#   load     into a fresh registry: the plain bundle, the same bundle in 1000M parts,
#            and the split one again into the registry it filled
# Then the report (only the rows of this part) and exit.
say "large corpus: $(du -sh "$C"/big1.docker.tar "$C"/big2.docker.tar | awk '{printf "%s%s", s, $1; s=" + "}')"
meta big 1
meta big_input_bytes "$((CORPUS_BIG1_DOCKER_TAR_BYTES + CORPUS_BIG2_DOCKER_TAR_BYTES))"
state=(--state "$T/state.json" --allow-downgrade)

say "large corpus: pack"
repeat big_pack_baseline "rm -f '$B/big.tar.gz'*" \
	bash "$T/baseline-pack.sh" "$B/big.tar.gz" "$C" big1.docker.tar big2.docker.tar
rm -f "$B/big.tar.gz"*
repeat big_pack_ferry "rm -f '$T/big.ferry'" "$PACK" build "$C/bench-big.yaml" -o "$T/big.ferry" -q
[ -f "$T/big.ferry" ] || { echo "bench: ferry-pack made no bundle; cannot go on" >&2; exit 1; }
meta big_ferry_bytes "$(fsize "$T/big.ferry")"
# Its layers were written with O_DIRECT: read it once, so that the floor's hash of it
# and the loads read it from the page cache, as the inputs are read.
cat "$T/big.ferry" >/dev/null

say "large corpus: the floor"
cc -O2 -o "$T/deflate_floor" "$root/bench/deflate_floor.c" -ldeflate -lpthread ||
	{ echo "bench: cannot build bench/deflate_floor.c (libdeflate-dev)" >&2; exit 2; }
repeat big_floor_sha_in : openssl dgst -sha256 "$C/big1.docker.tar" "$C/big2.docker.tar"
repeat big_floor_sha_out : openssl dgst -sha256 "$T/big.ferry"
repeat big_floor_deflate : "$T/deflate_floor" "$C/text.bin" "$(nproc)"
repeat big_floor_write "rm -f '$T/floor.out'" \
	dd if=/dev/zero of="$T/floor.out" bs=1M count="$(($(fsize "$T/big.ferry") >> 20))" conv=fdatasync status=none
rm -f "$T/floor.out"

say "large corpus: split against plain load, and load again"
"$PACK" build "$C/bench-big.yaml" -o "$T/bigs.ferry" -q --split 1000M
for ((i = 1; i <= runs; i++)); do
	runs_save=$runs runs=1
	fresh_registry
	repeat big_load_plain : "$LOAD" load "$T/big.ferry" --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http -q "${state[@]}"
	fresh_registry
	repeat big_load_split : "$LOAD" load "$T/bigs.ferry" --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http -q "${state[@]}"
	repeat big_load_split_again : "$LOAD" load "$T/bigs.ferry" --keyring "$KEYRING" --to "registry://$REG_ADDR" --plain-http -q "${state[@]}"
	runs=$runs_save
done
stop_registry
rm -f "$T/big.ferry" "$T"/bigs.ferry.*

meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
meta bench_seconds "$((SECONDS - start))"
say "results"
mkdir -p "$(dirname "$results")"
python3 "$root/bench/report.py" --runs "$RUNS" --meta "$META" --json "$results"
cp "$RUNS" "${results%.json}.runs.jsonl"
echo "bench: wrote $results (and ${results%.json}.runs.jsonl) in $((SECONDS - start)) s" >&2
exit 0
