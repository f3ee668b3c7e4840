#!/usr/bin/env bash
# Mount test (root): what a local user who is not root can do to an
# allow_other mount (issue 18, items 1, 2 and 4).
#  - The control xattrs check the caller: switching the mount read-only and
#    the whole-store status are root's; pin and migrate are the file's
#    owner's (or root's), even on a file anyone may write; where and explain
#    are anyone's who can read the file. Checked again after a remount: the
#    mount is writable and a refused pin did not stick.
#  - A punch hole or zero range over an exabyte-sized sparse file, and a
#    huge mode-0 fallocate, finish (or fail with ENOSPC) within seconds and
#    leave the data outside the range intact after a remount.
#  - The metrics textfile: a symlink planted at the temp name the daemon
#    once used, or at the final name, never makes it write the link's target.
source "$(dirname "$0")/lib.sh"
require_root
command -v setpriv >/dev/null || fail "setpriv (util-linux) is required"
command -v setfattr >/dev/null || _unavailable "setfattr not installed (package attr)"

chmod 0711 "$TMP"
as_user() { setpriv --reuid 65534 --regid 65534 --clear-groups -- "$@"; }
PROM_DIR="$TMP/textfile"
PROM="$PROM_DIR/tierfs.prom"
mkdir -p "$PROM_DIR"
# Symlinks a user could plant in a shared textfile directory: at the temp
# name the daemon used to open with O_CREAT|O_TRUNC, and at the final name.
echo precious >"$TMP/victim1"
echo precious >"$TMP/victim2"
ln -s "$TMP/victim1" "$PROM_DIR/.tierfs.prom.tmp"
ln -s "$TMP/victim2" "$PROM"

mount_tierfs allow_other chunk_size=64K metrics_file="$PROM" metrics_interval=1
chmod 0777 "$MNT"
MiB=$((1024 * 1024))

# ---- the control channel ---------------------------------------------------------
head -c $MiB /dev/urandom >"$MNT/roots"
chmod 0666 "$MNT/roots"  # anyone may write it: the kernel lets the setxattr through
as_user sh -c "head -c $MiB /dev/urandom >'$MNT/mine'"
# refused NAME VALUE FILE — a setxattr as the user that must fail with EPERM.
refused() {
  as_user setfattr -n "$1" -v "$2" "$3" 2>"$TMP/err" && fail "user could set $1=$2 on $3"
  grep -q "Operation not permitted" "$TMP/err" || fail "setfattr $1 on $3: expected EPERM, got $(cat "$TMP/err")"
}
refused user.tierfs.readonly 1 "$MNT/mine"
touch "$MNT/after-readonly-try" || fail "root cannot create a file after a user tried readonly"
refused user.tierfs.pin 1 "$MNT/roots"
refused user.tierfs.migrate cold "$MNT/roots"
as_user getfattr --only-values -n user.tierfs.status "$MNT/roots" >/dev/null 2>"$TMP/err" &&
  fail "user could read the whole store's status"
grep -q "Operation not permitted" "$TMP/err" || fail "status as user: expected EPERM, got $(cat "$TMP/err")"
as_user getfattr --only-values -n user.tierfs.where "$MNT/roots" >"$TMP/where.json" ||
  fail "user cannot ask where a file it can read is"
assert_eq 0 "$(json_get "$TMP/where.json" cold_bytes)" "cold bytes after a refused migrate"
as_user getfattr --only-values -n user.tierfs.explain "$MNT/roots" >/dev/null ||
  fail "user cannot explain a file it can read"
as_user setfattr -n user.tierfs.pin -v 1 "$MNT/mine" || fail "owner cannot pin its file"
as_user setfattr -n user.tierfs.migrate -v cold "$MNT/mine" || fail "owner cannot migrate its file"
"$TIERFS" status --json "$MNT" >"$TMP/status.json" || fail "root cannot read status"
assert_eq false "$(json_get "$TMP/status.json" read_only)" "read_only after the user's try"

# ---- ranges a user types --------------------------------------------------------
E=$((1 << 60))
head -c $MiB /dev/urandom >"$TMP/a"
head -c $MiB /dev/urandom >"$TMP/b"
as_user truncate -s $((4 * E)) "$MNT/sparse"
as_user dd if="$TMP/a" of="$MNT/sparse" bs=1M conv=notrunc status=none
as_user dd if="$TMP/b" of="$MNT/sparse" bs=1M seek=$((3 * E / MiB)) conv=notrunc status=none
as_user timeout -k 1 10 fallocate -p -o $MiB -l $((2 * E)) "$MNT/sparse" ||
  fail "punch hole over 2 EiB of a sparse file did not finish within 10 s (rc $?)"
if as_user timeout -k 1 10 fallocate -z -o $MiB -l $((2 * E)) "$MNT/sparse" 2>"$TMP/err"; then
  fail "zero range of 2 EiB succeeded"
fi
grep -q "No space left" "$TMP/err" || fail "zero range of 2 EiB: expected ENOSPC, got $(cat "$TMP/err")"
if as_user timeout -k 1 10 fallocate -o 0 -l $((2 * E)) "$MNT/huge" 2>"$TMP/err"; then
  fail "fallocate of 2 EiB succeeded"
fi
grep -q "No space left" "$TMP/err" || fail "fallocate of 2 EiB: expected ENOSPC, got $(cat "$TMP/err")"
cp "$TMP/b" "$MNT/whole"
truncate -s $((4 * E)) "$MNT/whole"
timeout -k 1 10 fallocate -p -o 0 -l $((4 * E)) "$MNT/whole" ||
  fail "punch hole over a whole 4 EiB file did not finish within 10 s"
timeout -k 1 10 fallocate -z -o 4096 -l 8192 "$MNT/sparse" || fail "a small zero range failed"
head -c 4096 "$TMP/a" >"$TMP/a.expected"
head -c 8192 /dev/zero >>"$TMP/a.expected"
tail -c +12289 "$TMP/a" >>"$TMP/a.expected"

# ---- after a remount ------------------------------------------------------------
remount_tierfs
assert_eq 4611686018427387904 "$(stat -c %s "$MNT/sparse")" "size of the sparse file after remount"
cmp "$TMP/a.expected" <(head -c $MiB "$MNT/sparse") || fail "data before the punched range changed"
cmp "$TMP/b" <(dd if="$MNT/sparse" bs=1M skip=$((3 * E / MiB)) count=1 status=none) ||
  fail "data after the punched range changed"
cmp <(head -c $MiB /dev/zero) <(head -c $MiB "$MNT/whole") || fail "the punched whole file is not zeros"
touch "$MNT/after-remount" || fail "root cannot create a file after remount"
getfattr --only-values -n user.tierfs.where "$MNT/roots" >"$TMP/where.json"
assert_eq false "$(json_get "$TMP/where.json" pinned)" "the user's refused pin after remount"
getfattr --only-values -n user.tierfs.where "$MNT/mine" >"$TMP/where.json"
assert_eq true "$(json_get "$TMP/where.json" pinned)" "the owner's pin after remount"

# ---- the metrics textfile ---------------------------------------------------------
unmount_tierfs
assert_eq precious "$(cat "$TMP/victim1")" "target of a symlink at the old temp name"
assert_eq precious "$(cat "$TMP/victim2")" "target of a symlink at the final name"
[[ -f "$PROM" && ! -L "$PROM" ]] || fail "$PROM is not a regular file after unmount"
grep -q '^tierfs_' "$PROM" || fail "$PROM holds no tierfs metrics"
leftover=$(find "$PROM_DIR" -name '.tierfs.tmp.*')
[[ -z "$leftover" ]] || fail "temp files left in the textfile directory: $leftover"
log "PASS"
