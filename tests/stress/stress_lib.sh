# shellcheck shell=bash
# tests/stress/stress_lib.sh — extra helpers for the stress/reliability tests.
# Source it AFTER tests/mount/lib.sh (which provides $TIERFS $TMP $STORE $MNT,
# mount_tierfs, unmount_tierfs, fail, log, skip, assert_eq and the EXIT trap):
#
#   source "$(dirname "$0")/../mount/lib.sh"
#   source "$(dirname "$0")/stress_lib.sh"
#
# Adds: STRESS_LONG (1 with TIERFS_STRESS_LONG=1 or --long), on_exit (cleanup
# hooks run LIFO before lib.sh's cleanup), track_pid, is_mounted, daemon_pid,
# crash_daemon, crash_during_workload, lazy_unmount, store_tmp_files, store_checksums,
# object_files_of, run_fsck, fsck_until_clean, wait_for.

STRESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# python3 may be a version-manager shim (pyenv) that costs a second per start
# on a busy machine; put the real interpreter first in PATH for this test.
_py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
if [[ -n "$_py" && -x "$_py" && "$_py" != "$(command -v python3)" ]]; then
  mkdir -p "$TMP/bin"
  ln -sf "$_py" "$TMP/bin/python3"
  PATH="$TMP/bin:$PATH"
fi
unset _py

STRESS_LONG=0
if [[ "${TIERFS_STRESS_LONG:-0}" == 1 ]]; then STRESS_LONG=1; fi
for _a in "$@"; do [[ "$_a" == --long ]] && STRESS_LONG=1; done
unset _a

# ---- cleanup hooks ------------------------------------------------------------
# on_exit CMD — run CMD (eval'ed, stdout to stderr) at exit, before lib.sh
# unmounts $MNT and removes $TMP; hooks run last-registered first.
_STRESS_HOOKS=()
_STRESS_PIDS=()
on_exit() { _STRESS_HOOKS+=("$1"); }

# track_pid PID — a background process of ours to kill (SIGKILL) at exit.
track_pid() { _STRESS_PIDS+=("$1"); }

_stress_cleanup() {
  local rc=$? i
  set +e
  for pid in "${_STRESS_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null
  done
  for ((i = ${#_STRESS_HOOKS[@]} - 1; i >= 0; i--)); do
    eval "${_STRESS_HOOKS[$i]}" 1>&2
  done
  (exit "$rc")
  _cleanup
}
trap _stress_cleanup EXIT

# ---- mounts and daemons ----------------------------------------------------------
# is_mounted DIR — DIR is a mountpoint in the mount table (works for a dead FUSE
# mount too, where stat fails with ENOTCONN).
is_mounted() {
  local d
  d="$(realpath -m "$1")"
  awk -v d="$d" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# lazy_unmount DIR — detach a (possibly dead) FUSE mount.
lazy_unmount() {
  is_mounted "$1" || return 0
  fusermount3 -u -z "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
  if is_mounted "$1"; then fail "could not detach $1"; fi
  return 0
}

# daemon_pid [STORE] — the pid of the process holding STORE/LOCK open (the
# daemon serving STORE), or nothing.
daemon_pid() {
  local lock
  lock="$(realpath -m "${1:-$STORE}")/LOCK"
  { find /proc/[0-9]*/fd -maxdepth 1 -lname "$lock" 2>/dev/null || true; } | head -n1 | cut -d/ -f3
}

# _pid_gone PID — the process has exited (a zombie counts as gone).
_pid_gone() {
  local st
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
  [[ -z "$st" || "$st" == Z || "$st" == X ]]
}

# crash_daemon [STORE] [MNT] — SIGKILL the daemon of STORE (a power cut as far
# as tierfs is concerned), wait for it to die, detach the dead mount.
crash_daemon() {
  local store=${1:-$STORE} mnt=${2:-$MNT} pid
  pid="$(daemon_pid "$store")"
  [[ -n "$pid" ]] || fail "no daemon holds $store/LOCK (did it die by itself?)"
  kill -9 "$pid"
  wait_for 10 "daemon $pid to die after SIGKILL" _pid_gone "$pid"
  lazy_unmount "$mnt"
}

# crash_during_workload DPID MANIFEST DELAY ERRFILE LABEL — the crash of a
# round. DPID is a workload driver this shell started in the background; it
# logs to MANIFEST (first line: the workload runs) and exits 0 once the mount
# is gone. Waits for that first line, sleeps DELAY seconds, SIGKILLs the
# daemon, waits until it has released the store lock (its files are closed
# and the FUSE connection aborted before it is reaped) and until the driver
# has seen the dead mount and exited — the dead mount stays attached until
# then, so the driver sees ENOTCONN, never the directory under it — then
# detaches the mount. Fails (showing ERRFILE, the driver's stderr) if the
# driver stopped before the crash or exited non-zero.
crash_during_workload() {
  local dpid=$1 manifest=$2 delay=$3 err=$4 label=$5 pid drc=0
  wait_for 60 "the workload to start" _workload_started "$manifest" "$dpid"
  sleep "$delay"
  if ! kill -0 "$dpid" 2>/dev/null; then
    wait "$dpid" || drc=$?
    cat "$err" >&2
    fail "$label: the workload stopped by itself before the crash (exit $drc)"
  fi
  pid=$(daemon_pid)
  [[ -n "$pid" ]] || fail "$label: no daemon holds $STORE/LOCK (did it die by itself?)"
  kill -9 "$pid"
  wait_for 20 "daemon $pid to die after SIGKILL" _store_lock_free
  wait_for 60 "the workload to stop after the crash" _pid_gone "$dpid"
  wait "$dpid" || drc=$?
  lazy_unmount "$MNT"
  if [[ $drc -ne 0 ]]; then
    cat "$err" >&2
    fail "$label: the workload failed with an unexpected error (exit $drc)"
  fi
}
_workload_started() { [[ -s "$1" ]] || ! kill -0 "$2" 2>/dev/null; }

# quick_unmount — unmount_tierfs without lib.sh's global sync (FUSE unmount
# flushes tierfs itself; a global sync waits for every other disk user too).
quick_unmount() {
  local i
  for i in $(seq 1 50); do
    fusermount3 -u "$MNT" 2>/dev/null && break
    is_mounted "$MNT" || break
    sleep 0.2
  done
  if is_mounted "$MNT"; then fail "could not unmount $MNT (busy?)"; fi
  wait_for 20 "the daemon to release $STORE/LOCK after unmount" _store_lock_free
}

# ---- the store on disk -----------------------------------------------------------
# store_tmp_files [STORE] — lists leftover *.tmp.* files of interrupted tier moves.
store_tmp_files() {
  local s=${1:-$STORE}
  find "$s/hot" "$s/cold" -name '*.tmp.*' 2>/dev/null || true
}

# store_checksums DIR [EXCLUDE_NAME...] — a fingerprint of everything under DIR:
# "type mode size mtime path" of every entry (directories without mtime: a
# SQLite reader may create and remove its -shm/-wal files) plus the sha256 of
# every regular file, sorted; top-level EXCLUDE_NAMEs are skipped.
store_checksums() {
  local dir=$1 prune=() n
  shift
  [[ -e "$dir" ]] || { echo "(missing)"; return 0; }
  for n in "$@"; do prune+=(-path "./$n" -prune -o); done
  (
    cd "$dir" || exit 1
    find . "${prune[@]}" -type d -printf '%y %m %p\n' -o -printf '%y %m %s %T@ %p\n' | LC_ALL=C sort
    find . "${prune[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  )
}

# object_files_of INO [STORE] — every object file (hot and cold) of inode INO.
object_files_of() {
  local hex
  hex=$(printf '%016x' "$1")
  find "${2:-$STORE}/hot" "${2:-$STORE}/cold" -name "$hex.*" ! -name '*.tmp.*' 2>/dev/null | sort
}

# object_file INO CHUNK TIER [STORE] — the path of one object file (must exist).
object_file() {
  local name f
  name="$(printf '%016x.%016x' "$1" "$2")"
  f=$(find "${4:-$STORE}/$3" -name "$name" 2>/dev/null | head -n1)
  [[ -n "$f" ]] || fail "no $3 object $name for inode $1 chunk $2 in ${4:-$STORE}/$3"
  echo "$f"
}

# run_fsck OUTFILE ARGS... — runs tierfs fsck ARGS, output to OUTFILE, prints the exit code.
run_fsck() {
  local out=$1 rc=0
  shift
  timeout 600 "$TIERFS" fsck "$@" >"$out" 2>&1 || rc=$?
  echo "$rc"
}

# fsck_until_clean LABEL — fsck the unmounted $STORE; 1 -> --repair, which must
# leave it clean (exit 0 on a second plain fsck). Prints what it found.
fsck_until_clean() {
  local rc rc2 rc3 found
  rc=$(run_fsck "$TMP/fsck.json" "$STORE" --json)
  case "$rc" in
    0) echo "clean"; return 0 ;;
    1) ;;
    *) cat "$TMP/fsck.json" >&2; fail "$1: fsck could not run (exit $rc)" ;;
  esac
  found=$({ grep -o '"kind":"[a-z_]*"' "$TMP/fsck.json" || true; } | cut -d'"' -f4 | sort | uniq -c |
    awk '{ printf "%s%s=%d", (NR > 1 ? "," : ""), $2, $1 }')
  rc2=$(run_fsck "$TMP/fsck-repair.txt" "$STORE" --repair)
  rc3=$(run_fsck "$TMP/fsck-after.txt" "$STORE")
  if [[ "$rc2" != 0 || "$rc3" != 0 ]]; then
    cat "$TMP/fsck.json" "$TMP/fsck-repair.txt" "$TMP/fsck-after.txt" >&2
    fail "$1: fsck found [$found]; fsck --repair exited $rc2, fsck after repair exited $rc3 (want 0, 0)"
  fi
  echo "repaired:$found"
}

# ---- soft assertions ----------------------------------------------------------------
# expect COND_DESCRIPTION COMMAND... — runs COMMAND; on failure records
# "FAIL: COND_DESCRIPTION" and goes on, so one run reports every broken
# guarantee. expect_eq EXPECTED ACTUAL MESSAGE — the same for equality.
# soft_done — fails the test if anything was recorded.
_SOFT_FAILS=()
soft_fail() {
  printf '[%s] FAIL (continuing): %s\n' "$TEST_NAME" "$*" >&2
  _SOFT_FAILS+=("$*")
}
expect_eq() {
  [[ "$1" == "$2" ]] || soft_fail "$3: expected [$1], got [$2]"
}
soft_done() {
  if [[ ${#_SOFT_FAILS[@]} -gt 0 ]]; then
    local f
    printf '[%s] %d failed check(s):\n' "$TEST_NAME" "${#_SOFT_FAILS[@]}" >&2
    for f in "${_SOFT_FAILS[@]}"; do printf '    %s\n' "$f" >&2; done
    fail "${#_SOFT_FAILS[@]} check(s) failed (listed above)"
  fi
}
