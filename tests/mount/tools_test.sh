#!/usr/bin/env bash
# Proves ordinary tools (tar, rsync, cp, find, du, stat, ln, mv, chmod, chown, touch, xattrs, truncate, df, >>, git, sqlite3) work on a tierfs mount with exact results.
source "$(dirname "$0")/lib.sh"
require_root

SRC_PARENT=/usr/include
SRC_NAME=linux                     # /usr/include/linux: ~800 entries, ~6 MiB
SRC="$SRC_PARENT/$SRC_NAME"
[[ -d "$SRC" ]] || fail "$SRC missing (install linux-libc-dev)"
NATIVE="$TMP/native"
mkdir -p "$NATIVE"

mount_tierfs

# ---- tar in and out -------------------------------------------------------
log "tar round trip"
mkdir "$MNT/tar"
tar -C "$SRC_PARENT" -cf - "$SRC_NAME" | tar -C "$MNT/tar" -xf -
diff -r "$SRC" "$MNT/tar/$SRC_NAME" || fail "tar into mount: tree differs"
mkdir "$TMP/tar_out"
tar -C "$MNT/tar" -cf - "$SRC_NAME" | tar -C "$TMP/tar_out" -xf -
diff -r "$SRC" "$TMP/tar_out/$SRC_NAME" || fail "tar out of mount: tree differs"

# ---- find / du --------------------------------------------------------------
assert_eq "$(cd "$SRC" && find . | LC_ALL=C sort | wc -l)" \
  "$(cd "$MNT/tar/$SRC_NAME" && find . | LC_ALL=C sort | wc -l)" "find | wc -l"
assert_eq "$(cd "$SRC" && find . -type f | LC_ALL=C sort)" \
  "$(cd "$MNT/tar/$SRC_NAME" && find . -type f | LC_ALL=C sort)" "find -type f listing"
du_kb=$(du -s "$MNT/tar" | cut -f1)
[[ "$du_kb" =~ ^[0-9]+$ && "$du_kb" -gt 0 ]] || fail "du -s on mount printed [$du_kb]"
du_apparent=$(du -s --apparent-size --block-size=1 "$MNT/tar/$SRC_NAME" | cut -f1)
src_apparent=$(du -s --apparent-size --block-size=1 "$SRC" | cut -f1)
# Directory apparent sizes are filesystem-specific; compare regular-file bytes only.
src_bytes=$(find "$SRC" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
mnt_bytes=$(find "$MNT/tar/$SRC_NAME" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
assert_eq "$src_bytes" "$mnt_bytes" "sum of file sizes"
log "du apparent: src=$src_apparent mnt=$du_apparent"

# ---- rsync round trip -----------------------------------------------------
log "rsync round trip"
rsync -a "$SRC/" "$MNT/rsync/"
diff -r "$SRC" "$MNT/rsync" || fail "rsync into mount: tree differs"
changes=$(rsync -ai --dry-run "$SRC/" "$MNT/rsync/")
assert_eq "" "$changes" "second rsync -a into mount should find nothing to do (mtimes/modes preserved)"
rsync -a "$MNT/rsync/" "$TMP/rsync_out/"
diff -r "$SRC" "$TMP/rsync_out" || fail "rsync out of mount: tree differs"
changes=$(rsync -ai --dry-run "$MNT/rsync/" "$TMP/rsync_out/")
assert_eq "" "$changes" "second rsync -a out of mount should find nothing to do"

# ---- sparse copy ----------------------------------------------------------
log "sparse cp"
truncate -s 64M "$NATIVE/sparse"
for off_kib in 0 1020 10240 40000 65532; do   # includes a write across a 1 MiB boundary
  head -c 8192 /dev/urandom | dd of="$NATIVE/sparse" bs=1K seek="$off_kib" conv=notrunc status=none
done
truncate -s 64M "$NATIVE/sparse"
cp --sparse=always "$NATIVE/sparse" "$MNT/sparse"
cmp "$NATIVE/sparse" "$MNT/sparse" || fail "sparse file content differs"
assert_eq 67108864 "$(stat -c %s "$MNT/sparse")" "sparse file size"
alloc=$(du --block-size=1 "$MNT/sparse" | cut -f1)
# 5 written extents: even at 4 MiB per allocated chunk that is <= 20 MiB.
[[ "$alloc" -lt $((24 * 1024 * 1024)) ]] || fail "sparse file allocates $alloc bytes (expected far less than 64M)"
log "sparse file allocated $alloc bytes"

# ---- stat, chmod, chown, touch ------------------------------------------
log "stat/chmod/chown/touch"
printf 'hello tierfs\n' >"$MNT/f"
chmod 644 "$MNT/f"
assert_eq "644 13 regular file" "$(stat -c '%a %s %F' "$MNT/f")" "stat -c mode/size/type"
chmod 640 "$MNT/f"
assert_eq 640 "$(stat -c %a "$MNT/f")" "chmod 640"
chmod 4755 "$MNT/f"
assert_eq 4755 "$(stat -c %a "$MNT/f")" "chmod 4755 (setuid bit kept by root chmod)"
chmod 640 "$MNT/f"
chown 1234:5678 "$MNT/f"
assert_eq "1234:5678" "$(stat -c %u:%g "$MNT/f")" "chown 1234:5678"
assert_eq 640 "$(stat -c %a "$MNT/f")" "mode after chown"
touch -d '2001-02-03 04:05:06' "$MNT/f" "$NATIVE/f"
assert_eq "$(stat -c %y "$NATIVE/f")" "$(stat -c %y "$MNT/f")" "touch -d mtime"
assert_eq "$(date -d '2001-02-03 04:05:06' +%s)" "$(stat -c %Y "$MNT/f")" "touch -d mtime (epoch)"
assert_eq "$(stat -c %X "$NATIVE/f")" "$(stat -c %X "$MNT/f")" "touch -d atime"
touch -m -d '2010-01-01 00:00:00.123456789' "$MNT/f"
assert_eq "2010-01-01 00:00:00.123456789" "$(stat -c %y "$MNT/f" | cut -d' ' -f1-2)" "nanosecond mtime"
mkdir "$MNT/emptydir"
assert_eq "directory" "$(stat -c %F "$MNT/emptydir")" "stat dir type"

# ---- hard link, symlink ---------------------------------------------------
log "ln / ln -s"
printf 'one\n' >"$MNT/h1"
ln "$MNT/h1" "$MNT/h2"
assert_eq "$(stat -c %i "$MNT/h1")" "$(stat -c %i "$MNT/h2")" "hard link inode"
assert_eq 2 "$(stat -c %h "$MNT/h1")" "hard link count"
printf 'two\n' >>"$MNT/h2"
assert_eq $'one\ntwo' "$(cat "$MNT/h1")" "write through one link visible through the other"
rm "$MNT/h2"
assert_eq 1 "$(stat -c %h "$MNT/h1")" "link count after rm"
ln -s h1 "$MNT/sym"
assert_eq h1 "$(readlink "$MNT/sym")" "readlink"
assert_eq "symbolic link" "$(stat -c %F "$MNT/sym")" "symlink type"
assert_eq $'one\ntwo' "$(cat "$MNT/sym")" "read through symlink"
ln -s /nonexistent/target "$MNT/dangling"
assert_eq /nonexistent/target "$(readlink "$MNT/dangling")" "dangling symlink target"

# ---- mv across directories -----------------------------------------------
log "mv"
mkdir -p "$MNT/a/deep" "$MNT/b"
head -c 300000 /dev/urandom >"$NATIVE/mvsrc"
cp "$NATIVE/mvsrc" "$MNT/a/deep/file"
ino=$(stat -c %i "$MNT/a/deep/file")
mv "$MNT/a/deep/file" "$MNT/b/moved"
[[ ! -e "$MNT/a/deep/file" ]] || fail "mv left the source behind"
cmp "$NATIVE/mvsrc" "$MNT/b/moved" || fail "mv changed content"
assert_eq "$ino" "$(stat -c %i "$MNT/b/moved")" "mv keeps inode"
mv "$MNT/a/deep" "$MNT/b/"
[[ -d "$MNT/b/deep" && ! -e "$MNT/a/deep" ]] || fail "mv of a directory across parents"
assert_eq "" "$(ls -A "$MNT/a")" "source dir empty after mv"

# ---- xattrs ----------------------------------------------------------------
log "xattrs"
setfattr -n user.k -v v "$MNT/f"
assert_eq v "$(getfattr --absolute-names --only-values -n user.k "$MNT/f")" "getfattr --absolute-names value"
setfattr -n user.bin -v 0x00ff10 "$MNT/f"
assert_eq 0x00ff10 "$(getfattr --absolute-names -e hex -n user.bin "$MNT/f" | sed -n 's/^user.bin=//p')" "binary xattr"
assert_eq $'user.bin\nuser.k' "$(getfattr --absolute-names -d -m '^user\.' "$MNT/f" | sed -n 's/=.*//p' | LC_ALL=C sort)" "xattr list"
setfattr -x user.k "$MNT/f"
if getfattr --absolute-names -n user.k "$MNT/f" >/dev/null 2>&1; then fail "user.k still present after setfattr -x"; fi
assert_eq user.bin "$(getfattr --absolute-names -d -m '^user\.' "$MNT/f" | sed -n 's/=.*//p')" "xattr list after removal"
setfattr -n user.d -v dirval "$MNT/b"
assert_eq dirval "$(getfattr --absolute-names --only-values -n user.d "$MNT/b")" "xattr on directory"

# ---- truncate ----------------------------------------------------------------
log "truncate"
head -c 100000 /dev/urandom >"$NATIVE/t"
cp "$NATIVE/t" "$MNT/t"
truncate -s 10000 "$NATIVE/t"; truncate -s 10000 "$MNT/t"
assert_eq 10000 "$(stat -c %s "$MNT/t")" "size after shrink"
cmp "$NATIVE/t" "$MNT/t" || fail "content after shrink"
truncate -s 5000000 "$NATIVE/t"; truncate -s 5000000 "$MNT/t"
assert_eq 5000000 "$(stat -c %s "$MNT/t")" "size after grow"
cmp "$NATIVE/t" "$MNT/t" || fail "content after grow"
cmp <(tail -c +10001 "$MNT/t") <(head -c 4990000 /dev/zero) || fail "grown part is not zeros"
: >"$MNT/t"
assert_eq 0 "$(stat -c %s "$MNT/t")" "O_TRUNC to zero"

# ---- df ----------------------------------------------------------------------
log "df"
read -r total _ avail < <(df -P -B1 "$MNT" | awk 'NR==2 {print $2, $3, $4}')
[[ "$total" -gt 0 && "$avail" -gt 0 ]] || fail "df shows total=$total avail=$avail"
[[ "$(stat -f -c %b "$MNT")" -gt 0 ]] || fail "statfs f_blocks is 0"

# ---- O_APPEND --------------------------------------------------------------
log "append"
echo first >>"$MNT/log"
echo second >>"$MNT/log"
assert_eq $'first\nsecond' "$(cat "$MNT/log")" "two >> appends"

# ---- git ---------------------------------------------------------------------
log "git"
export HOME="$TMP" GIT_CONFIG_NOSYSTEM=1
G=(git -c user.name=tierfs -c user.email=tierfs@example.invalid -c init.defaultBranch=main)
mkdir "$MNT/repo"
(
  cd "$MNT/repo"
  "${G[@]}" init -q
  cp -r "$SRC/netfilter" .
  echo "v1" >README
  "${G[@]}" add -A
  "${G[@]}" commit -q -m first
  echo "v2" >>README
  "${G[@]}" commit -q -am second
  "${G[@]}" gc -q
)
assert_eq 2 "$(git -C "$MNT/repo" log --oneline | wc -l)" "git log commit count"
assert_eq "second" "$(git -C "$MNT/repo" log -1 --format=%s)" "git log subject"
assert_eq "" "$(git -C "$MNT/repo" status --porcelain)" "git status clean"
git -C "$MNT/repo" fsck --full --strict 2>/dev/null || fail "git fsck on mount"
git clone -q "$MNT/repo" "$TMP/clone"
diff -r "$SRC/netfilter" "$TMP/clone/netfilter" || fail "git clone from mount differs"

# ---- sqlite3 -----------------------------------------------------------------
log "sqlite3"
for mode in delete wal; do
  db="$MNT/test_$mode.db"
  {
    echo "PRAGMA journal_mode=$mode;"
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad TEXT);"
    echo "BEGIN;"
    for i in $(seq 1 1000); do echo "INSERT INTO t(v, pad) VALUES ($i, hex(randomblob(64)));"; done
    echo "COMMIT;"
  } | sqlite3 "$db" >/dev/null
  assert_eq "1000|500500" "$(sqlite3 "$db" 'SELECT count(*), sum(v) FROM t;')" "sqlite ($mode) count|sum"
  assert_eq ok "$(sqlite3 "$db" 'PRAGMA integrity_check;')" "sqlite ($mode) integrity_check"
  sqlite3 "$db" "DELETE FROM t WHERE v % 2 = 0; VACUUM;"
  assert_eq "500|250000" "$(sqlite3 "$db" 'SELECT count(*), sum(v) FROM t;')" "sqlite ($mode) after delete+vacuum"
done

# ---- everything above survives a remount --------------------------------
log "remount"
remount_tierfs
diff -r "$SRC" "$MNT/tar/$SRC_NAME" || fail "tar tree differs after remount"
cmp "$NATIVE/sparse" "$MNT/sparse" || fail "sparse file differs after remount"
assert_eq "640 1234:5678" "$(stat -c '%a %u:%g' "$MNT/f")" "mode/owner after remount"
assert_eq user.bin "$(getfattr --absolute-names -d -m '^user\.' "$MNT/f" | sed -n 's/=.*//p')" "xattrs after remount"
assert_eq h1 "$(readlink "$MNT/sym")" "symlink after remount"
assert_eq 2 "$(git -C "$MNT/repo" log --oneline | wc -l)" "git log after remount"
assert_eq "500|250000" "$(sqlite3 "$MNT/test_wal.db" 'SELECT count(*), sum(v) FROM t;')" "sqlite after remount"
unmount_tierfs
