#!/usr/bin/env python3
"""Turns the raw figures of scripts/bench-mount.sh into results.json (every
figure, for machines: the script keeps it in the run's untracked raw/),
results.md and plot.dat (for bench/plot.gp).

usage: report.py --raw RAW.jsonl --json RESULTS.json --out DIR [--meta KEY=VALUE]...

RAW.jsonl has one measurement a line:
  {"workload": W, "system": S, "rep": N, "value": X, "unit": U}
Every figure is summarised as median, min and max over its runs. Ratios are
relative *speeds* (higher is better): for throughput and ops/s workloads
system / reference, for workloads measured in seconds reference / system.
"""
import argparse
import json
import statistics
from collections import defaultdict

SYSTEMS = ["native", "bindfs", "mergerfs", "tierfs-hot", "tierfs-inline", "tierfs-cold"]
TITLES = {"native": "native", "bindfs": "bindfs", "mergerfs": "mergerfs",
          "tierfs-hot": "tierfs hot", "tierfs-inline": "tierfs hot, inline_max=4K",
          "tierfs-cold": "tierfs cold"}


def workloads(meta):
    size = f"{int(meta['size_mib']) // 1024} GiB" if int(meta["size_mib"]) >= 1024 \
        else f"{meta['size_mib']} MiB"
    n = f"{int(meta['nfiles']):,}"
    tree = f"/usr/include, {int(meta['tar_files']):,} files"
    git = f"{int(meta.get('git_files', 0)):,} files"
    scale = f"{int(meta.get('scale_files', 0)):,}"
    # id, label, unit, higher is better
    return [
        ("seqwrite", f"seq write 1M, {size}, end_fsync", "MiB/s", True),
        ("seqread", f"seq read 1M, {size}", "MiB/s", True),
        ("randread", f"rand read 4K, 2 jobs, {meta['rand_secs']} s", "ops/s", True),
        ("copy_cfr", f"cp {size} (copy_file_range)", "MiB/s", True),
        ("copy_rw", f"cp --reflink=never {size} (read + write)", "MiB/s", True),
        ("sf_create", f"small files: create+write 4K ({n})", "ops/s", True),
        ("sf_stat", f"small files: stat ({n})", "ops/s", True),
        ("sf_read", f"small files: read ({n})", "ops/s", True),
        ("sf_unlink", f"small files: unlink ({n})", "ops/s", True),
        ("tree_untar", f"tree: untar ({tree})", "s", False),
        ("tree_cat", "tree: find | xargs cat", "s", False),
        ("tree_rm", "tree: rm -rf", "s", False),
        ("git_clone", f"git clone --no-hardlinks ({git})", "s", False),
        ("git_status", "git status (in the clone)", "s", False),
        ("scale_create", f"scale: create ({scale} empty files)", "ops/s", True),
        ("scale_stat", f"scale: stat ({scale} files, after a remount)", "ops/s", True),
    ]


def summary(runs):
    return {"runs": runs, "median": statistics.median(runs), "min": min(runs), "max": max(runs)}


def speed(value, ref, higher):
    if value is None or ref is None or value <= 0 or ref <= 0:
        return None
    return value / ref if higher else ref / value


def fmt(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def md(text):
    """Escapes a table cell."""
    return text.replace("|", "\\|")


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}×"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--json", required=True, help="where results.json goes")
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", action="append", default=[])
    args = ap.parse_args()
    meta = dict(m.split("=", 1) for m in args.meta)

    raw = defaultdict(lambda: defaultdict(list))
    rows = []
    with open(args.raw) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                rows.append(r)
                raw[r["workload"]][r["system"]].append(r["value"])

    # Only what this run measured (--only and --scale leave groups out).
    wls = [w for w in workloads(meta) if raw.get(w[0])]
    result = {"meta": meta, "systems": SYSTEMS, "raw": rows, "workloads": []}
    med = {}
    for wid, label, unit, higher in wls:
        entry = {"id": wid, "label": label, "unit": unit, "higher_is_better": higher,
                 "results": {}}
        for s in SYSTEMS:
            if raw[wid].get(s):
                entry["results"][s] = summary(raw[wid][s])
                med[(wid, s)] = entry["results"][s]["median"]
        for s, e in entry["results"].items():
            for ref in ("native", "bindfs"):
                e[f"speed_vs_{ref}"] = speed(e["median"], med.get((wid, ref)), higher)
                if med.get((wid, ref)):
                    runs = [speed(v, med[(wid, ref)], higher) for v in e["runs"]]
                    e[f"speed_vs_{ref}_range"] = [min(runs), max(runs)]
        result["workloads"].append(entry)

    zstd = summary(raw["seqread"]["zstd-d"]) if raw["seqread"].get("zstd-d") else None
    cold_seq = med.get(("seqread", "tierfs-cold"))
    rss = {s: raw["peak_rss"][s][0] for s in ("tierfs-hot", "tierfs-cold")
           if raw["peak_rss"].get(s)}
    # The scale point's own daemon: VmHWM after the create, and after the
    # remount and the stat of every file.
    scale_rss = {ph: raw[f"scale_rss_{ph}"]["tierfs-hot"][0] for ph in ("create", "stat")
                 if raw[f"scale_rss_{ph}"].get("tierfs-hot")}
    scale_mount = raw["scale_mount"].get("tierfs-hot")

    def mib(text):
        mult = {"K": 1 / 1024, "M": 1, "G": 1024}
        return float(text[:-1]) * mult[text[-1].upper()] if text[-1].isalpha() \
            else float(text) / 1048576
    rss_limit = mib(meta["buffer_pool"]) + mib(meta["cache_size"]) + 64
    result["reference"] = {
        "zstd_d_mibps": zstd,
        "cold_seqread_over_zstd_d": (cold_seq / zstd["median"]) if zstd and cold_seq else None,
        "cold_stored_over_logical": float(meta.get("cold_stored_ratio", "nan")),
        "zstd3_file_over_logical": float(meta.get("zstd3_ratio", "nan")),
    }
    result["peak_rss_mib"] = rss
    result["peak_rss_limit_mib"] = rss_limit
    if scale_rss:
        result["scale"] = {"files": int(meta["scale_files"]),
                           "per_dir": int(meta["scale_per_dir"]),
                           "systems": meta["scale_systems"].split(","),
                           "elapsed_s": int(meta["scale_elapsed_s"]),
                           "tierfs_hot_peak_rss_mib": scale_rss,
                           "tierfs_hot_mount_s": scale_mount[0] if scale_mount else None}

    # Targets (reported, never enforced).
    targets = []

    def target(name, value, threshold, unit="×"):
        targets.append({"name": name, "value": value, "threshold": threshold,
                        "pass": value is not None and value >= threshold, "unit": unit})

    by_id = {w["id"]: w for w in result["workloads"]}

    def ratio_target(prefix, wid, ref, threshold):
        """tierfs hot's speed / ref's >= threshold, where this run measured wid."""
        if wid not in by_id:
            return
        hot = by_id[wid]["results"].get("tierfs-hot")
        target(f"{prefix}: {by_id[wid]['label']}", hot and hot.get(f"speed_vs_{ref}"), threshold)

    for wid, _, _, _ in wls:
        if not wid.startswith("scale_"):
            ratio_target("tierfs hot ≥ bindfs", wid, "bindfs", 1.0)
    for wid in ("seqwrite", "seqread"):
        ratio_target("tierfs hot ≥ 0.8× native", wid, "native", 0.8)
    for wid in ("sf_create", "sf_stat", "sf_read", "sf_unlink"):
        ratio_target("tierfs hot ≥ 1.5× bindfs", wid, "bindfs", 1.5)
    # Issue 9: small files, the tree and git at 2x bindfs, create+write at
    # 0.3x native, and the RSS budget with the scale point's files.
    for wid in ("sf_create", "sf_stat", "sf_read", "sf_unlink", "tree_untar", "tree_cat",
                "tree_rm", "git_clone", "git_status"):
        ratio_target("issue 9: tierfs hot ≥ 2× bindfs", wid, "bindfs", 2.0)
    ratio_target("issue 9: tierfs hot ≥ 0.3× native", "sf_create", "native", 0.3)
    if "seqread" in by_id:
        target("tierfs cold seq read ≥ 0.8× single-threaded zstd -d",
               result["reference"]["cold_seqread_over_zstd_d"], 0.8)
    for s, v in rss.items():
        targets.append({"name": f"{TITLES[s]} daemon peak RSS ≤ buffer_pool + cache_size + 64 MiB"
                        f" = {rss_limit:.0f} MiB", "value": v, "threshold": rss_limit,
                        "pass": v <= rss_limit, "unit": "MiB"})
    if scale_rss:
        v = max(scale_rss.values())
        targets.append({"name": f"issue 9: tierfs hot daemon peak RSS with "
                        f"{int(meta['scale_files']):,} files in the namespace ≤ buffer_pool + "
                        f"cache_size + 64 MiB = {rss_limit:.0f} MiB", "value": v,
                        "threshold": rss_limit, "pass": v <= rss_limit, "unit": "MiB"})
    result["targets"] = targets

    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    # --- results.md -----------------------------------------------------------
    L = []
    L.append("# tierfs mount benchmark (`scripts/bench-mount.sh"
             + (" --quick" if meta["mode"] == "quick" else "") + "`)\n")
    L.append(f"Commit {meta.get('commit')}, kernel {meta.get('kernel')}, {meta.get('cpus')} CPUs, "
             f"work dirs on {meta.get('fs')}; {meta.get('versions')}. "
             f"Median of {meta['reps']} runs, interleaved across systems; "
             f"the page cache was {'dropped' if meta.get('drop_caches_ok') == '1' else 'NOT dropped (no permission)'} "
             f"before every measured phase. Took {meta.get('elapsed_s')} s.\n")
    L.append(f"- fio data: {meta['fio_data']}; psync engine, buffered I/O.")
    L.append(f"- tierfs hot: `-o {meta['tierfs_hot_opts']}`; tierfs cold: "
             f"`-o {meta['tierfs_cold_opts']}`, data demoted with `tierfs migrate --to cold`, "
             "remounted (empty frame cache) before every run; it runs the read workloads only "
             "(seq and random read; in full mode also small-file stat and read and the tree's "
             "find | xargs cat), as writes always go to the hot tier.")
    L.append("- bindfs with default options (single-threaded); mergerfs with "
             "`cache.files=partial,dropcacheonclose=true,category.create=mfs`.")
    L.append("- small files: `bench/smallfiles.c` (C; a Python driver cost 10–40% of native's "
             "stat/read rate), 100 files per directory; ops/s = files / seconds per phase.")
    if "git_clone" in by_id or "git_status" in by_id:
        L.append(f"- git: a repository made in the run from the same tree ({int(meta['git_files']):,} "
                 "files; init, add, commit, gc: one pack), `git clone --no-hardlinks` of it into "
                 "each system, then (after an unmeasured `git status` a second later that settles "
                 "the racily clean index and checks the clone is clean) `git status`; no system or "
                 "global git config. tierfs cold (full mode): `git status` in a clone demoted "
                 "with `tierfs migrate --to cold`, after a remount."
                 + (f" Not clean after the clone (its status then also compared those files' "
                    f"contents): {meta['git_unclean']}." if meta.get("git_unclean") else ""))
    if scale_rss or "scale_create" in by_id:
        L.append(f"- scale point: {int(meta['scale_files']):,} empty files, "
                 f"{int(meta['scale_per_dir']):,} per directory (`smallfiles create DIR N "
                 f"{meta['scale_per_dir']} 0`), one run per system ({meta['scale_systems']}), then "
                 "`stat` of every file after a remount (tierfs; on a fresh store of its own) and "
                 f"a dropped page cache; took {meta['scale_elapsed_s']} s in all.")
    L.append("")

    L.append("## Results: median (min–max)\n")
    hdr = "| workload | unit | " + " | ".join(TITLES[s] for s in SYSTEMS) + " |"
    L.append(hdr)
    L.append("|" + "---|" * (len(SYSTEMS) + 2))
    for w in result["workloads"]:
        cells = []
        for s in SYSTEMS:
            e = w["results"].get(s)
            cells.append("–" if not e else f"**{fmt(e['median'])}** ({fmt(e['min'])}–{fmt(e['max'])})")
        L.append(f"| {md(w['label'])} | {w['unit']} | " + " | ".join(cells) + " |")

    for ref in ("native", "bindfs"):
        L.append(f"\n## Speed relative to {ref} (higher is better; for times: {ref} s / system s)\n")
        L.append("| workload | " + " | ".join(TITLES[s] for s in SYSTEMS) + " |")
        L.append("|" + "---|" * (len(SYSTEMS) + 1))
        for w in result["workloads"]:
            cells = [fmt_ratio(w["results"].get(s, {}).get(f"speed_vs_{ref}")) for s in SYSTEMS]
            L.append(f"| {md(w['label'])} | " + " | ".join(cells) + " |")

    ref = result["reference"]
    L.append("\n## Cold read reference and memory\n")
    if zstd and cold_seq:
        L.append(f"- single-threaded `zstd -d` of the same data (zstd -3, "
                 f"{ref['zstd3_file_over_logical']:.1%} of logical size): **{fmt(zstd['median'])} MiB/s** "
                 f"({fmt(zstd['min'])}–{fmt(zstd['max'])}); tierfs cold seq read / zstd -d = "
                 f"**{fmt_ratio(ref['cold_seqread_over_zstd_d'])}**")
    if "seqread" in by_id:
        L.append(f"- tierfs cold objects store {ref['cold_stored_over_logical']:.1%} of the logical "
                 f"bytes (zstd:3 frames); after the reads: {meta.get('cold_after_reads')}")
    for s, v in rss.items():
        L.append(f"- {TITLES[s]} daemon peak RSS (VmHWM, max over its mounts): **{v:.0f} MiB** "
                 f"(limit {rss_limit:.0f} MiB)")
    if scale_rss:
        parts = [f"after the create **{scale_rss['create']:.0f} MiB**" if "create" in scale_rss else "",
                 f"after the remount and the stat of every file **{scale_rss['stat']:.0f} MiB**"
                 if "stat" in scale_rss else ""]
        L.append(f"- scale point, tierfs hot daemon peak RSS (VmHWM) with "
                 f"{int(meta['scale_files']):,} files: " + "; ".join(p for p in parts if p)
                 + f" (limit {rss_limit:.0f} MiB)"
                 + (f"; the remount with them took {scale_mount[0]:.2f} s" if scale_mount else ""))

    L.append("\n## Targets\n")
    for t in targets:
        v = "n/a" if t["value"] is None else (
            f"{t['value']:.3f}×" if t["unit"] == "×" else f"{t['value']:.0f} MiB")
        L.append(f"- {'PASS' if t['pass'] else 'FAIL'} {t['name']} ({v})")
    L.append(f"\n{sum(t['pass'] for t in targets)} of {len(targets)} targets pass.")
    with open(f"{args.out}/results.md", "w") as f:
        f.write("\n".join(L) + "\n")

    # --- plot.dat: speed vs native per workload, median min max per system -----
    with open(f"{args.out}/plot.dat", "w") as f:
        f.write("workload " + " ".join(f"{s} lo hi" for s in SYSTEMS) + "\n")
        for w in result["workloads"]:
            cols = []
            for s in SYSTEMS:
                e = w["results"].get(s, {})
                if e.get("speed_vs_native") is None:
                    cols += ["?", "?", "?"]
                else:
                    lo, hi = e["speed_vs_native_range"]
                    cols += [f"{e['speed_vs_native']:.4f}", f"{lo:.4f}", f"{hi:.4f}"]
            label = w["label"].split(" (")[0].split(",")[0].replace('"', "'")
            f.write(f'"{label}" ' + " ".join(cols) + "\n")


if __name__ == "__main__":
    main()
