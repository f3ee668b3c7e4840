#!/usr/bin/env bash
# Mounted-path benchmark of tierfs against its peers (issue #4).
#
# Installs what it needs (scripts/setup.sh + fio bindfs mergerfs gnuplot-nox),
# builds tierfs in Release, then runs the same workloads, interleaved
# (system A workload 1, system B workload 1, ...) so noise hits all alike, on
#   native       a plain directory on the same filesystem (the ceiling)
#   bindfs       bindfs over a native directory (FUSE passthrough peer)
#   mergerfs     mergerfs over two native directories
#   tierfs-hot   tierfs, data hot (default options, cold_after very large)
#   tierfs-inline  tierfs hot with inline_max=4K (small files kept in the
#                namespace: the A/B of inline files, off by default), small
#                files, tree and git only
#   tierfs-cold  tierfs, data cold: reads run after `tierfs migrate --to cold`,
#                with promote_reads=0 and inline_max=0 (small files in
#                objects, so that they can go cold), after a remount (frame cache empty);
#                seq/rand read always, small-file stat/read and the tree's
#                find | cat in full mode only (preparing them is too slow)
# Workloads: fio seq write / seq read 1 MiB, fio random read 4 KiB x 2 jobs,
# cp of the seq file (copy_file_range) and cp --reflink=never (read+write),
# small files (create+write 4 KiB, stat, read, unlink; bench/smallfiles.c),
# a real tree (untar /usr/include, find | xargs cat, rm -rf), git on that
# tree (`git clone --no-hardlinks` of a local repository made from it, and
# `git status` in the clone), the daemon's peak RSS, and single-threaded
# `zstd -d` on the same data as the reference for the cold sequential read.
# The page cache is dropped before every measured phase. Every figure is the
# median of several runs (min-max kept).
# The scale point (issue 9; full mode, or --scale N): N empty files in the
# namespace, 1,000 per directory, created, then stat'ed after a remount, once
# per system, on native, bindfs and tierfs hot (a fresh store of its own):
# create and stat ops/s, and the tierfs daemon's peak RSS (VmHWM) with N files
# against the budget buffer_pool + cache_size + 64 MiB.
#
# Output in DIR (default ./bench-results): results.md (tables, ratios to
# native and to bindfs, PASS/FAIL targets) and results.png (bar chart of speed
# relative to native), the summary a commit keeps; and in DIR/raw/ (ignored by
# git under bench/results/, so a run never commits a new copy of it):
# results.json (every raw figure), raw.jsonl, bench.log, build.log and
# usr-include.tar (the tree, kept for the next run).
# The table is printed at the end. Targets never fail the script; errors do.
# Work dirs go under a temp dir in /var/tmp; mounts and dirs are removed on
# exit, also on errors and signals.
#
# usage: scripts/bench-mount.sh [--quick] [--out DIR] [--scale N]
#                                [--scale-systems LIST] [--only LIST]
#   --quick   256 MiB files, 5 s random reads, 5,000 small files, no scale
#             point (< 10 min) (default: 1 GiB, 20 s, 20,000 files and the
#             scale point at 1,000,000 files; < 40 min plus the scale point)
#   --scale N         the scale point with N empty files (0: skip it)
#   --scale-systems   which systems run it (default native,bindfs,tierfs-hot)
#   --only LIST       run only these groups (comma-separated): files (fio and
#                     cp), small, tree, git, scale (with scale in it, the
#                     scale point is 1,000,000 files unless --scale is given)
# env: TIERFS_BENCH_TMPDIR  where the work dirs go (default /var/tmp; keep it
#                           on the same filesystem as the checkout)
#      TIERFS_BENCH_REPS    runs per figure (default 3)
#      TIERFS_BENCH_BIN     use this tierfs binary instead of building one (no
#                           build, and /tmp/tierfs-build.lock is not taken: set
#                           it when the whole run is wrapped in
#                           `flock /tmp/tierfs-build.lock`, which would
#                           otherwise wait for itself)
set -euo pipefail
export LC_ALL=C

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
QUICK=0
OUT="bench-results"
SCALE=""
SCALE_SYSTEMS="native,bindfs,tierfs-hot"
ONLY=""

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) [ $# -ge 2 ] || { echo "bench-mount: --out needs a directory" >&2; exit 2; }
      OUT="$2"; shift ;;
    --out=*) OUT="${1#--out=}" ;;
    --scale) [ $# -ge 2 ] || { echo "bench-mount: --scale needs a number" >&2; exit 2; }
      SCALE="$2"; shift ;;
    --scale=*) SCALE="${1#--scale=}" ;;
    --scale-systems) [ $# -ge 2 ] || { echo "bench-mount: --scale-systems needs a list" >&2; exit 2; }
      SCALE_SYSTEMS="$2"; shift ;;
    --scale-systems=*) SCALE_SYSTEMS="${1#--scale-systems=}" ;;
    --only) [ $# -ge 2 ] || { echo "bench-mount: --only needs a list" >&2; exit 2; }
      ONLY="$2"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench-mount: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

REPS="${TIERFS_BENCH_REPS:-3}"
if ((QUICK)); then
  MODE=quick SIZE_MB=256 RAND_SECS=5 NFILES=5000 SCALE_DEFAULT=0
else
  MODE=full SIZE_MB=1024 RAND_SECS=20 NFILES=20000 SCALE_DEFAULT=1000000
fi
[[ ",$ONLY," == *",scale,"* ]] && SCALE_DEFAULT=1000000
SCALE="${SCALE:-$SCALE_DEFAULT}"
[[ "$SCALE" =~ ^[0-9]+$ ]] || { echo "bench-mount: --scale needs a number, not $SCALE" >&2; exit 2; }
for g in ${ONLY//,/ }; do
  case "$g" in files | small | tree | git | scale) ;;
    *) echo "bench-mount: --only: unknown group $g (files, small, tree, git, scale)" >&2; exit 2 ;;
  esac
done
for s in ${SCALE_SYSTEMS//,/ }; do
  case "$s" in native | bindfs | tierfs-hot) ;;
    *) echo "bench-mount: --scale-systems: $s cannot run it (native, bindfs, tierfs-hot)" >&2; exit 2 ;;
  esac
done
want() {  # GROUP: true when this run measures GROUP
  if [ "$1" = scale ]; then ((SCALE > 0)) || return 1; fi
  [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]
}
BUFFER_POOL=64M
CACHE_SIZE=64M
# fio buffers: random data is incompressible, so every system writes
# compressible data instead (each 512-byte chunk 60% zeros, refilled per I/O).
FIO_DATA=(--refill_buffers --buffer_compress_percentage=60)
FIO_DATA_TEXT="refill_buffers, buffer_compress_percentage=60 (default 512-byte compress chunk), for every system"
SYSTEMS=(native bindfs mergerfs tierfs-hot tierfs-cold)
START_TS=$(date +%s)

log() { printf '[%4ds] %s\n' "$(($(date +%s) - START_TS))" "$*" >&2; }
die() { echo "bench-mount: $*" >&2; exit 1; }

# --- packages and build ------------------------------------------------------
"$ROOT/scripts/setup.sh"
BENCH_PACKAGES=(fio bindfs mergerfs gnuplot-nox)
missing=()
for p in "${BENCH_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
RAWDIR="$OUT/raw"
mkdir -p "$RAWDIR"
# --- work dirs, mounts and cleanup --------------------------------------------
TMPBASE="${TIERFS_BENCH_TMPDIR:-/var/tmp}"
WORK="$(mktemp -d "$TMPBASE/tierfs-bench.XXXXXX")"
MOUNTS=()
declare -A DIR STORE OPTS RSS_MAX
RAW="$RAWDIR/raw.jsonl"
LOG="$RAWDIR/bench.log"
: >"$RAW"
: >"$LOG"

wait_store_unlocked() {  # STORE: until the daemon that holds STORE/LOCK is gone
  local i
  for ((i = 0; i < 600; i++)); do
    flock -n "$1/LOCK" true 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench-mount: the daemon of $1 did not exit within 60 s" >&2
  return 1
}

cleanup() {
  local rc=$? m left=0 s
  set +e
  trap - EXIT INT TERM
  for m in "${MOUNTS[@]}"; do
    mountpoint -q "$m" || continue
    fusermount3 -u "$m" 2>/dev/null || { sleep 1; fusermount3 -u "$m" 2>/dev/null; } ||
      fusermount3 -uz "$m"
  done
  for s in "${STORE[@]}"; do [ -d "$s" ] && wait_store_unlocked "$s"; done
  for m in "${MOUNTS[@]}"; do mountpoint -q "$m" && { echo "bench-mount: $m still mounted" >&2; left=1; }; done
  if ((left)); then
    echo "bench-mount: leaving $WORK in place (a mount is still there)" >&2
  else
    rm -rf --one-file-system "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK/bin"
if [ -n "${TIERFS_BENCH_BIN:-}" ]; then
  # A given binary, copied so that a rebuild meanwhile cannot replace it.
  [ -x "$TIERFS_BENCH_BIN" ] || die "TIERFS_BENCH_BIN=$TIERFS_BENCH_BIN is not an executable"
  log "using $TIERFS_BENCH_BIN (TIERFS_BENCH_BIN; not building)"
  cp "$TIERFS_BENCH_BIN" "$WORK/bin/tierfs"
  BINARY="$TIERFS_BENCH_BIN"
else
  log "building tierfs (Release) through /tmp/tierfs-build.lock"
  # The copy is made under the same lock: a later build by someone else must
  # not replace the binary that the benchmark's daemons and CLI calls run.
  # shellcheck disable=SC2016  # $1 and $2 belong to the inner bash
  if ! flock /tmp/tierfs-build.lock bash -c '"$1/scripts/build.sh" && cp "$1/build/bin/tierfs" "$2"' \
    _ "$ROOT" "$WORK/bin/tierfs" >"$RAWDIR/build.log" 2>&1; then
    tail -n 30 "$RAWDIR/build.log" >&2
    die "build failed (log: $RAWDIR/build.log)"
  fi
  BINARY="$ROOT/build/bin/tierfs"
fi
TIERFS="$WORK/bin/tierfs"
COMMIT="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"

if [ "$(stat -c %d "$WORK")" != "$(stat -c %d "$ROOT")" ]; then
  log "warning: $WORK is not on the same filesystem as $ROOT"
fi

DROP_OK=1
drop_caches() {
  sync
  if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
    ((DROP_OK)) && log "warning: cannot drop the page cache (not root?); figures include cache hits"
    DROP_OK=0
  fi
}

tierfs_pid() {  # SYSTEM -> pid of its daemon (empty if none)
  pgrep -f "tierfs mount ${STORE[$1]} " | head -n 1 || true
}

sample_rss() {  # SYSTEM: fold the daemon's VmHWM (peak RSS, KiB) into RSS_MAX
  local pid kb
  pid="$(tierfs_pid "$1")"
  [ -n "$pid" ] || return 0
  kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
  [ -n "$kb" ] || return 0
  if [ -z "${RSS_MAX[$1]:-}" ] || ((kb > RSS_MAX[$1])); then RSS_MAX[$1]=$kb; fi
}

tierfs_mount() {  # SYSTEM
  "$TIERFS" mount "${STORE[$1]}" "${DIR[$1]}" -o "${OPTS[$1]}" >>"$LOG" 2>&1 ||
    die "cannot mount $1 (see $LOG and ${STORE[$1]}/tierfs.log)"
}

tierfs_umount() {  # SYSTEM
  sample_rss "$1"
  "$TIERFS" umount "${DIR[$1]}"   # returns once the daemon has exited
}

remount() {  # SYSTEM: empties the daemon's frame cache
  tierfs_umount "$1"
  tierfs_mount "$1"
}

mkdir -p "$WORK/native" "$WORK/bindfs.src" "$WORK/mergerfs.a" "$WORK/mergerfs.b"
DIR[native]="$WORK/native"
DIR[bindfs]="$WORK/bindfs"
DIR[mergerfs]="$WORK/mergerfs"
for s in tierfs-hot tierfs-inline tierfs-cold; do
  DIR[$s]="$WORK/$s"
  STORE[$s]="$WORK/$s.store"
done
OPTS[tierfs-hot]="cold_after=1000000000,buffer_pool=$BUFFER_POOL,cache_size=$CACHE_SIZE"
OPTS[tierfs-inline]="${OPTS[tierfs-hot]},inline_max=4K"
OPTS[tierfs-cold]="cold_after=1000000000,promote_reads=0,inline_max=0,buffer_pool=$BUFFER_POOL,cache_size=$CACHE_SIZE"
for s in bindfs mergerfs tierfs-hot tierfs-inline tierfs-cold; do
  mkdir -p "${DIR[$s]}"
  MOUNTS+=("${DIR[$s]}")
done
bindfs "$WORK/bindfs.src" "${DIR[bindfs]}" >>"$LOG" 2>&1 || die "bindfs failed (see $LOG)"
mergerfs -o cache.files=partial,dropcacheonclose=true,category.create=mfs,fsname=benchmergerfs \
  "$WORK/mergerfs.a:$WORK/mergerfs.b" "${DIR[mergerfs]}" >>"$LOG" 2>&1 ||
  die "mergerfs failed (see $LOG)"
tierfs_mount tierfs-hot
tierfs_mount tierfs-inline
tierfs_mount tierfs-cold
for m in "${MOUNTS[@]}"; do mountpoint -q "$m" || die "$m is not mounted"; done

SF="$WORK/smallfiles"
cc -O2 -Wall -Wextra -o "$SF" "$ROOT/bench/smallfiles.c"

TARBALL="$RAWDIR/usr-include.tar"
if [ ! -s "$TARBALL" ]; then
  log "making $TARBALL from /usr/include"
  tar -C /usr -cf "$TARBALL.tmp" include
  mv "$TARBALL.tmp" "$TARBALL"
fi
TAR_FILES="$(tar -tvf "$TARBALL" | grep -c '^-' || true)"
TAR_MB="$(($(stat -c %s "$TARBALL") / 1048576))"

log "mode $MODE: files ${SIZE_MB} MiB, random reads ${RAND_SECS} s, $NFILES small files," \
  "tree $TAR_FILES files ($TAR_MB MiB), $REPS runs each; work dir $WORK"

# --- measuring helpers -------------------------------------------------------
record() {  # WORKLOAD SYSTEM REP VALUE UNIT
  printf '{"workload":"%s","system":"%s","rep":%d,"value":%s,"unit":"%s"}\n' "$@" >>"$RAW"
  log "$(printf '%-11s run %d  %-11s %12.1f %s' "$1" "$3" "$2" "$4" "$5")"
}

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }'; }

fio_run() {  # SECTION KEY fio-args... -> prints jobs[0].SECTION.KEY
  local section=$1 key=$2
  shift 2
  fio --output-format=json --output="$WORK/fio.json" --name=bench --ioengine=psync \
    "${FIO_DATA[@]}" "$@" >>"$LOG" 2>&1 || die "fio failed: $* (see $LOG)"
  python3 - "$WORK/fio.json" "$section" "$key" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
job = json.loads(text[text.index("{"):])["jobs"][0]
print(job[sys.argv[2]][sys.argv[3]])
EOF
}

mibps() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }

cold_status() {  # -> "hot_bytes cold_bytes cold_stored_bytes"
  "$TIERFS" status --json "${DIR[tierfs-cold]}" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["hot_bytes"], s["cold_bytes"], s["cold_stored_bytes"])'
}

migrate_cold() {  # PATH: demote every file under PATH (several CLI processes at once)
  find "$1" -type f -print0 | xargs -0 -r -n 256 -P 4 "$TIERFS" migrate --to cold ||
    die "tierfs migrate --to cold failed under $1"
}

after_run() {  # SYSTEM
  case "$1" in tierfs-*) sample_rss "$1" ;; esac
}

sf_phase() {  # SYSTEM PHASE REP [WORKLOAD-SUFFIX]
  local out
  drop_caches
  out="$("$SF" "$2" "${DIR[$1]}/sf" "$NFILES")" || die "smallfiles $2 failed on $1"
  record "sf_$2" "$1" "$3" "$(awk '{ print $4 }' <<<"$out")" ops/s
  after_run "$1"
}

timed() {  # WORKLOAD SYSTEM REP command...
  local w=$1 s=$2 r=$3 t0
  shift 3
  drop_caches
  t0="$(now)"
  "$@" || die "$w failed on $s"
  record "$w" "$s" "$r" "$(since "$t0")" s
  after_run "$s"
}
untar() { mkdir "$1" && tar -xf "$TARBALL" -C "$1"; }
cat_all() { (cd "$1" && find . -type f -print0 | xargs -0 -r cat >/dev/null); }

# Cold small files, the cold tree and the cold clone run in full mode only:
# preparing them (create/untar/clone, then demote thousands of objects) is too
# slow for --quick.
COLD_EXTRA=$((!QUICK))

interleaved() {  # HOT-FN COLD-FN: each run, each system in turn: FN SYSTEM REP;
  # tierfs-cold runs COLD-FN (read-only) after a remount, in full mode only
  local rep s
  for ((rep = 1; rep <= REPS; rep++)); do
    for s in "${SYSTEMS[@]}" tierfs-inline; do
      if [ "$s" = tierfs-cold ]; then
        ((COLD_EXTRA)) || continue
        remount "$s"
        "$2" "$s" "$rep"
      else
        "$1" "$s" "$rep"
      fi
    done
  done
}
# Set by the file workloads (the report's cold-read reference), "n/a" without.
COLD_SEQ_RATIO=nan ZSTD_RATIO=nan COLD_AFTER_READS=n/a

# --- 1. sequential write ------------------------------------------------------
if want files; then
  FIO_SEQ=(--bs=1M "--size=${SIZE_MB}M")
  for ((rep = 1; rep <= REPS; rep++)); do
    for s in native bindfs mergerfs tierfs-hot; do
      rm -f "${DIR[$s]}/seq.dat"
      drop_caches
      bw="$(fio_run write bw_bytes --rw=write "${FIO_SEQ[@]}" --end_fsync=1 \
        --filename="${DIR[$s]}/seq.dat")"
      record seqwrite "$s" "$rep" "$(mibps "$bw")" MiB/s
      after_run "$s"
    done
  done

  # The cold data set: the same fio file, written hot, then demoted.
  log "preparing cold data: write ${SIZE_MB} MiB, migrate --to cold, remount"
  fio_run write bw_bytes --rw=write "${FIO_SEQ[@]}" --end_fsync=1 \
    --filename="${DIR[tierfs-cold]}/seq.dat" >/dev/null
  "$TIERFS" migrate --to cold "${DIR[tierfs-cold]}/seq.dat"
  read -r hot_b cold_b stored_b <<<"$(cold_status)"
  ((hot_b == 0 && cold_b == SIZE_MB * 1048576)) ||
    die "cold data set not fully cold: hot $hot_b, cold $cold_b bytes"
  COLD_SEQ_RATIO="$(awk -v s="$stored_b" -v c="$cold_b" 'BEGIN { printf "%.4f", s / c }')"
  remount tierfs-cold

  # Reference for the cold read: single-threaded zstd -d of the same data.
  zstd -3 -T1 -q -f "${DIR[native]}/seq.dat" -o "$WORK/seq.dat.zst"
  ZSTD_RATIO="$(awk -v z="$(stat -c %s "$WORK/seq.dat.zst")" -v n="$((SIZE_MB * 1048576))" \
    'BEGIN { printf "%.4f", z / n }')"

  # --- 2. sequential read -----------------------------------------------------
  for ((rep = 1; rep <= REPS; rep++)); do
    for s in "${SYSTEMS[@]}"; do
      [ "$s" = tierfs-cold ] && remount "$s"
      drop_caches
      bw="$(fio_run read bw_bytes --rw=read "${FIO_SEQ[@]}" --filename="${DIR[$s]}/seq.dat")"
      record seqread "$s" "$rep" "$(mibps "$bw")" MiB/s
      after_run "$s"
    done
    drop_caches
    t0="$(now)"
    zstd -d -c "$WORK/seq.dat.zst" >/dev/null
    record seqread zstd-d "$rep" "$(awk -v t="$(since "$t0")" -v m="$SIZE_MB" \
      'BEGIN { printf "%.2f", m / t }')" MiB/s
  done

  # --- 3. random read ---------------------------------------------------------
  for ((rep = 1; rep <= REPS; rep++)); do
    for s in "${SYSTEMS[@]}"; do
      [ "$s" = tierfs-cold ] && remount "$s"
      drop_caches
      iops="$(fio_run read iops --rw=randread --bs=4k --numjobs=2 --group_reporting \
        --time_based "--runtime=$RAND_SECS" "--size=${SIZE_MB}M" --filename="${DIR[$s]}/seq.dat")"
      record randread "$s" "$rep" "$(awk -v x="$iops" 'BEGIN { printf "%.1f", x }')" ops/s
      after_run "$s"
    done
  done

  # --- 3b. copies: cp (copy_file_range, in the daemon for tierfs: whole chunks
  # as objects, cold ones still compressed) and cp --reflink=never (read+write)
  for ((rep = 1; rep <= REPS; rep++)); do
    for s in native bindfs tierfs-hot tierfs-cold; do
      for variant in cfr rw; do
        [ "$s" = tierfs-cold ] && remount "$s"
        rm -f "${DIR[$s]}/copy.dat"
        drop_caches
        args=()
        [ "$variant" = rw ] && args=(--reflink=never)
        t0="$(now)"
        cp "${args[@]}" "${DIR[$s]}/seq.dat" "${DIR[$s]}/copy.dat"
        record "copy_$variant" "$s" "$rep" "$(awk -v t="$(since "$t0")" -v m="$SIZE_MB" \
          'BEGIN { printf "%.2f", m / t }')" MiB/s
        cmp -s "${DIR[$s]}/seq.dat" "${DIR[$s]}/copy.dat" || die "copy on $s differs"
        rm -f "${DIR[$s]}/copy.dat"
        after_run "$s"
      done
    done
  done

  read -r hot_b cold_b stored_b <<<"$(cold_status)"
  COLD_AFTER_READS="hot $hot_b, cold $cold_b bytes"
  ((hot_b == 0)) || log "warning: cold data was promoted during the reads ($COLD_AFTER_READS)"
  for s in "${SYSTEMS[@]}"; do rm -f "${DIR[$s]}/seq.dat"; done
fi

# --- 4. small files -----------------------------------------------------------
if want small; then
  if ((COLD_EXTRA)); then
    log "preparing cold small files: create $NFILES, migrate --to cold"
    "$SF" create "${DIR[tierfs-cold]}/sf" "$NFILES" >/dev/null
    migrate_cold "${DIR[tierfs-cold]}/sf"
  fi
  sf_hot() { local ph; for ph in create stat read unlink; do sf_phase "$1" "$ph" "$2"; done; }
  sf_cold() { sf_phase "$1" stat "$2" && sf_phase "$1" read "$2"; }
  interleaved sf_hot sf_cold
  if ((COLD_EXTRA)); then
    read -r hot_b cold_b stored_b <<<"$(cold_status)"
    ((hot_b == 0)) || log "warning: cold small files were promoted during the reads (hot $hot_b bytes)"
    "$SF" unlink "${DIR[tierfs-cold]}/sf" "$NFILES" >/dev/null
  fi
fi

# --- 5. real tree: untar, find | xargs cat, rm -rf -----------------------------
if want tree; then
  if ((COLD_EXTRA)); then
    log "preparing cold tree: untar, migrate --to cold"
    untar "${DIR[tierfs-cold]}/tree"
    migrate_cold "${DIR[tierfs-cold]}/tree"
  fi
  tree_hot() {  # SYSTEM REP
    local n
    timed tree_untar "$1" "$2" untar "${DIR[$1]}/tree"
    n="$(find "${DIR[$1]}/tree" -type f | wc -l)"
    [ "$n" = "$TAR_FILES" ] || die "untar on $1 gave $n files, expected $TAR_FILES"
    timed tree_cat "$1" "$2" cat_all "${DIR[$1]}/tree"
    timed tree_rm "$1" "$2" rm -rf "${DIR[$1]}/tree"
  }
  tree_cold() { timed tree_cat "$1" "$2" cat_all "${DIR[$1]}/tree"; }
  interleaved tree_hot tree_cold
  if ((COLD_EXTRA)); then
    read -r hot_b cold_b stored_b <<<"$(cold_status)"
    ((hot_b == 0)) || log "warning: cold tree was promoted during the reads (hot $hot_b bytes)"
    rm -rf "${DIR[tierfs-cold]}/tree"
  fi
fi

# --- 6. git: clone of a local repository, git status in the clone -------------
# The source repository is made once per run in the work dir (native) from the
# same /usr/include tree: git init, add, commit, gc (one pack, as a real
# repository has). `git clone --no-hardlinks` copies the pack (no hard links
# into the source) and checks every file out. git writes its index right after
# the checkout, so files not older than the index are "racily clean" and would
# make the next status read them all and rewrite the index: an unmeasured
# `git status --porcelain` a second later settles that (and checks the clone is
# clean), so the measured `git status` does what one in an existing clone does:
# read the index, lstat every file, read every directory for untracked files,
# compare with HEAD's tree. Only git's built-in defaults apply (no system or
# global config). A clone that is not clean stops the run on native and
# tierfs; on the peers it is a warning in the report (mergerfs now and then
# shows the tree's 30 symlinks as modified on a fresh mount, though
# `git diff` finds no change).
GIT=(env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
  git -c safe.directory='*' -c user.name=bench -c user.email=bench@localhost -c gc.auto=0)
GITSRC="$WORK/gitsrc"
GIT_FILES=0
GIT_UNCLEAN=""
git_clone() { "${GIT[@]}" clone -q --no-hardlinks "$GITSRC" "$1"; }
git_status() { "${GIT[@]}" -C "$1" status >/dev/null; }
git_settle() {  # CLONE: the unmeasured status that settles the index; the clone must be clean
  local out
  sleep 1
  out="$("${GIT[@]}" -C "$1" status --porcelain)" || return 1
  [ -z "$out" ] && return 0
  echo "bench-mount: $1 is not clean after the clone:" >&2
  head -n 5 <<<"$out" >&2
  "${GIT[@]}" -C "$1" diff | head -n 20 >&2
  return 1
}
if want git; then
  log "making the source repository $GITSRC from $TARBALL"
  untar "$GITSRC"
  "${GIT[@]}" -C "$GITSRC" init -q -b main
  "${GIT[@]}" -C "$GITSRC" add -A
  "${GIT[@]}" -C "$GITSRC" commit -q -m "/usr/include"
  "${GIT[@]}" -C "$GITSRC" gc -q
  GIT_FILES="$("${GIT[@]}" -C "$GITSRC" ls-files | wc -l)"
  GIT_MB="$(du -sm "$GITSRC/.git" | awk '{ print $1 }')"
  log "source repository: $GIT_FILES files, .git $GIT_MB MiB"
  if ((COLD_EXTRA)); then
    # Settled after the demotion and a remount: the demotion moves every
    # file's ctime (by seconds), and a remount reports ctimes a few ms later
    # than the mount before it did for files written or demoted in it (the
    # kernel's writeback-cache times vs the daemon's), so the first status
    # after these reads every file (cold) and rewrites the index (hot). The
    # measured ones after it only stat.
    log "preparing cold clone: git clone, migrate --to cold, remount, git status"
    git_clone "${DIR[tierfs-cold]}/clone"
    migrate_cold "${DIR[tierfs-cold]}/clone"
    remount tierfs-cold
    t0="$(now)"
    git_settle "${DIR[tierfs-cold]}/clone" || die "the clone on tierfs-cold is not clean"
    log "the cold clone's first git status (after 1 s) took $(since "$t0") s"
    read -r git_cold_hot0 cold_b stored_b <<<"$(cold_status)"
  fi
  git_hot() {  # SYSTEM REP
    timed git_clone "$1" "$2" git_clone "${DIR[$1]}/clone"
    if ! git_settle "${DIR[$1]}/clone"; then
      case "$1" in
        bindfs | mergerfs) log "warning: the clone on $1 (run $2) is not clean"
          GIT_UNCLEAN="${GIT_UNCLEAN:+$GIT_UNCLEAN, }$1 run $2" ;;
        *) die "the clone on $1 is not clean" ;;
      esac
    fi
    timed git_status "$1" "$2" git_status "${DIR[$1]}/clone"
    rm -rf "${DIR[$1]}/clone"
  }
  git_cold() { timed git_status "$1" "$2" git_status "${DIR[$1]}/clone"; }
  interleaved git_hot git_cold
  if ((COLD_EXTRA)); then
    read -r hot_b cold_b stored_b <<<"$(cold_status)"
    ((hot_b <= git_cold_hot0)) ||
      log "warning: git status promoted or rewrote the cold clone (hot $git_cold_hot0 -> $hot_b bytes)"
    rm -rf "${DIR[tierfs-cold]}/clone"
  fi
  rm -rf "$GITSRC"
fi

# --- 7. scale point: SCALE empty files in the namespace (issue 9) -------------
# Once per system (it is long): create SCALE empty files, 1,000 per directory,
# then, after a remount for tierfs (empty inode table, the namespace only in
# its database) and a dropped page cache (for all), stat every one of them.
# tierfs runs on a fresh store of its own with tierfs-hot's options, so its
# daemon's peak RSS (VmHWM, sampled after each phase) is the scale point's
# alone. The trees stay until the work dir is removed at exit.
SCALE_PER_DIR=1000
SCALE_ELAPSED=0
vmhwm_mib() {  # SYSTEM -> its daemon's VmHWM in MiB
  local pid
  pid="$(tierfs_pid "$1")"
  [ -n "$pid" ] || die "no daemon for $1"
  awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"
}
scale_dir() {  # SYSTEM -> the root of its scale tree
  case "$1" in tierfs-hot) echo "${DIR[tierfs-scale]}/scale" ;; *) echo "${DIR[$1]}/scale" ;; esac
}
scale_phase() {  # SYSTEM PHASE
  local out
  drop_caches
  log "scale: $2 of $SCALE files on $1"
  out="$("$SF" "$2" "$(scale_dir "$1")" "$SCALE" "$SCALE_PER_DIR" 0)" ||
    die "smallfiles $2 failed on $1 (scale point)"
  record "scale_$2" "$1" 1 "$(awk '{ print $4 }' <<<"$out")" ops/s
  if [ "$1" = tierfs-hot ]; then
    record "scale_rss_$2" "$1" 1 "$(vmhwm_mib tierfs-scale)" MiB
  fi
}
if want scale; then
  scale_t0=$(date +%s)
  read -r -a scale_systems <<<"${SCALE_SYSTEMS//,/ }"
  if [[ " ${scale_systems[*]} " == *" tierfs-hot "* ]]; then
    DIR[tierfs-scale]="$WORK/tierfs-scale"
    STORE[tierfs-scale]="$WORK/tierfs-scale.store"
    OPTS[tierfs-scale]="${OPTS[tierfs-hot]}"
    mkdir -p "${DIR[tierfs-scale]}"
    MOUNTS+=("${DIR[tierfs-scale]}")
    tierfs_mount tierfs-scale
  fi
  for s in "${scale_systems[@]}"; do scale_phase "$s" create; done
  if [ -n "${DIR[tierfs-scale]:-}" ]; then
    tierfs_umount tierfs-scale
    t0="$(now)"
    tierfs_mount tierfs-scale
    record scale_mount tierfs-hot 1 "$(since "$t0")" s
  fi
  for s in "${scale_systems[@]}"; do scale_phase "$s" stat; done
  [ -n "${DIR[tierfs-scale]:-}" ] && tierfs_umount tierfs-scale
  SCALE_ELAPSED=$(($(date +%s) - scale_t0))
  log "scale point: $SCALE files on ${SCALE_SYSTEMS} took ${SCALE_ELAPSED} s"
fi

# --- peak RSS and the report ----------------------------------------------------
for s in tierfs-hot tierfs-cold; do
  sample_rss "$s"
  [ -n "${RSS_MAX[$s]:-}" ] &&
    record peak_rss "$s" 1 "$(awk -v k="${RSS_MAX[$s]}" 'BEGIN { printf "%.1f", k / 1024 }')" MiB
done

ELAPSED=$(($(date +%s) - START_TS))
python3 "$ROOT/bench/report.py" --raw "$RAW" --json "$RAWDIR/results.json" --out "$OUT" \
  --meta mode="$MODE" --meta reps="$REPS" --meta size_mib="$SIZE_MB" \
  --meta rand_secs="$RAND_SECS" --meta nfiles="$NFILES" --meta tar_files="$TAR_FILES" \
  --meta tar_mib="$TAR_MB" --meta drop_caches_ok="$DROP_OK" \
  --meta fio_data="$FIO_DATA_TEXT" --meta buffer_pool="$BUFFER_POOL" \
  --meta cache_size="$CACHE_SIZE" --meta tierfs_hot_opts="${OPTS[tierfs-hot]}" \
  --meta tierfs_cold_opts="${OPTS[tierfs-cold]}" \
  --meta cold_stored_ratio="$COLD_SEQ_RATIO" --meta zstd3_ratio="$ZSTD_RATIO" \
  --meta cold_after_reads="$COLD_AFTER_READS" --meta elapsed_s="$ELAPSED" \
  --meta git_files="$GIT_FILES" --meta git_unclean="$GIT_UNCLEAN" --meta scale_files="$SCALE" \
  --meta scale_per_dir="$SCALE_PER_DIR" --meta scale_systems="$SCALE_SYSTEMS" \
  --meta scale_elapsed_s="$SCALE_ELAPSED" --meta only="${ONLY:-all}" \
  --meta binary="$BINARY" \
  --meta commit="$COMMIT" \
  --meta kernel="$(uname -r)" --meta cpus="$(nproc)" \
  --meta fs="$(df --output=fstype "$WORK" | tail -n 1)" \
  --meta versions="$(fio --version), bindfs $(bindfs --version | awk '{print $2}'), $(mergerfs --version 2>/dev/null | head -n 1), $(zstd --version | head -n 1)"
gnuplot -e "datafile='$OUT/plot.dat'; outfile='$OUT/results.png'" "$ROOT/bench/plot.gp" ||
  log "warning: gnuplot failed; no results.png"
rm -f "$OUT/plot.dat"
cat "$OUT/results.md"
log "done in ${ELAPSED} s; results in $OUT"
