#!/usr/bin/env bash
# The cold tier on RADOS against its ceiling, `rados bench`, on the same
# pool of the same one-node cluster (scripts/ceph-dev.sh, memstore), in one
# run, interleaved rep by rep:
#   write   rados bench write (4 MiB objects, 16 in flight, --max-objects
#           the data size) vs tierfs demotion: `tierfs migrate --to cold`
#           of a file of the same size (4 MiB chunks = 4 MiB objects)
#   seq     rados bench seq vs a sequential read (dd, 1 MiB) of the cold
#           file after a remount (frame cache empty) with the page cache dropped
#   rand    rados bench rand (whole 4 MiB objects) vs fio 4 KiB random reads
#           of the cold file, 2 jobs (different units: both are reported,
#           with the same 4 KiB reads of a cold file in a local cold_dir)
# The data is random (incompressible), so both move the same bytes.
# Every figure is the median of the reps (min-max kept). Then store_bench's
# cold benchmarks (the store API, no FUSE) run on the same pool beside the
# local cold directory: BM_Read_Cold*, BM_Demote and their _Rados twins.
#
# Output in DIR (default ./bench-results/rados): results.md, the summary a
# commit keeps; in DIR/raw/ (ignored by git under bench/results/): raw.jsonl,
# bench.log, store_bench.txt. Targets (issue 11): tierfs seq >= 0.8x rados bench seq,
# demotion >= 0.8x rados bench write. Targets never fail the script.
#
# usage: scripts/bench-rados.sh [--quick] [--out DIR]
#   --quick   256 MiB, 5 s phases (default: 1 GiB, 15 s)
# env: TIERFS (the binary; default build/bin/tierfs, built when missing),
#      TIERFS_BENCH_REPS (default 3), TIERFS_BENCH_TMPDIR (default /var/tmp),
#      CEPH_DEV_PORT for the cluster (default here 13700)
set -euo pipefail
export LC_ALL=C
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
QUICK=0
OUT="bench-results/rados"
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) [ $# -ge 2 ] || { echo "bench-rados: --out needs a directory" >&2; exit 2; }
      OUT="$2"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-rados: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
REPS="${TIERFS_BENCH_REPS:-3}"
if ((QUICK)); then SIZE_MB=256 SECS=5; else SIZE_MB=1024 SECS=15; fi
OBJECTS=$((SIZE_MB / 4))
START_TS=$(date +%s)
log() { printf '[%4ds] %s\n' "$(($(date +%s) - START_TS))" "$*" >&2; }
die() { echo "bench-rados: $*" >&2; exit 1; }

"$ROOT/scripts/setup.sh"
command -v fio >/dev/null || die "fio is missing (scripts/setup.sh installs it)"
TIERFS="${TIERFS:-$ROOT/build/bin/tierfs}"
STORE_BENCH="$(dirname "$TIERFS")/store_bench"
if [ ! -x "$TIERFS" ] || [ ! -x "$STORE_BENCH" ]; then
  log "building tierfs and store_bench (Release)"
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build" -j"$(nproc)" --target tierfs store_bench >/dev/null
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$(mktemp -d "${TIERFS_BENCH_TMPDIR:-/var/tmp}/tierfs-bench-rados.XXXXXX")"
RAWDIR="$OUT/raw"
mkdir -p "$RAWDIR"
RAW="$RAWDIR/raw.jsonl" LOG="$RAWDIR/bench.log"
: >"$RAW"
: >"$LOG"
CEPH="$WORK/ceph" POOL=bench
MNT="$WORK/mnt" STORE="$WORK/store" LMNT="$WORK/lmnt" LSTORE="$WORK/lstore"
mkdir -p "$MNT" "$LMNT"
cleanup() {
  local rc=$?
  set +e
  for m in "$MNT" "$LMNT"; do mountpoint -q "$m" && { "$TIERFS" umount "$m" || fusermount3 -uz "$m"; }; done
  bash "$ROOT/scripts/ceph-dev.sh" wipe "$CEPH" >>"$LOG" 2>&1
  rm -rf --one-file-system "$WORK"
  exit "$rc"
}
trap cleanup EXIT INT TERM

# Room for the rados bench objects and tierfs's copy, with slack.
export CEPH_DEV_PORT="${CEPH_DEV_PORT:-13700}"
export CEPH_DEV_MEMSTORE_BYTES=$(((SIZE_MB * 3 + 1024) << 20))
bash "$ROOT/scripts/ceph-dev.sh" start "$CEPH" 2>>"$LOG"
bash "$ROOT/scripts/ceph-dev.sh" pool "$CEPH" "$POOL" 32
export CEPH_CONF="$CEPH/ceph.conf"
OPTS="cold_backend=rados:$POOL,ceph_conf=$CEPH_CONF,cold_after=1000000000,promote_reads=0,compress=zstd:1"
LOPTS="cold_after=1000000000,promote_reads=0,compress=zstd:1"
"$TIERFS" mount "$STORE" "$MNT" -o "$OPTS" >>"$LOG" 2>&1 || die "mount failed (see $LOG)"
"$TIERFS" mount "$LSTORE" "$LMNT" -o "$LOPTS" >>"$LOG" 2>&1 || die "mount failed (see $LOG)"
head -c $((SIZE_MB << 20)) /dev/urandom >"$WORK/data"

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
record() { printf '{"workload":"%s","system":"%s","rep":%d,"value":%s,"unit":"%s"}\n' "$@" >>"$RAW"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }
mibps_of() { awk -v bytes="$1" -v s="$2" 'BEGIN { printf "%.1f", bytes / 1048576 / s }'; }
# rados bench KIND -> its "Bandwidth (MB/sec)" (MiB/s) and "Average IOPS"
rbench() {
  local size=()
  [ "$1" = write ] && size=(-b 4194304)
  timeout $((SECS * 4 + 120)) rados -c "$CEPH_CONF" -p "$POOL" bench "$SECS" "$@" \
    "${size[@]}" -t 16 --no-cleanup >"$WORK/rb.out" 2>>"$LOG" || die "rados bench $* failed"
  cat "$WORK/rb.out" >>"$LOG"
}
rb_field() { awk -F: -v k="$1" '$1 == k { gsub(/ /, "", $2); print $2 }' "$WORK/rb.out"; }
remount() {  # MNT STORE OPTS: an empty frame cache
  "$TIERFS" umount "$1"
  "$TIERFS" mount "$2" "$1" -o "$3" >>"$LOG" 2>&1
}
fio_iops() {  # FILE
  fio --name=r --filename="$1" --rw=randread --bs=4k --numjobs=2 --time_based \
    --runtime="$SECS" --ioengine=psync --group_reporting --output-format=json 2>>"$LOG" |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["read"]["iops"]))'
}

for rep in $(seq 1 "$REPS"); do
  log "rep $rep/$REPS: write"
  rados -c "$CEPH_CONF" -p "$POOL" cleanup >>"$LOG" 2>&1 || true
  rbench write --max-objects "$OBJECTS"
  record write rados-bench "$rep" "$(rb_field 'Bandwidth (MB/sec)')" MiB/s
  for m in "$MNT" "$LMNT"; do
    rm -f "$m/f"
    cp "$WORK/data" "$m/f"
    sync
    t0=$EPOCHREALTIME
    "$TIERFS" migrate --to cold "$m/f" >>"$LOG" 2>&1 || die "migrate --to cold $m/f failed"
    sys=tierfs-rados; [ "$m" = "$LMNT" ] && sys=tierfs-dir
    record write "$sys" "$rep" "$(mibps_of $((SIZE_MB << 20)) "$(since "$t0")")" MiB/s
  done
  log "rep $rep/$REPS: seq"
  drop_caches
  rbench seq
  record seq rados-bench "$rep" "$(rb_field 'Bandwidth (MB/sec)')" MiB/s
  for m in "$MNT" "$LMNT"; do
    sys=tierfs-rados st="$STORE" o="$OPTS"
    [ "$m" = "$LMNT" ] && sys=tierfs-dir st="$LSTORE" o="$LOPTS"
    remount "$m" "$st" "$o"
    drop_caches
    t0=$EPOCHREALTIME
    dd if="$m/f" of=/dev/null bs=1M status=none
    record seq "$sys" "$rep" "$(mibps_of $((SIZE_MB << 20)) "$(since "$t0")")" MiB/s
  done
  log "rep $rep/$REPS: rand"
  drop_caches
  rbench rand
  record rand rados-bench "$rep" "$(rb_field 'Average IOPS')" "IOPS(4MiB)"
  for m in "$MNT" "$LMNT"; do
    sys=tierfs-rados st="$STORE" o="$OPTS"
    [ "$m" = "$LMNT" ] && sys=tierfs-dir st="$LSTORE" o="$LOPTS"
    remount "$m" "$st" "$o"
    drop_caches
    record rand "$sys" "$rep" "$(fio_iops "$m/f")" "IOPS(4KiB)"
  done
done

log "store_bench: cold benchmarks, local directory and RADOS"
TIERFS_BENCH_DIR="$WORK" TIERFS_BENCH_RADOS_POOL="$POOL" "$STORE_BENCH" \
  --benchmark_filter='BM_(Read_Cold|Read_Cold_Random4K|Demote)(_Rados)?(/|$)' \
  --benchmark_min_time=0.3 >"$RAWDIR/store_bench.txt" 2>>"$LOG" || die "store_bench failed (see $LOG)"

python3 - "$RAW" "$RAWDIR/store_bench.txt" "$OUT/results.md" "$SIZE_MB" "$REPS" \
  "$(git -C "$ROOT" rev-parse --short HEAD)" <<'EOF'
import json, statistics, sys
raw, store_bench, out, size, reps, rev = sys.argv[1:]
rows = [json.loads(l) for l in open(raw)]
def fig(w, s):
    v = [r["value"] for r in rows if r["workload"] == w and r["system"] == s]
    u = next(r["unit"] for r in rows if r["workload"] == w and r["system"] == s)
    return statistics.median(v), min(v), max(v), u
lines = [f"# tierfs cold tier on RADOS vs rados bench ({size} MiB, {reps} reps, {rev})", "",
         "| workload | rados bench | tierfs, cold on RADOS | ratio | target | tierfs, cold in a local dir |",
         "|---|---|---|---|---|---|"]
for w, label, target in (("write", "demotion vs rados bench write", 0.8),
                         ("seq", "cold sequential read vs rados bench seq", 0.8),
                         ("rand", "random reads (rados: 4 MiB objects; tierfs: 4 KiB)", None)):
    rb, t, d = fig(w, "rados-bench"), fig(w, "tierfs-rados"), fig(w, "tierfs-dir")
    ratio = t[0] / rb[0] if rb[0] else 0
    verdict = "" if target is None else (f"≥ {target}×: " + ("PASS" if ratio >= target else "MISS"))
    cell = lambda f: f"{f[0]:g} {f[3]} ({f[1]:g}–{f[2]:g})"
    lines.append(f"| {label} | {cell(rb)} | {cell(t)} | "
                 f"{'%.2f×' % ratio if target else ''} | {verdict} | {cell(d)} |")
lines += ["", "store_bench (the store API), same cluster:", "", "```"]
lines += open(store_bench).read().rstrip("\n").split("\n")
lines += ["```"]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
