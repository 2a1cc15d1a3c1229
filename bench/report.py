#!/usr/bin/env python3
"""report.py --runs RUNS.jsonl --meta META.env [--json OUT.json]

Turns the runs recorded by bench/measure.py (one JSON line each, labelled) and the
key=value facts scripts/bench.sh collected into the results table (stdout,
Markdown) and bench/results.json. Every figure is the median of its runs.
"""
import json
import statistics
import sys

MIB = 1 << 20


def load(argv):
    opts = {"--runs": None, "--meta": None, "--json": None}
    i = 1
    while i < len(argv):
        if argv[i] not in opts or i + 1 >= len(argv):
            sys.exit(f"usage: {__doc__}")
        opts[argv[i]] = argv[i + 1]
        i += 2
    runs = {}
    with open(opts["--runs"]) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                runs.setdefault(r["label"], []).append(r)
    meta = {}
    with open(opts["--meta"]) as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition("=")
            if sep:
                meta[k] = v
    return runs, meta, opts["--json"]


class Fig:
    """Median figures of one label; None when it was not measured or failed."""

    def __init__(self, runs, label):
        rs = runs.get(label, [])
        self.label = label
        self.n = len(rs)
        self.failed = [r["rc"] for r in rs if r["rc"] != 0]
        ok = [r for r in rs if r["rc"] == 0]
        med = lambda k: statistics.median(r[k] for r in ok) if ok else None
        self.wall = med("wall_s")
        self.cpu = statistics.median(r["user_s"] + r["sys_s"] for r in ok) if ok else None
        self.rss = med("maxrss_kib")
        self.wbytes = med("write_bytes")
        self.walls = [r["wall_s"] for r in rs]

    def ok(self):
        return self.n > 0 and not self.failed

    def js(self):
        return {
            "label": self.label, "runs": self.n, "failed_exit_codes": self.failed,
            "wall_s_median": self.wall, "wall_s_all": self.walls, "cpu_s_median": self.cpu,
            "maxrss_kib_median": self.rss, "write_bytes_median": self.wbytes,
        }


def num(meta, k):
    v = meta.get(k)
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def main(argv):
    runs, meta, out = load(argv)
    F = lambda label: Fig(runs, label)
    rows = []

    def row(rid, work, baseline, ferry, value, target, passed, unit_note="", figs=(), extra=None):
        r = {"id": rid, "work": work, "baseline": baseline, "ferry": ferry, "value": value,
             "target": target, "pass": passed, "note": unit_note,
             "figures": [f.js() for f in figs]}
        if extra:
            r.update(extra)
        rows.append(r)

    def not_measured(why):
        return f"NOT MEASURED: {why}"

    def timing(rid, work, bl, fl, target_desc, check, invert=False, extra_note=""):
        b, f = F(bl), F(fl)
        if not b.ok() or not f.ok():
            why = []
            for x in (b, f):
                if x.n == 0:
                    why.append(f"{x.label} did not run")
                elif x.failed:
                    why.append(f"{x.label} failed (exit {x.failed})")
            skip = meta.get(f"skip_{rid}") or meta.get(f"skip_{rid.split('_x')[0]}")
            row(rid, work, fmt_s(b.wall), fmt_s(f.wall), not_measured(skip or "; ".join(why)), target_desc, None,
                figs=(b, f))
            return None
        ratio = (f.wall / b.wall) if invert else (b.wall / f.wall)
        row(rid, work, fmt_s(b.wall), fmt_s(f.wall), (f"{ratio:.2f}x of baseline" if invert else f"{ratio:.2f}x faster"),
            target_desc, check(ratio), extra_note, figs=(b, f), extra={"ratio": round(ratio, 3)})
        return ratio

    # ---- pack
    timing("pack_docker", "pack from docker-save archives", "pack_docker_baseline", "pack_docker_ferry",
           ">= 5x faster", lambda r: r >= 5)
    bb, fb = num(meta, "baseline_docker_bytes"), num(meta, "ferry_docker_bytes")
    if bb and fb:
        row("size_docker", "bundle size (docker-save inputs)", fmt_b(bb), fmt_b(fb), f"{fb / bb:.3f}x the size",
            "<= 0.6x the size", fb / bb <= 0.6, extra={"ratio": round(fb / bb, 4), "baseline_bytes": bb, "ferry_bytes": fb})
    bo, fo = num(meta, "baseline_oci_bytes"), num(meta, "ferry_oci_bytes")
    timing("pack_oci", "pack from oci-archives", "pack_oci_baseline", "pack_oci_ferry", ">= 10x faster", lambda r: r >= 10)
    if bo and fo:
        row("size_oci", "bundle size (oci-archive inputs)", fmt_b(bo), fmt_b(fo), f"{fo / bo:.3f}x the size",
            "(no target)", None, extra={"ratio": round(fo / bo, 4), "baseline_bytes": bo, "ferry_bytes": fo})

    # what the SBOMs add to a pack (the same pack with --no-sbom as the baseline)
    for kind, what in (("docker", "docker-save archives"), ("oci", "oci-archives")):
        timing(f"sbom_{kind}", f"SBOMs: pack from {what}, with SBOMs vs --no-sbom", f"pack_{kind}_nosbom",
               f"pack_{kind}_ferry", "<= 1.15x the --no-sbom time", lambda r: r <= 1.15, invert=True)

    fl, nos = F("sbom_floor_inflate"), F("pack_oci_nosbom")
    if fl.ok() and nos.ok():
        r = fl.wall / nos.wall
        row("sbom_floor", "the floor under SBOMs of oci-archives: their largest layer inflated on one core "
            f"({meta.get('sbom_floor_layer', '?')} bytes)", fmt_s(nos.wall), fmt_s(fl.wall), f"{r:.2f}x the --no-sbom pack",
            "(informative: no SBOM of that image takes less)", None, figs=(nos, fl), extra={"ratio": round(r, 3)})

    # the CPU the SBOMs of oci-archives need against the CPU their target leaves on this machine
    ncpu = num(meta, "nproc")
    sb, fa = F("pack_oci_ferry"), F("sbom_floor_all")
    if ncpu and nos.ok() and sb.ok() and fa.ok():
        budget = ncpu * 1.15 * nos.wall
        least = nos.cpu + fa.cpu
        row("sbom_cpu", f"CPU time: SBOMs of oci-archives against what 1.15x the --no-sbom time holds on {ncpu} cores "
            f"(floor: the --no-sbom pack's CPU + every layer inflated and hashed, {meta.get('sbom_floor_all_layers', '?')})",
            f"{budget:.2f} core-s", f"{sb.cpu:.2f} core-s",
            f"{sb.cpu / budget:.2f}x the budget (floor {least / budget:.2f}x)",
            "(informative: above 1.0x the target cannot be met on these cores)", None, figs=(nos, sb, fa),
            extra={"ratio": round(sb.cpu / budget, 3), "floor_ratio": round(least / budget, 3)})

    z = F("pack_docker_zstd_ferry")
    zb = num(meta, "ferry_zstd_bytes")
    pb = F("pack_docker_baseline")
    if z.ok() and pb.ok():
        r = pb.wall / z.wall
        row("pack_docker_zstd", "pack from docker-save, --layer-compression zstd (option)", fmt_s(pb.wall),
            fmt_s(z.wall), f"{r:.2f}x faster" + (f", {zb / bb:.3f}x the size" if zb and bb else ""),
            "(informative: not the default)", None, figs=(pb, z),
            extra={"ratio": round(r, 3), "size_ratio": round(zb / bb, 4) if zb and bb else None})

    # ---- pull (pack from a registry)
    timing("pull_manual", "pack 3 images from a registry vs skopeo to oci-archive + tar + sha256sum + gpg",
           "pull_manual_baseline", "pull_ferry", ">= 3x faster", lambda r: r >= 3)
    timing("pull_ocidir", "pack 3 images from a registry (signed) vs skopeo copy to oci:DIR alone",
           "pull_ocidir_baseline", "pull_ferry", "<= 0.7x its time", lambda r: r <= 0.7, invert=True)
    timing("pull_ocidir_nosbom", "the same with --no-sbom (what the SBOM catalogue adds)",
           "pull_ocidir_baseline", "pull_ferry_nosbom", "(informative)", lambda r: None, invert=True)
    # the CPU of the signed pull (and of the registry serving it) against what 0.7x skopeo's time holds
    sk, pf, pn, pfl = F("pull_ocidir_baseline"), F("pull_ferry"), F("pull_ferry_nosbom"), F("pull_floor_all")
    svc, svcn = F("pull_ferry@service"), F("pull_ferry_nosbom@service")
    if ncpu and sk.ok() and pf.ok() and pn.ok() and pfl.ok() and svc.ok() and svcn.ok():
        budget = ncpu * 0.7 * sk.wall
        used = pf.cpu + svc.wall  # a service row holds its CPU seconds in wall_s
        least = pn.cpu + svcn.wall + pfl.cpu
        row("pull_cpu", f"CPU time: the signed pull (ferry + the registry) against what 0.7x skopeo's time holds on "
            f"{ncpu} cores (floor: the --no-sbom pull + every layer inflated and hashed, "
            f"{meta.get('pull_floor_all_layers', '?')})", f"{budget:.2f} core-s", f"{used:.2f} core-s",
            f"{used / budget:.2f}x the budget (floor {least / budget:.2f}x)",
            "(informative: above 1.0x the target cannot be met on these cores)", None, figs=(sk, pf, pn, pfl, svc, svcn),
            extra={"ratio": round(used / budget, 3), "floor_ratio": round(least / budget, 3)})

    pf, pbytes = F("pull_ferry"), num(meta, "ferry_pull_bytes")
    if pf.ok() and pbytes:
        extra_w = max(0, pf.wbytes - pbytes) / pbytes
        row("pull_disk", "pack from a registry: disk written beyond the bundle", "", fmt_b(pf.wbytes),
            f"{extra_w * 100:.1f} % of the bundle", "<= 1 %", extra_w <= 0.01, figs=(pf,))
        row("pull_rss", "pack from a registry: peak RSS", "", f"{pf.rss / 1024:.1f} MiB", f"{pf.rss / 1024:.1f} MiB",
            "<= 64 MiB", pf.rss <= 64 * 1024, figs=(pf,))

    # ---- verify
    timing("verify", "verify (docker bundle)", "verify_baseline", "verify_ferry", "(no target; see hashing)", lambda r: None)
    vf, vf2 = F("verify_ferry"), F("verify_ferry_x2")
    ossl = num(meta, "openssl_sha256_bps")
    fb2 = num(meta, "ferry_docker2_bytes")
    if vf.ok() and fb and ossl:
        tput = fb / vf.wall
        frac = tput / ossl
        ins = F("inspect_ferry")
        hashing = None
        if ins.ok() and vf.wall > ins.wall:
            hashing = fb / (vf.wall - ins.wall)
        marginal = None
        if vf2.ok() and fb2 and vf2.wall > vf.wall:
            marginal = (fb2 - fb) / (vf2.wall - vf.wall)
        judged = hashing if hashing is not None else tput
        row("verify_hashing", "verify: hashing throughput", f"openssl {ossl / MIB:.0f} MiB/s",
            (f"{hashing / MIB:.0f} MiB/s hashing; " if hashing else "") + f"{tput / MIB:.0f} MiB/s end to end",
            f"{judged / ossl * 100:.0f}% of openssl speed" + (f" ({frac * 100:.0f}% end to end)" if hashing else ""),
            ">= 70% of openssl speed sha256 (1 core)", judged / ossl >= 0.70,
            ("hashing = bundle bytes / (verify time - inspect --keyring time: start-up and signature "
             "check); end to end = bundle bytes / verify time")
            if hashing else "bundle bytes / ferry-load verify wall time",
            figs=(vf, ins, vf2), extra={"ratio": round(judged / ossl, 3), "ferry_bps_end_to_end": round(tput),
                                        "ferry_bps_hashing": round(hashing) if hashing else None,
                                        "ferry_bps_marginal_scale2": round(marginal) if marginal else None,
                                        "openssl_bps": ossl})
    else:
        row("verify_hashing", "verify: hashing throughput", "", "", not_measured("verify or openssl speed missing"),
            ">= 70% of openssl speed sha256 (1 core)", None)

    # ---- load
    skip_docker = meta.get("skip_load_docker")
    if skip_docker:
        row("load_docker", "load into Docker", "", "", not_measured(skip_docker), ">= 2x faster", None)
    else:
        dd = F("load_docker_daemon_only")
        note = ""
        if dd.ok():
            note = f"daemon alone (docker load of the archives, no tar -xzf): {dd.wall:.2f} s"
        db, df = F("load_docker_baseline@service"), F("load_docker_ferry@service")
        if db.ok() and df.ok():
            note += f"; dockerd's own CPU time: {db.wall:.2f} s under docker load, {df.wall:.2f} s under ferry"
        timing("load_docker", "load into Docker (verify included)", "load_docker_baseline", "load_docker_ferry",
               ">= 2x faster", lambda r: r >= 2, extra_note=note)
    rb, rf = F("load_registry_baseline@service"), F("load_registry_ferry@service")
    note = ""
    if rb.ok() and rf.ok():
        note = f"registry's own CPU time: {rb.wall:.2f} s under skopeo, {rf.wall:.2f} s under ferry"
    timing("load_registry", "load into a fresh registry (verify included)", "load_registry_baseline",
           "load_registry_ferry", "<= 0.5x skopeo's time", lambda r: r <= 0.5, invert=True, extra_note=note)
    first, again = F("load_registry_ferry"), F("load_registry_again_ferry")
    if first.ok() and again.ok():
        r = first.wall / again.wall
        row("load_again", "load again into the full registry", fmt_s(first.wall) + " (first load)",
            fmt_s(again.wall), f"{r:.2f}x faster", ">= 10x faster than the first load", r >= 10,
            figs=(first, again), extra={"ratio": round(r, 3)})
    else:
        row("load_again", "load again into the full registry", "", "", not_measured("a load failed"),
            ">= 10x faster than the first load", None)

    # ---- serve
    pr, ps = F("pull_registry"), F("pull_serve")
    pbytes = num(meta, "serve_pull_bytes")
    if pr.ok() and ps.ok():
        r = pr.wall / ps.wall
        rate = lambda f: f" ({pbytes / f.wall / MIB:.0f} MiB/s)" if pbytes else ""
        sr, ss = F("pull_registry@service"), F("pull_serve@service")
        note = (f"CPU time of the server during the pulls: docker-registry {sr.wall:.2f} s, ferry-load serve "
                f"{ss.wall:.2f} s") if sr.ok() and ss.ok() else ""
        row("serve_pull", "docker pull of both images: ferry-load serve vs docker-registry", fmt_s(pr.wall) + rate(pr),
            fmt_s(ps.wall) + rate(ps), f"{r:.2f}x the registry's throughput", ">= 0.9x the registry's throughput",
            r >= 0.9, note, figs=(pr, ps), extra={"ratio": round(r, 3), "bytes": pbytes})
    else:
        row("serve_pull", "docker pull of both images: ferry-load serve vs docker-registry", "", "",
            not_measured(meta.get("skip_serve", "a pull failed")), ">= 0.9x the registry's throughput", None)
    gr, gs = F("get_registry"), F("get_serve")
    if gr.ok() and gs.ok():
        r = gr.wall / gs.wall
        rate = lambda f: f" ({pbytes / f.wall / MIB:.0f} MiB/s)" if pbytes else ""
        row("serve_get", "every blob once, 3 at a time (curl): ferry-load serve vs docker-registry",
            fmt_s(gr.wall) + rate(gr), fmt_s(gs.wall) + rate(gs), f"{r:.2f}x the registry's throughput",
            "(informative: the servers alone, without Docker's unpacking)", None, figs=(gr, gs),
            extra={"ratio": round(r, 3), "bytes": pbytes})
    timing("serve_first_pull", "bundle to a first docker pull: load into a registry + pull vs serve (verify) + pull",
           "firstpull_load", "firstpull_serve", "(no target)", lambda r: None)

    # ---- delta
    dc, dw, dd = num(meta, "delta_changed_bytes"), num(meta, "delta_whole_bytes"), num(meta, "delta_bytes")
    if dc and dd:
        row("delta_size", "delta bundle of version 2 (random payload changed) --since version 1, vs the changed layer",
            fmt_b(dc), fmt_b(dd), f"{dd / dc:.4f}x the changed layer" + (f", {dd / dw:.3f}x version 2 whole" if dw else ""),
            "<= 1.01x the changed layer", dd / dc <= 1.01,
            extra={"ratio": round(dd / dc, 5), "changed_bytes": dc, "delta_bytes": dd, "whole_bytes": dw})
    else:
        row("delta_size", "delta bundle of version 2 --since version 1, vs the changed layer", "", "",
            not_measured(meta.get("skip_delta", "BENCH_ONLY")), "<= 1.01x the changed layer", None)
    timing("delta_pack", "pack version 2: whole vs --since version 1", "pack_v2_whole_ferry", "pack_v2_delta_ferry",
           "(informative)", lambda r: None)

    # ---- memory
    mem_labels = ["verify_ferry", "verify_ferry_oci", "load_registry_ferry", "load_registry_again_ferry", "load_docker_ferry"]
    mem = [F(l) for l in mem_labels if F(l).ok()]
    if mem:
        worst = max(mem, key=lambda f: f.rss)
        row("rss", "peak RSS of verify and load", "", f"{worst.rss / 1024:.1f} MiB ({worst.label})",
            f"{worst.rss / 1024:.1f} MiB", "<= 64 MiB", worst.rss <= 64 * 1024, figs=mem,
            extra={"per_label_mib": {f.label: round(f.rss / 1024, 1) for f in mem}})
    pairs = [("verify_ferry", "verify_ferry_x2"), ("load_registry_ferry", "load_registry_ferry_x2"),
             ("load_docker_ferry", "load_docker_ferry_x2")]
    got = []
    for a, b in pairs:
        fa, fb2 = F(a), F(b)
        if fa.ok() and fb2.ok():
            got.append((a, fa.rss, fb2.rss))
    if got:
        worst = max(got, key=lambda g: abs(g[2] / g[1] - 1))
        ratio = worst[2] / worst[1]
        row("rss_scale", f"peak RSS at scale {meta.get('scale2', '?')} vs {meta.get('scale', '?')}",
            "; ".join(f"{g[0]} {g[1] / 1024:.1f}" for g in got) + " MiB",
            "; ".join(f"{g[2] / 1024:.1f}" for g in got) + " MiB",
            f"{ratio:.2f}x (worst: {worst[0]})", "same +-10%", 0.9 <= ratio <= 1.1,
            extra={"ratio": round(ratio, 3),
                   "pairs": [{"label": g[0], "rss_kib": g[1], "rss_kib_x2": g[2]} for g in got]})
    else:
        row("rss_scale", "peak RSS at scale x2", "", "", not_measured(meta.get("skip_scale2", "scale x2 runs missing")),
            "same +-10%", None)

    # ---- disk
    ext = num(meta, "baseline_extracted_bytes")
    loads = [F(l) for l in ("load_registry_ferry", "load_docker_ferry") if F(l).ok()]
    if loads and fb:
        worst = max(loads, key=lambda f: f.wbytes)
        bundle = fo if worst.label.startswith("load_registry") else fb
        frac = worst.wbytes / bundle
        bl = F("load_docker_baseline")
        base_txt = fmt_b(ext) + " extracted" if ext else "(not measured)"
        if bl.ok():
            base_txt += f" ({fmt_b(bl.wbytes)} written)"
        row("disk", "disk written by load", base_txt, f"{fmt_b(worst.wbytes)} ({worst.label})",
            f"{frac * 100:.2f}% of the bundle", "<= 1% of the bundle size", frac <= 0.01, figs=loads,
            extra={"ratio": round(frac, 5), "per_label_bytes": {f.label: f.wbytes for f in loads}})

    # ---- large corpus (BENCH_BIG=1, bench/big.sh): only these rows are shown
    if meta.get("big") == "1":
        rows.clear()
        timing("big_pack", "pack, two docker-save images of 1-2 GB", "big_pack_baseline", "big_pack_ferry",
               ">= 8x faster", lambda r: r >= 8)
        pk = F("big_pack_ferry")
        floor = [F(l) for l in ("big_floor_sha_in", "big_floor_sha_out", "big_floor_deflate", "big_floor_write")]
        if pk.ok() and all(f.ok() for f in floor):
            fl = sum(f.wall for f in floor)
            r = pk.wall / fl
            row("big_floor", "pack against the floor (SHA-256 of inputs and output, deflate of the text on every "
                "core, writing the output)", fmt_s(fl), fmt_s(pk.wall), f"{r:.2f}x the floor", "<= 1.5x", r <= 1.5,
                " + ".join(f"{f.label[10:]} {fmt_s(f.wall)}" for f in floor), figs=(pk, *floor),
                extra={"ratio": round(r, 3), "floor_s": round(fl, 3)})
        else:
            row("big_floor", "pack against the floor", "", "", not_measured("a floor part or the pack failed"),
                "<= 1.5x", None, figs=(pk, *floor))
        gb = (num(meta, "big_input_bytes") or 0) / 1e9
        if pk.ok() and gb > 0:
            cps = pk.cpu / gb
            row("big_cpu", "pack CPU (user + system) per input GB", "", f"{pk.cpu:.1f} s / {gb:.2f} GB",
                f"{cps:.2f} s/GB", "<= 4 s/GB", cps <= 4, figs=(pk,), extra={"cpu_s_per_gb": round(cps, 3)})
        timing("big_split_load", "load into a fresh registry: split parts against the plain file",
               "big_load_plain", "big_load_split", "<= 1.1x", lambda r: r <= 1.1, invert=True)
        again = F("big_load_split_again")
        if again.ok():
            row("big_load_again", "load the split bundle again, every blob present", "", fmt_s(again.wall),
                fmt_s(again.wall), "<= 0.3 s + one HEAD per blob", again.wall <= 0.35, figs=(again,))
        big = [F(l) for l in ("big_pack_ferry", "big_load_plain", "big_load_split", "big_load_split_again")]
        big = [f for f in big if f.ok()]
        if big:
            worst = max(big, key=lambda f: f.rss)
            row("big_rss", "peak RSS of pack and load, large corpus", "", f"{worst.rss / 1024:.1f} MiB ({worst.label})",
                f"{worst.rss / 1024:.1f} MiB", "<= 32 MiB", worst.rss <= 32 * 1024, figs=tuple(big))

    # ---- print
    print(f"ferry benchmark, scale {meta.get('scale')}, median of {meta.get('runs')} runs, {meta.get('date')}")
    print(f"machine: {meta.get('nproc')} cores, {meta.get('cpu')}; {meta.get('mem')}; disk {meta.get('disk')}")
    print()
    print("| work | baseline | ferry | result | target | |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        mark = {True: "ok", False: "MISSED", None: "n/a" if "NOT MEASURED" not in r["value"] else "NOT MEASURED"}[r["pass"]]
        print(f"| {r['work']} | {r['baseline']} | {r['ferry']} | {r['value']} | {r['target']} | {mark} |")
        if r.get("note"):
            print(f"|   | | | {r['note']} | | |")
    print()
    for k in ("registry_check", "docker_check", "dockerd", "skopeo_cache", "tools", "load_before", "load_after",
              "bench_seconds"):
        if k in meta:
            print(f"{k}: {meta[k]}")
    if out:
        with open(out, "w") as f:
            json.dump({"meta": meta, "rows": rows,
                       "labels": {k: Fig(runs, k).js() for k in sorted(runs)}}, f, indent=2, sort_keys=False)
            f.write("\n")
    return 0


def fmt_s(v):
    return "" if v is None else f"{v:.2f} s"


def fmt_b(v):
    if v is None:
        return ""
    return f"{v / MIB:.1f} MiB"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
