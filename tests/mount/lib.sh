# shellcheck shell=bash
# tests/mount/lib.sh — shared harness for the mount tests (source it; do not run it).
#
# Provides: $TIERFS $TMP $STORE $MNT, mount_tierfs, unmount_tierfs,
# remount_tierfs, fail, assert_eq, json_get, wait_for, tfs (runs $TIERFS), an EXIT trap
# that unmounts and cleans up.  Exit 77 = skipped (no /dev/fuse outside CI).

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TEST_NAME="$(basename "${BASH_SOURCE[1]:-$0}" .sh)"
TIERFS="${TIERFS:-$REPO_ROOT/build/bin/tierfs}"
MOUNT_TIMEOUT="${MOUNT_TIMEOUT:-30}"

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }

fail() {
  printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
  exit 1
}

skip() {
  printf '[%s] SKIP: %s\n' "$TEST_NAME" "$*" >&2
  exit 77
}

# assert_eq EXPECTED ACTUAL MESSAGE
assert_eq() {
  [[ "$1" == "$2" ]] || fail "$3: expected [$1], got [$2]"
}

# json_get FILE KEY — prints the value of top-level KEY of the JSON object in
# FILE (booleans as true/false, numbers as integers when integral).
json_get() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    doc = json.load(f)
if sys.argv[2] not in doc:
    sys.exit("json_get: key %r missing in %s: %s" % (sys.argv[2], sys.argv[1], doc))
v = doc[sys.argv[2]]
print(json.dumps(v) if isinstance(v, (bool, dict, list)) or v is None else v)
EOF
}

# wait_for SECONDS DESCRIPTION COMMAND... — poll every 0.1 s until COMMAND succeeds.
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  fail "timed out after ${secs}s waiting for: $what"
}

# require_root — for tests that chown or switch users (skip otherwise).
require_root() {
  [[ "$(id -u)" -eq 0 ]] || skip "needs root (chown / setpriv)"
}

# ---- preconditions ---------------------------------------------------------
_unavailable() {
  if [[ "${CI:-}" == "true" ]]; then
    printf '[%s] ERROR (CI=true, not skipping): %s\n' "$TEST_NAME" "$*" >&2
    exit 1
  fi
  skip "$*"
}
[[ -c /dev/fuse ]] || _unavailable "/dev/fuse is missing"
command -v fusermount3 >/dev/null || _unavailable "fusermount3 not installed (package fuse3)"
command -v python3 >/dev/null || fail "python3 is required"
[[ -x "$TIERFS" ]] || fail "tierfs binary not found or not executable: $TIERFS (set TIERFS=...)"

# ---- temp dir, store, mountpoint -------------------------------------------
TMP="$(mktemp -d /tmp/tierfs-mount-test.XXXXXX)"
STORE="$TMP/store"
MNT="$TMP/mnt"
mkdir -p "$MNT"
MOUNT_OPTS=""

tfs() { "$TIERFS" "$@"; }

# mount_tierfs [OPT...] — mounts $STORE (created on first use) at $MNT.
# Each argument is one -o option (e.g. cold_after=1 compress=zstd:3); they are
# joined with commas.  Remembers them for remount_tierfs.
mount_tierfs() {
  MOUNT_OPTS="$(IFS=,; echo "$*")"
  local args=(mount "$STORE" "$MNT")
  if [[ -n "$MOUNT_OPTS" ]]; then args+=(-o "$MOUNT_OPTS"); fi
  log "tierfs ${args[*]}"
  local rc=0
  timeout "$MOUNT_TIMEOUT" "$TIERFS" "${args[@]}" || rc=$?
  [[ $rc -eq 0 ]] || fail "tierfs mount exited $rc (opts: ${MOUNT_OPTS:-none})"
  mountpoint -q "$MNT" || fail "tierfs mount returned 0 but $MNT is not a mountpoint"
}

# _store_lock_free — true when no process holds $STORE/LOCK.
_store_lock_free() {
  [[ ! -e "$STORE/LOCK" ]] || flock -n "$STORE/LOCK" true
}

# unmount_tierfs — tierfs umount (which returns once the daemon has exited),
# retried while the mount is busy; then check the store lock is free.
unmount_tierfs() {
  local _i
  sync
  for _i in $(seq 1 50); do
    "$TIERFS" umount "$MNT" 2>"$TMP/umount.err" && break
    mountpoint -q "$MNT" || break
    sleep 0.2
  done
  mountpoint -q "$MNT" && fail "could not unmount $MNT: $(cat "$TMP/umount.err")"
  for _i in $(seq 1 200); do
    _store_lock_free && return 0
    sleep 0.1
  done
  fail "daemon did not release $STORE/LOCK within 20 s of unmount"
}

# remount_tierfs [OPT...] — unmount, drop the page, dentry and inode caches
# (as root), then mount the same store again (same options as last time
# unless new ones are given): what is read next comes from the store.
remount_tierfs() {
  local opts=("$@")
  if [[ ${#opts[@]} -eq 0 && -n "$MOUNT_OPTS" ]]; then
    IFS=, read -r -a opts <<<"$MOUNT_OPTS"
  fi
  unmount_tierfs
  [[ "$(id -u)" -ne 0 ]] || echo 3 >/proc/sys/vm/drop_caches
  mount_tierfs "${opts[@]}"
}

# compare_trees EXPECTED ACTUAL — fails unless both trees have the same
# names, types, sizes, permission modes, link counts, symlink targets,
# user.* xattrs and file contents (times and owners are not compared).
compare_trees() {
  python3 - "$1" "$2" <<'PYEOF' || fail "trees differ: $1 vs $2 (above)"
import os, stat, sys
def walk(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            rec = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_nlink]
            if stat.S_ISREG(st.st_mode):
                rec += [st.st_size, open(full, "rb").read()]
            elif stat.S_ISLNK(st.st_mode):
                rec.append(os.readlink(full))
            if not stat.S_ISLNK(st.st_mode):
                rec.append(sorted((x, os.getxattr(full, x)) for x in os.listxattr(full)
                                  if x.startswith("user.")))
            out[os.path.relpath(full, root)] = rec
    return out
a, b = walk(sys.argv[1]), walk(sys.argv[2])
bad = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
for k in bad[:20]:
    print("  %s: %r vs %r" % (k, str(a.get(k))[:120], str(b.get(k))[:120]), file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
}

_cleanup() {
  local rc=$?
  set +e
  cd /
  if mountpoint -q "$MNT" 2>/dev/null; then
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
    local _i
    for _i in $(seq 1 100); do
      _store_lock_free && break
      sleep 0.1
    done
  fi
  if [[ -n "${KEEP_TMP:-}" ]]; then
    log "keeping $TMP"
  else
    rm -rf "$TMP"
  fi
  [[ $rc -eq 0 ]] && log "PASS"
  exit $rc
}
trap _cleanup EXIT
