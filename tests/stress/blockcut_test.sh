#!/usr/bin/env bash
# Block-level power cuts (issue #18): the store on ext4 on a loop device,
# tierfs mounted on it; a scenario runs; while everything is still mounted the
# loop device's backing file is copied — the copy is what the disk holds when
# the power goes: what ext4 (and tierfs's fsyncs through it) sent to the
# device is in it, dirty page cache is not. The copy is then checked with
# e2fsck -fy (clean or repaired), loop-mounted, tierfs mounted on the store
# inside it, and the scenario's guarantee checked, then `tierfs fsck` on the
# unmounted recovered store (clean, or --repair to clean). Unlike the SIGKILL
# tests (crash_test, prefix_test) the machine's page cache does not survive:
# this is what the kernel and ext4 really do on a power cut.
#
# Scenarios (each round on a fresh 256 MiB ext4, the copy taken right after
# the scenario, never a sync(1) in between):
#   rename_over  4 MiB f and t written with conv=fsync, mv t f, 8 s (ext4
#                commits its journal every 5 s): f is the old or the new
#                bytes, never zeros; t may still be there (a lost rename), and
#                then it is the new bytes and f the old ones.
#   truncate     4 MiB f fsync'ed, truncate -s 0 without fsync, 8 s: f is the
#                old bytes or empty, never 4 MiB of zeros.
#   unmount      files written without fsync, then a clean unmount
#                (fusermount3 -u, and the daemon has exited), no sync: every
#                file is complete.
#   dir_fsync    files created in a directory, the directory fsync'ed (and its
#                parent, for the directory's own name): every name survives.
#   inline_spill (inline_max=4K) a 2000-byte inline file fsync'ed, then grown
#                past inline_max without fsync (its bytes spill to an object),
#                then another file fsync'ed (which commits the spill): the
#                first 2000 bytes are intact; the other file is complete.
#   dirsync      (-o dirsync) files created and one renamed, no fsync: every
#                create and the rename survive (answered only once durable).
#   hardlink     an fsync'ed 4 MiB file hard-linked, the directory fsync'ed,
#                the first name unlinked without fsync, 8 s: the other name
#                has every byte (the unlink must not free the shared objects).
#   tier_moves   fsync'ed files demoted (tierfs migrate --to cold), one
#                promoted again, 8 s: both read their bytes.
#
#   bash tests/stress/blockcut_test.sh [--long]
# Rounds per scenario: 1 (CI), 20 with --long (TIERFS_STRESS_LONG=1); override with
# TIERFS_BLOCKCUT_ROUNDS=N. TIERFS_BLOCKCUT_SCENARIOS="truncate unmount" runs
# only those. Needs root, loop devices and e2fsprogs: missing, the test is
# skipped, or fails under CI=true.
source "$(dirname "$0")/../mount/lib.sh"
source "$(dirname "$0")/stress_lib.sh"

[[ "$(id -u)" -eq 0 ]] || _unavailable "needs root (losetup, mount)"
[[ -c /dev/loop-control ]] || _unavailable "no loop devices (/dev/loop-control is missing)"
for _c in losetup mkfs.ext4 e2fsck; do
  command -v "$_c" >/dev/null || _unavailable "$_c not installed (util-linux, e2fsprogs)"
done
unset _c

ROUNDS=${TIERFS_BLOCKCUT_ROUNDS:-$((STRESS_LONG ? 20 : 1))}
read -r -a SCENARIOS <<<"${TIERFS_BLOCKCUT_SCENARIOS:-rename_over truncate unmount dir_fsync inline_spill dirsync hardlink tier_moves}"
IMG="$TMP/disk.img"    # the disk: a sparse file behind a loop device
COPY="$TMP/cut.img"    # the disk as the power cut left it
DISK="$TMP/disk"       # where the ext4 on the loop device is mounted
STORE="$DISK/store"    # lib.sh's helpers mount $STORE at $MNT
DATA="$TMP/data"       # the bytes the scenarios write, to compare against
LOOP=""                # the attached loop device, if any
mkdir -p "$DISK" "$DATA"
log "rounds=$ROUNDS scenarios=${SCENARIOS[*]}"

# ---- the disk ----------------------------------------------------------------
# detach_disk — unmount tierfs (waiting for the daemon to exit, SIGKILL after
# 20 s), then the ext4, then detach the loop device. Used between rounds and
# at exit, so it must work from any state.
detach_disk() {
  local pid i
  if is_mounted "$MNT"; then
    fusermount3 -u "$MNT" 2>/dev/null || lazy_unmount "$MNT"
  fi
  for i in $(seq 1 200); do
    _store_lock_free 2>/dev/null && break
    sleep 0.1
  done
  pid=$(daemon_pid 2>/dev/null)
  if [[ -n "$pid" ]]; then
    log "the daemon ($pid) did not exit within 20 s of unmount: SIGKILL"
    kill -9 "$pid"
    wait_for 10 "daemon $pid to die" _pid_gone "$pid"
  fi
  if is_mounted "$DISK"; then
    umount "$DISK" || umount -l "$DISK"
  fi
  if [[ -n "$LOOP" ]]; then
    losetup -d "$LOOP"
    LOOP=""
  fi
}
on_exit detach_disk

# attach_disk IMAGE — attach IMAGE to a free loop device and mount its ext4 at
# $DISK. --direct-io=on: the loop driver writes to the image with O_DIRECT, so
# a block ext4 sent to the device is in the image file on the host disk when
# the request completes, with no second page cache (the host's, of the image
# file) between the device and the image. A buffered loop device would give
# the same copy — the copy reads the image through the host's page cache,
# which holds what the loop driver wrote — but with O_DIRECT what the device
# acknowledged and what the image holds are one thing, as on a real disk.
# Falls back to buffered where the host filesystem refuses O_DIRECT.
# commit=5 is ext4's default, stated because the scenarios' 8 s waits rely on
# it: a namespace change of the filesystem under the store (an unlink of an
# object file) is on the device within 5 s without any fsync.
attach_disk() {
  LOOP=$(losetup --find --show --direct-io=on "$1" 2>/dev/null) ||
    LOOP=$(losetup --find --show "$1") || fail "losetup $1 failed"
  mount -t ext4 -o commit=5 "$LOOP" "$DISK" || fail "mount of $LOOP ($1) on $DISK failed"
}

# new_disk — a fresh sparse 256 MiB image with an empty ext4, mounted at $DISK.
# lazy_itable_init=0,lazy_journal_init=0: no kernel thread writes inode tables
# in the background after the mount, so the image only changes when tierfs
# does something (snapshot_disk needs a quiet device).
new_disk() {
  rm -f "$IMG"
  truncate -s 256M "$IMG"
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$IMG" ||
    fail "mkfs.ext4 failed"
  attach_disk "$IMG"
}

# snapshot_disk — copy $IMG to $COPY while everything is mounted: the power cut.
# cp reads the image front to back, which takes a while; should the device be
# written meanwhile (a journal commit, a writeback) the copy would mix two
# moments — e.g. a journal commit without the data blocks ordered before it,
# a state no real disk ever holds. So copy until two consecutive copies are
# identical: the device did not change during the last one, which is then
# the disk at one instant (any instant after the scenario is a valid cut).
snapshot_disk() {
  local i
  cp --sparse=always "$IMG" "$COPY"
  for i in $(seq 1 20); do
    cp --sparse=always "$IMG" "$COPY.next"
    if cmp -s "$COPY" "$COPY.next"; then
      rm -f "$COPY.next"
      return 0
    fi
    mv "$COPY.next" "$COPY"
  done
  fail "the disk image kept changing over 20 copies: no consistent snapshot"
}

# recover LABEL [OPT...] — after the cut: detach the original disk, e2fsck
# the copy (exit 0: clean, 1: repaired — a journal replay counts; anything
# else fails the test), mount it and tierfs (with OPTs) on the store in it. Returns 1 (recorded) when the store cannot be
# mounted.
recover() {
  local label=$1 rc=0
  shift
  detach_disk
  e2fsck -fy "$COPY" >"$TMP/e2fsck.txt" 2>&1 || rc=$?
  if [[ $rc -gt 1 ]]; then
    cat "$TMP/e2fsck.txt" >&2
    fail "$label: e2fsck -fy of the cut disk exited $rc (want 0 clean or 1 repaired)"
  fi
  [[ $rc -eq 0 ]] || log "$label: e2fsck -fy exited 1 (the journal replayed or something repaired)"
  attach_disk "$COPY"
  [[ -f "$STORE/meta.db" ]] || { soft_fail "$label: no $STORE/meta.db on the cut disk"; return 1; }
  mount_tierfs "$@"
}

# finish_round LABEL — unmount the recovered store (the daemon's own recovery
# ran at mount), fsck it (clean or --repair to clean), detach the copy.
finish_round() {
  local verdict
  quick_unmount
  verdict=$(fsck_until_clean "$1")
  [[ "$verdict" == clean ]] || log "$1: tierfs fsck after recovery: $verdict"
  detach_disk
  rm -f "$COPY"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# describe FILE — what a file holds, for failure messages.
describe() {
  [[ -e "$1" ]] || { echo "missing"; return; }
  local size nz
  size=$(stat -c %s "$1")
  nz=$(tr -d '\0' <"$1" | wc -c)
  echo "$size bytes, $nz non-zero, sha256 $(sha "$1" | cut -c1-12)"
}

# random_file PATH SIZE — SIZE random bytes (no zero-filled page could pass for them).
random_file() { head -c "$2" /dev/urandom >"$1"; }

# ---- scenarios: act_NAME runs on the mount, check_NAME on the recovered one -------
OLD="$DATA/old" NEW="$DATA/new"
random_file "$OLD" 4M
random_file "$NEW" 4M

act_rename_over() {
  dd if="$OLD" of="$MNT/f" bs=1M conv=fsync status=none
  dd if="$NEW" of="$MNT/t" bs=1M conv=fsync status=none
  mv "$MNT/t" "$MNT/f"
  sleep 8
}
check_rename_over() {
  local f t
  f=$(sha "$MNT/f" 2>/dev/null || echo missing)
  if [[ -e "$MNT/t" ]]; then
    t=$(sha "$MNT/t")
    if [[ "$t" == "$(sha "$NEW")" && "$f" == "$(sha "$OLD")" ]]; then
      log "$1: the rename was lost (allowed): f old, t new"
    else
      soft_fail "$1: the rename was lost, so f must be the old bytes and t the new:" \
        "f: $(describe "$MNT/f"); t: $(describe "$MNT/t")"
    fi
  elif [[ "$f" == "$(sha "$NEW")" ]]; then
    log "$1: f has the new bytes"
  else
    soft_fail "$1: f must have the new bytes (t is gone): f: $(describe "$MNT/f")"
  fi
}

act_truncate() {
  dd if="$OLD" of="$MNT/f" bs=1M conv=fsync status=none
  truncate -s 0 "$MNT/f"
  sleep 8
}
check_truncate() {
  local size
  size=$(stat -c %s "$MNT/f" 2>/dev/null || echo missing)
  if [[ "$size" == 0 ]]; then
    log "$1: f is empty (the truncate survived)"
  elif [[ -e "$MNT/f" && "$(sha "$MNT/f")" == "$(sha "$OLD")" ]]; then
    log "$1: f has its fsync'ed bytes (the truncate was lost)"
  else
    soft_fail "$1: f must be empty or its fsync'ed 4 MiB: f: $(describe "$MNT/f")"
  fi
}

UNMOUNT_FILES=(big:4194304 mid:1000000 small:3000 tiny:1)
act_unmount() {
  local spec
  mkdir "$MNT/u"
  for spec in "${UNMOUNT_FILES[@]}"; do
    random_file "$DATA/${spec%%:*}" "${spec#*:}"
    cp "$DATA/${spec%%:*}" "$MNT/u/"
  done
  # A clean unmount ends when the daemon has exited (what `tierfs umount`
  # waits for); fusermount3 -u returns before that.
  fusermount3 -u "$MNT"
  wait_for 60 "the daemon to exit after fusermount3 -u" _store_lock_free
}
check_unmount() {
  local spec n
  for spec in "${UNMOUNT_FILES[@]}"; do
    n=${spec%%:*}
    cmp -s "$DATA/$n" "$MNT/u/$n" ||
      soft_fail "$1: u/$n (${spec#*:} bytes, written before a clean unmount) is $(describe "$MNT/u/$n")"
  done
}

DIR_FILES=20
act_dir_fsync() {
  python3 - "$MNT" "$DIR_FILES" "$(dirname "${BASH_SOURCE[0]}")" <<'EOF'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from stress_util import fsync_dir
os.mkdir(os.path.join(mnt, "d"))
for i in range(n):
    with open(os.path.join(mnt, "d", "name%02d" % i), "wb") as f:
        f.write(b"x" * i)
fsync_dir(os.path.join(mnt, "d"))  # the names in d
fsync_dir(mnt)                     # d's own name
EOF
}
check_dir_fsync() {
  local i missing=()
  for ((i = 0; i < DIR_FILES; i++)); do
    [[ -e "$MNT/d/$(printf 'name%02d' "$i")" ]] || missing+=("$(printf 'name%02d' "$i")")
  done
  [[ ${#missing[@]} -eq 0 ]] ||
    soft_fail "$1: names created in d before fsync(d) are gone: ${missing[*]}"
}

act_inline_spill() {
  random_file "$DATA/head" 2000
  random_file "$DATA/tail" 10000
  random_file "$DATA/g" 3000
  dd if="$DATA/head" of="$MNT/f" conv=fsync status=none
  cat "$DATA/tail" >>"$MNT/f"
  dd if="$DATA/g" of="$MNT/g" conv=fsync status=none
}
check_inline_spill() {
  cmp -s -n 2000 "$DATA/head" "$MNT/f" ||
    soft_fail "$1: f's fsync'ed first 2000 bytes are gone after it spilled: f: $(describe "$MNT/f")"
  cmp -s "$DATA/g" "$MNT/g" || soft_fail "$1: g (fsync'ed) is $(describe "$MNT/g")"
}

act_dirsync() {
  local i
  for ((i = 0; i < DIR_FILES; i++)); do echo "$i" >"$MNT/$(printf 'n%02d' "$i")"; done
  mv "$MNT/n00" "$MNT/renamed"
}
check_dirsync() {
  local i missing=()
  for ((i = 1; i < DIR_FILES; i++)); do
    [[ -e "$MNT/$(printf 'n%02d' "$i")" ]] || missing+=("$(printf 'n%02d' "$i")")
  done
  [[ -e "$MNT/renamed" && ! -e "$MNT/n00" ]] || missing+=("the rename of n00")
  [[ ${#missing[@]} -eq 0 ]] ||
    soft_fail "$1: creates and a rename answered under dirsync are gone: ${missing[*]}"
}

act_hardlink() {
  dd if="$OLD" of="$MNT/f" bs=1M conv=fsync status=none
  ln "$MNT/f" "$MNT/g"
  python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$MNT"
  rm "$MNT/f"
  sleep 8
}
check_hardlink() {
  cmp -s "$OLD" "$MNT/g" ||
    soft_fail "$1: g, a synced hard link of an fsync'ed file whose other name was unlinked, is $(describe "$MNT/g")"
  [[ ! -e "$MNT/f" ]] || cmp -s "$OLD" "$MNT/f" ||
    soft_fail "$1: f (unlinked, the unlink lost) is $(describe "$MNT/f")"
}

act_tier_moves() {
  dd if="$OLD" of="$MNT/c" bs=1M conv=fsync status=none
  dd if="$NEW" of="$MNT/h" bs=1M conv=fsync status=none
  "$TIERFS" migrate --to cold "$MNT/c" "$MNT/h" >/dev/null
  "$TIERFS" migrate --to hot "$MNT/h" >/dev/null
  sleep 8
}
check_tier_moves() {
  cmp -s "$OLD" "$MNT/c" || soft_fail "$1: c (fsync'ed, demoted) is $(describe "$MNT/c")"
  cmp -s "$NEW" "$MNT/h" || soft_fail "$1: h (fsync'ed, demoted, promoted) is $(describe "$MNT/h")"
}

# Mount options per scenario (the default: none, so the defaults of
# docs/configuration.md).
opts_for() {
  case "$1" in
    inline_spill) echo inline_max=4K ;;
    dirsync) echo dirsync ;;
  esac
}

# ---- rounds -----------------------------------------------------------------------
for scenario in "${SCENARIOS[@]}"; do
  declare -F "act_$scenario" >/dev/null ||
    fail "unknown scenario '$scenario' (rename_over truncate unmount dir_fsync inline_spill dirsync hardlink tier_moves)"
done
for ((round = 1; round <= ROUNDS; round++)); do
  for scenario in "${SCENARIOS[@]}"; do
    label="$scenario round $round"
    read -r -a opts <<<"$(opts_for "$scenario")"
    new_disk
    mount_tierfs "${opts[@]}"
    "act_$scenario"
    snapshot_disk
    if recover "$label" "${opts[@]}"; then
      "check_$scenario" "$label"
      finish_round "$label"
    else
      detach_disk
    fi
  done
done
soft_done
