#!/usr/bin/env python3
"""The memory-behaviour guard of CI: one short store_bench run, and the ratios
that sizing read buffers up front must keep, taken from that one run (never
absolute speeds: the machine is shared and its speed swings).

    check_ratios.py STORE_BENCH [--repetitions N] [--min-time S]

For hot reads of 256 KiB and 1 MiB, from the best of N interleaved
repetitions (CPU time; on a shared machine noise only ever slows a run down,
so the best is the steadiest estimate of what the code can do):
    pooled lease  >= 5.0 x  a std::vector grown while it is filled
    pooled lease  >= 0.9 x  a raw pread into a reused buffer (the ceiling)
and no read fell back to the heap (the pool's overflow counter is 0).
Exits 1 when a ratio is missed, 2 when the benchmark itself fails.
"""
import argparse
import json
import subprocess
import sys

SIZES = [256 << 10, 1 << 20]
RULES = [("Growing", 5.0), ("RawPread", 0.9)]  # pooled / other >= min


def run(binary, reps, min_time):
    names = "|".join(["Pooled"] + [other for other, _ in RULES])
    sizes = "|".join(str(s) for s in SIZES)
    cmd = [binary, f"--benchmark_filter=^BM_Read_({names})/({sizes})$",
           f"--benchmark_min_time={min_time}", f"--benchmark_repetitions={reps}",
           "--benchmark_enable_random_interleaving=true", "--benchmark_format=json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        sys.exit(2)
    return json.loads(out.stdout)["benchmarks"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store_bench")
    ap.add_argument("--repetitions", type=int, default=7)
    ap.add_argument("--min-time", type=float, default=0.05)
    args = ap.parse_args()
    best, overflow = {}, 0
    for b in run(args.store_bench, args.repetitions, args.min_time):
        if b.get("run_type") != "iteration":
            continue
        name, size = b["run_name"].split("/")
        key = (name[len("BM_Read_"):], int(size))
        best[key] = max(best.get(key, 0.0), b["bytes_per_second"])
        overflow = max(overflow, int(b.get("overflow", 0)))
    failed = []
    for size in SIZES:
        pooled = best.get(("Pooled", size))
        for other, minimum in RULES:
            theirs = best.get((other, size))
            if pooled is None or theirs is None:
                print(f"check_ratios: no result for {size} bytes", file=sys.stderr)
                sys.exit(2)
            ratio = pooled / theirs
            ok = ratio >= minimum
            print(f"{size >> 10:>5} KiB  pooled {pooled / 2**30:6.2f} GiB/s vs {other:<8} "
                  f"{theirs / 2**30:6.2f} GiB/s = {ratio:7.2f}x (min {minimum}x) "
                  f"{'ok' if ok else 'MISSED'}")
            if not ok:
                failed.append(f"{size} bytes vs {other}")
    print(f"pool overflow allocations: {overflow}")
    if overflow:
        failed.append("pool overflow")
    if failed:
        print("check_ratios: missed: " + ", ".join(failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
