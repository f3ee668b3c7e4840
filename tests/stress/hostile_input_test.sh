#!/usr/bin/env bash
# Hostile input (issue #5): a damaged or foreign meta.db, bad mountpoints, a
# store or mountpoint already in use, and every malformed -o option must each
# give ONE line on stderr naming the problem, a non-zero exit, no mount, no
# daemon left behind, and leave the store byte for byte unchanged (checksums
# of every file under STORE; tierfs.log excepted, where a daemon may log the
# refusal).
source "$(dirname "$0")/../mount/lib.sh"
source "$(dirname "$0")/stress_lib.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 (CLI) is required"

MNT2="$TMP/mnt2"
STORE_B="$TMP/store_b"
PRISTINE="$TMP/pristine"
mkdir -p "$MNT2"
on_exit 'lazy_unmount "$MNT2"'

# ---- a store with some content, kept as a pristine copy -------------------------
mount_tierfs chunk_size=64K cold_after=3600
mkdir -p "$MNT/dir"
for i in $(seq 1 150); do echo "file $i" >"$MNT/dir/f$i"; done
head -c 300000 /dev/urandom >"$MNT/big"
"$TIERFS" migrate --to cold "$MNT/big"
unmount_tierfs
"$TIERFS" fsck "$STORE" >/dev/null || fail "fsck of the fresh store"
cp -a "$STORE" "$PRISTINE"
restore() {
  rm -rf "$STORE"
  cp -a "$PRISTINE" "$STORE"
}

# refuse NAME REGEX MOUNTPOINT [MOUNT ARGS...] — runs `tierfs mount STORE
# MOUNTPOINT ARGS...` and checks the refusal: exit != 0, exactly one stderr
# line, starting "tierfs: " and matching REGEX (case-insensitive, ERE); nothing
# mounted at MOUNTPOINT, the store unchanged, no process holding its lock.
CASES=0
refuse() {
  local name=$1 regex=$2 mp=$3 rc=0 before after lines msg
  shift 3
  # KNOWN_FP: the store's fingerprint, when the caller knows it (saves a scan).
  before=${KNOWN_FP:-$(store_checksums "$STORE" tierfs.log)}
  timeout "$MOUNT_TIMEOUT" "$TIERFS" mount "$STORE" "$mp" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  msg=$(cat "$TMP/err")
  lines=$(grep -c . "$TMP/err" || true)
  log "$name: exit $rc: $msg"
  if [[ $rc -eq 0 ]]; then
    soft_fail "$name: tierfs mount exited 0 and mounted the store (should refuse)"
    [[ -d "$mp" ]] && fusermount3 -u "$mp"
    wait_for 20 "the daemon to release the lock" _store_lock_free
  else
    [[ $rc -eq 124 ]] && soft_fail "$name: tierfs mount hung (timeout ${MOUNT_TIMEOUT}s)"
    [[ -s "$TMP/out" ]] && soft_fail "$name: wrote to stdout: $(cat "$TMP/out")"
    [[ "$lines" == 1 ]] || soft_fail "$name: expected one line on stderr, got $lines: [$msg]"
    [[ "$msg" == "tierfs: "* ]] || soft_fail "$name: stderr does not start with 'tierfs: ': [$msg]"
    grep -qiE -- "$regex" "$TMP/err" || soft_fail "$name: stderr does not name the problem (/$regex/): [$msg]"
  fi
  if [[ -d "$mp" && "${EXPECT_MOUNTED:-}" != "$mp" ]] && is_mounted "$mp"; then
    soft_fail "$name: $mp is mounted after the refusal"
    lazy_unmount "$mp"
  fi
  if [[ -z "${EXPECT_LOCKED:-}" ]] && ! _store_lock_free; then
    soft_fail "$name: a process still holds $STORE/LOCK after the refusal"
  fi
  after=$(store_checksums "$STORE" tierfs.log)
  [[ -n "${KNOWN_FP:-}" ]] && KNOWN_FP=$after
  if [[ "$before" != "$after" ]]; then
    soft_fail "$name: the store changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -n 6 | tr '\n' ' ')"
  fi
  CASES=$((CASES + 1))
}

# ---- meta.db ------------------------------------------------------------------------
DB="$STORE/meta.db"
dbsize=$(stat -c %s "$PRISTINE/meta.db")
log "meta.db is $dbsize bytes"
[[ $dbsize -ge 16384 ]] || fail "expected a multi-page meta.db, got $dbsize bytes"

truncate -s $((dbsize / 2)) "$DB"
refuse "meta.db truncated to half" 'meta\.db.*(truncat|short|size|damaged|corrupt|malformed)' "$MNT"
restore
truncate -s 50 "$DB"
refuse "meta.db truncated inside the header" 'meta\.db' "$MNT"
restore
head -c "$dbsize" /dev/urandom >"$DB"
refuse "garbage meta.db" 'meta\.db' "$MNT"
restore
# meta.db lost while hot/ and cold/ still hold objects: a fresh namespace would
# hand out inode numbers 2, 3, ... again, and new files would show the old
# files' objects. Refuse (naming meta.db) rather than mount that.
: >"$DB"
rm -f "$DB-wal" "$DB-shm"
refuse "empty meta.db while objects exist" 'meta\.db' "$MNT"
restore
sqlite3 "$DB" "SELECT value FROM meta WHERE key='schema_version'" | grep -qx 2 || fail "schema_version is not 2 in the pristine store"
sqlite3 "$DB" "UPDATE meta SET value='99' WHERE key='schema_version'"
refuse "schema_version 99" 'version.*99|99.*version' "$MNT"
restore
sqlite3 "$DB" "DROP TABLE xattrs"
refuse "meta.db without the xattrs table" 'meta\.db|xattrs|schema|table' "$MNT"
restore
rm -f "$DB" "$DB-wal" "$DB-shm"
refuse "meta.db missing while objects exist" 'meta\.db' "$MNT"
restore

# ---- mountpoints ---------------------------------------------------------------------
echo x >"$TMP/plainfile"
refuse "mountpoint is a regular file" 'not a directory' "$TMP/plainfile"
refuse "mountpoint missing" 'no such file|does not exist|missing' "$TMP/nonexistent"
# A mountpoint that is already a tierfs mount (of another store).
"$TIERFS" mount "$STORE_B" "$MNT2" || fail "mounting the second store"
echo b >"$MNT2/b"
EXPECT_MOUNTED="$MNT2" refuse "mountpoint busy (another tierfs mounted there)" 'busy|already|mounted' "$MNT2"
assert_eq b "$(cat "$MNT2/b")" "the tierfs already mounted at the busy mountpoint still works"
[[ "$(grep -c " $MNT2 " /proc/self/mountinfo)" == 1 ]] || soft_fail "more than one mount stacked at $MNT2"
fusermount3 -u "$MNT2"
_store_lock_free_b() { flock -n "$STORE_B/LOCK" true; }
wait_for 20 "store_b daemon to exit" _store_lock_free_b
# The same store mounted twice.
mount_tierfs chunk_size=64K cold_after=3600
before_mounted=$(cat "$MNT/dir/f1")
# That read moved f1's atime (relatime), which the daemon writes back within
# 200 ms: make it land now, or it lands inside the snapshot window below.
sync "$MNT/dir/f1"
EXPECT_LOCKED=1 refuse "store already mounted elsewhere" 'in use|lock|already|busy' "$MNT2"
assert_eq "$before_mounted" "$(cat "$MNT/dir/f1")" "the first mount still works"
unmount_tierfs

# ---- malformed options ------------------------------------------------------------------
# Nothing touches the store between these cases: fingerprint it once.
KNOWN_FP=$(store_checksums "$STORE" tierfs.log)
opt_case() {  # opt_case OPTION REGEX
  refuse "-o $1" "$2" "$MNT" -o "$1"
  # A store that does not exist yet must not be created by a refused mount.
  local fresh="$TMP/fresh-store" rc=0
  "$TIERFS" mount "$fresh" "$MNT" -o "$1" >/dev/null 2>&1 || rc=$?
  [[ $rc -ne 0 ]] || { soft_fail "-o $1 on a new store: exit 0"; lazy_unmount "$MNT"; }
  [[ ! -e "$fresh" ]] || { soft_fail "-o $1: a refused mount created the store $fresh"; rm -rf "$fresh"; }
}
opt_case bogus 'bogus'
opt_case bogus_opt=1 'bogus_opt'
opt_case cold_after=abc 'cold_after'
opt_case cold_after=-5 'cold_after'
opt_case hot_capacity=12Q 'hot_capacity'
opt_case hot_high=0 'hot_high'
opt_case hot_high=101 'hot_high'
opt_case hot_low=80,hot_high=60 'hot_low|hot_high'
opt_case compress=zstd:99 'compress|zstd'
opt_case compress=lz4 'compress|lz4'
opt_case chunk_size=3000 'chunk_size'
opt_case chunk_size=128M 'chunk_size'
opt_case log_level=loud 'log_level'
opt_case buffer_pool=lots 'buffer_pool'
opt_case promote_reads=x 'promote_reads'
refuse "chunk_size change on an existing 64K store" 'chunk_size|chunk size' "$MNT" -o chunk_size=1M
# -o with nothing after it, and an unknown flag.
refuse "-o without a value" '-o' "$MNT" -o
refuse "unknown flag" '--frobnicate|unknown flag' "$MNT" --frobnicate

KNOWN_FP=""
log "$CASES refusal cases checked"
# Finally the pristine store still mounts and reads.
mount_tierfs chunk_size=64K
assert_eq "file 7" "$(cat "$MNT/dir/f7")" "content after all refusals"
assert_eq 300000 "$(stat -c %s "$MNT/big")" "big file size after all refusals"
unmount_tierfs
soft_done
