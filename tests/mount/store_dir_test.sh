#!/usr/bin/env bash
# `tierfs mount` refuses dangerous directories (issue #18, items 5 and 13),
# before anything is created or mounted: a non-empty directory that is not a
# store (naming what it found), a store that is the mountpoint or lies under
# it (also through a symlink), a mountpoint inside the store. Each refusal is
# checked for its exit code, its message, no mount, and the directories
# involved unchanged (names, modes, sizes, mtimes, contents). A store is
# still created in a new directory and in one holding only lost+found (the
# root of a fresh filesystem), and an existing store mounts with its data,
# after a remount. The `reserve` file never overwrites a file the store did
# not create.
source "$(dirname "$0")/lib.sh"

# normpath PATH — PATH made absolute and normal without touching the
# filesystem (a stat of a daemon mounted over its own store would hang).
normpath() { python3 -c 'import os, sys; print(os.path.abspath(sys.argv[1]))' "$1"; }

# mounted DIR — DIR is a mountpoint in the mount table.
mounted() {
  awk -v d="$(normpath "$1")" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# fingerprint DIR — names, types, modes, sizes, mtimes and sha256 of every
# file under DIR (or "(missing)").
fingerprint() {
  [[ -e "$1" ]] || { echo "(missing)"; return 0; }
  (
    cd "$1" || exit 1
    find . -printf '%y %m %s %T@ %p\n' | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  )
}

# undo_mount STORE MNT — after a mount that should have been refused: kill
# its daemon, abort its FUSE connection (a daemon mounted over its own store
# hangs in a request to itself and cannot exit), detach the mount.
undo_mount() {
  local mnt lock pid dev
  mnt=$(normpath "$2")
  lock="$(normpath "$1")/LOCK"
  for pid in $({ find /proc/[0-9]*/fd -maxdepth 1 -lname "$lock" 2>/dev/null || true; } | cut -d/ -f3 | sort -u); do
    kill -9 "$pid" 2>/dev/null || true
  done
  dev=$(awk -v d="$mnt" '$5 == d { split($3, a, ":"); print a[2] }' /proc/self/mountinfo | tail -n1)
  if [[ -n "$dev" ]]; then
    [[ -e /sys/fs/fuse/connections/$dev ]] || mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null || true
    echo 1 >"/sys/fs/fuse/connections/$dev/abort" 2>/dev/null || true
  fi
  umount -l -c "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
}

# refuse NAME REGEX STORE MNT [DIR...] — `tierfs mount STORE MNT` must exit
# non-zero with an error matching REGEX, mount nothing and leave STORE, MNT
# and every DIR as they were.
refuse() {
  local name=$1 regex=$2 store=$3 mnt=$4 rc=0 d
  shift 4
  local dirs=("$store" "$mnt" "$@") before=()
  for d in "${dirs[@]}"; do before+=("$(fingerprint "$d")"); done
  timeout 20 "$TIERFS" mount "$store" "$mnt" 2>"$TMP/refuse.err" || rc=$?
  if mounted "$mnt"; then
    undo_mount "$store" "$mnt"
    fail "$name: tierfs mount $store $mnt mounted (exit $rc); it must refuse"
  fi
  [[ $rc -ne 0 ]] || fail "$name: tierfs mount exited 0"
  [[ $rc -ne 124 ]] || fail "$name: tierfs mount hung (killed after 20 s)"
  grep -Eq "$regex" "$TMP/refuse.err" ||
    fail "$name: the error does not match /$regex/: $(cat "$TMP/refuse.err")"
  for i in "${!dirs[@]}"; do
    [[ "$(fingerprint "${dirs[$i]}")" == "${before[$i]}" ]] ||
      fail "$name: the refused mount changed ${dirs[$i]}"
  done
  log "$name: refused: $(cat "$TMP/refuse.err")"
}

# ---- a store is created in a new directory, and in one holding only lost+found
mkdir -p "$STORE/lost+found"
mount_tierfs
echo "data of the first mount" >"$MNT/f"
remount_tierfs
assert_eq "data of the first mount" "$(cat "$MNT/f")" "a file after a remount of the new store"
unmount_tierfs
NEW="$TMP/brand-new"
mkdir -p "$TMP/mnt2"
"$TIERFS" mount "$NEW" "$TMP/mnt2" || fail "mount of a store in a new directory failed"
echo new >"$TMP/mnt2/g"
"$TIERFS" umount "$TMP/mnt2"
[[ -f "$NEW/meta.db" ]] || fail "no meta.db in the store made in a new directory"

# ---- item 5: a non-empty directory that is not a store ----------------------
USERDIR="$TMP/userdir"
mkdir -p "$USERDIR/sub"
echo precious >"$USERDIR/x"
echo notes >"$USERDIR/notes.txt"
echo y >"$USERDIR/sub/y"
refuse "a non-empty directory that is not a store" \
  "not a tierfs store.*no meta\.db.*not empty.*found 'notes\.txt', 'sub', 'x'" "$USERDIR" "$MNT"
MANY="$TMP/many"
mkdir -p "$MANY"
for i in 1 2 3 4 5 6 7; do echo "$i" >"$MANY/file$i"; done
refuse "a directory of 7 files" "found 'file1', 'file2', 'file3', 'file4', 'file5' and 2 more" \
  "$MANY" "$MNT"
# A lone `reserve` is someone's file, not a store: nothing may overwrite it.
RESERVE_ONLY="$TMP/reserve-only"
mkdir -p "$RESERVE_ONLY"
echo "not a tierfs reserve" >"$RESERVE_ONLY/reserve"
refuse "a directory holding only a file named reserve" "not a tierfs store.*found 'reserve'" \
  "$RESERVE_ONLY" "$MNT"

# ---- item 13: the store and the mountpoint overlap ------------------------------
SAME="$TMP/same"
mkdir -p "$SAME"
refuse "store == mountpoint (empty directory)" "same directory" "$SAME" "$SAME"
refuse "store == mountpoint (an existing store)" "same directory" "$STORE" "$STORE"
refuse "store == mountpoint, written differently" "same directory" "$SAME/." "$SAME/../same/"
refuse "a new store inside the mountpoint" "store lies inside the mountpoint" "$MNT/store" "$MNT"
ln -s "$MNT" "$TMP/link-to-mnt"
refuse "a new store inside the mountpoint through a symlink" "store lies inside the mountpoint" \
  "$TMP/link-to-mnt/store" "$MNT"
refuse "a store that is the mountpoint through a symlink" "same directory" "$TMP/link-to-mnt" "$MNT"
mkdir "$STORE/mnt-inside"
refuse "a mountpoint inside the store" "mountpoint lies inside the store" "$STORE" "$STORE/mnt-inside"
rmdir "$STORE/mnt-inside"

# ---- the reserve file never overwrites a file the store did not create ----------
[[ "$(stat -c %s "$STORE/reserve")" == $((8 << 20)) ]] || fail "the store has no 8 MiB reserve"
rm "$STORE/reserve"
echo "someone's file named reserve" >"$STORE/reserve"
mount_tierfs
assert_eq "someone's file named reserve" "$(cat "$STORE/reserve")" "STORE/reserve while mounted"
remount_tierfs
assert_eq "data of the first mount" "$(cat "$MNT/f")" "a file of the existing store after a remount"
unmount_tierfs
assert_eq "someone's file named reserve" "$(cat "$STORE/reserve")" "STORE/reserve after unmount"
grep -q "reserve is .* bytes, not the 8 MiB reserve" "$STORE/tierfs.log" ||
  fail "the daemon did not log why it left STORE/reserve alone"
rm "$STORE/reserve"
mount_tierfs
[[ "$(stat -c %s "$STORE/reserve")" == $((8 << 20)) ]] ||
  fail "the reserve was not made again once the foreign file was gone"
assert_eq "data of the first mount" "$(cat "$MNT/f")" "a file of the existing store"
unmount_tierfs
