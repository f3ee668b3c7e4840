#!/usr/bin/env bash
# Permissions (issue #5), needs root. default_permissions is always on, so the
# kernel enforces modes: an unprivileged user (uid/gid 65534, no supplementary
# groups) cannot read/write/create/delete what the modes forbid, cannot
# chmod/chown files that are not theirs, cannot give files away, and cannot
# delete or rename other users' files in a sticky (1777) directory; without
# allow_other other users cannot even stat the mountpoint; a new store
# directory is created 0700 (and its tiers too).
source "$(dirname "$0")/../mount/lib.sh"
source "$(dirname "$0")/stress_lib.sh"
require_root
command -v setpriv >/dev/null || fail "setpriv (util-linux) is required"

# The temp dir must be traversable by the unprivileged users (the store stays 0700).
chmod 0711 "$TMP"
U1=65534 U2=65533

# as UID CMD... — runs CMD as UID (gid = UID, no supplementary groups).
as() {
  local uid=$1
  shift
  setpriv --reuid "$uid" --regid "$uid" --clear-groups -- "$@"
}
# A python3 the unprivileged users can run (pyenv shims under /root are not).
USER_PY=""
for py in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3)"; do
  if [[ -x "$py" ]] && as "$U1" "$py" -c pass 2>/dev/null; then USER_PY=$py; break; fi
done
[[ -n "$USER_PY" ]] || skip "no python3 that uid $U1 can run"

# expect_as ERRNO_NAME UID DESCRIPTION PYTHON_STATEMENTS — runs the python
# statements as UID and expects OSError with that errno ("OK" = success).
expect_as() {
  local want=$1 uid=$2 what=$3 code=$4 got
  got=$(as "$uid" "$USER_PY" -c "
import errno, os, sys
try:
    $code
    print('OK')
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
" 2>&1) || true
  expect_eq "$want" "$got" "uid $uid: $what"
}

# ---- a new store is private ---------------------------------------------------------
umask 022
mount_tierfs allow_other chunk_size=64K
expect_eq 700 "$(stat -c %a "$STORE")" "mode of a newly created store directory (umask 022)"
for d in hot cold; do
  [[ "$(stat -c %a "$STORE/$d")" == 700 ]] || soft_fail "mode of $STORE/$d is $(stat -c %a "$STORE/$d"), want 700"
done
log "store entries: $(cd "$STORE" && stat -c '%n=%a' -- * | tr '\n' ' ')"
expect_as EACCES "$U1" "listing the store directory" "os.listdir('$STORE')"
expect_as EACCES "$U1" "reading the store's meta.db" "open('$STORE/meta.db','rb').read(1)"

# ---- modes on files and directories ---------------------------------------------------
M=$MNT
chmod 0755 "$M"
echo secret >"$M/root600";   chmod 0600 "$M/root600"
echo public >"$M/root644";   chmod 0644 "$M/root644"
echo shared >"$M/root666";   chmod 0666 "$M/root666"
echo group >"$M/grp640";     chmod 0640 "$M/grp640"; chown 0:"$U1" "$M/grp640"
printf '#!/bin/sh\necho ran\n' >"$M/script644"; chmod 0644 "$M/script644"
mkdir "$M/rootdir";          chmod 0755 "$M/rootdir"
mkdir "$M/private";          chmod 0700 "$M/private"; echo x >"$M/private/inner"
mkdir "$M/sticky";           chmod 1777 "$M/sticky"
mkdir "$M/open";             chmod 0777 "$M/open"

expect_as EACCES "$U1" "read a 0600 root file"   "open('$M/root600','rb').read()"
expect_as EACCES "$U1" "write a 0600 root file"  "open('$M/root600','ab').write(b'x')"
expect_as OK     "$U1" "read a 0644 root file"   "open('$M/root644','rb').read()"
expect_as EACCES "$U1" "write a 0644 root file"  "open('$M/root644','ab').write(b'x')"
expect_as EACCES "$U1" "truncate a 0644 root file" "os.truncate('$M/root644', 0)"
expect_as OK     "$U1" "write a 0666 root file"  "open('$M/root666','ab').write(b'x')"
expect_as OK     "$U1" "read a 0640 file of its group" "open('$M/grp640','rb').read()"
expect_as EACCES "$U2" "read a 0640 file of another group" "open('$M/grp640','rb').read()"
expect_as EACCES "$U1" "execute a 0644 script"   "os.execv('$M/script644', ['x'])"
expect_as EACCES "$U1" "create in a 0755 root dir" "open('$M/rootdir/new','wb')"
expect_as EACCES "$U1" "mkdir in a 0755 root dir" "os.mkdir('$M/rootdir/d')"
expect_as EACCES "$U1" "delete from a 0755 dir"  "os.unlink('$M/root644')"
expect_as EACCES "$U1" "rename within a 0755 dir" "os.rename('$M/root644', '$M/x')"
expect_as EACCES "$U1" "list a 0700 root dir"    "os.listdir('$M/private')"
expect_as EACCES "$U1" "traverse a 0700 root dir" "os.stat('$M/private/inner')"
expect_as EPERM  "$U1" "chmod a root file"       "os.chmod('$M/root644', 0o666)"
expect_as EPERM  "$U1" "chown a root file to itself" "os.chown('$M/root644', $U1, $U1)"
expect_as EPERM  "$U1" "set times of a root file" "os.utime('$M/root644', (1, 1))"
expect_as EACCES "$U1" "setxattr user.* on a root 0644 file" "os.setxattr('$M/root644', 'user.x', b'1')"
if [[ "$(cat /proc/sys/fs/protected_hardlinks 2>/dev/null)" == 1 ]]; then
  expect_as EPERM "$U1" "hard link a root 0600 file into a 0777 dir (fs.protected_hardlinks=1)" \
    "os.link('$M/root600', '$M/open/ln')"
fi

# Own files: full control, but cannot give them away or join a foreign group.
expect_as OK    "$U1" "create in a 0777 dir"     "open('$M/open/mine','wb').write(b'mine')"
expect_as OK    "$U1" "chmod its own file"       "os.chmod('$M/open/mine', 0o600)"
expect_as EPERM "$U1" "chown its own file to root" "os.chown('$M/open/mine', 0, -1)"
expect_as EPERM "$U1" "chgrp its own file to a group it is not in" "os.chown('$M/open/mine', -1, 0)"
expect_as EACCES "$U2" "read another user's 0600 file" "open('$M/open/mine','rb').read()"
assert_eq "$U1 $U1 600" "$(stat -c '%u %g %a' "$M/open/mine")" "owner and mode of a file created by uid $U1"
# A write by an unprivileged user clears the setuid bit (as on any local filesystem).
as "$U1" sh -c "chmod 4755 '$M/open/mine' && echo more >>'$M/open/mine'"
[[ "$(stat -c %a "$M/open/mine")" == 755 ]] || soft_fail "setuid bit survived a write by the owner: mode $(stat -c %a "$M/open/mine")"

# ---- sticky directory ---------------------------------------------------------------------
as "$U1" sh -c "echo a >'$M/sticky/u1file'" || fail "uid $U1 cannot create in a 1777 dir"
echo r >"$M/sticky/rootfile"; chmod 0666 "$M/sticky/rootfile"
expect_as EPERM "$U2" "delete another user's file in a sticky dir" "os.unlink('$M/sticky/u1file')"
expect_as EPERM "$U2" "rename another user's file in a sticky dir" "os.rename('$M/sticky/u1file', '$M/sticky/stolen')"
expect_as EPERM "$U2" "replace another user's file in a sticky dir by rename" \
  "open('$M/sticky/u2file','wb').close(); os.rename('$M/sticky/u2file', '$M/sticky/u1file')"
expect_as EPERM "$U1" "delete root's 0666 file in a sticky dir" "os.unlink('$M/sticky/rootfile')"
expect_as OK    "$U2" "write (not delete) root's 0666 file in a sticky dir" "open('$M/sticky/rootfile','ab').write(b'x')"
expect_as OK    "$U1" "delete its own file in a sticky dir" "os.unlink('$M/sticky/u1file')"
[[ -e "$M/sticky/rootfile" ]] || soft_fail "root's file in the sticky dir is gone"

# Everything above survives a remount with the same owners and modes.
stat -c '%n %u %g %a' "$M"/* "$M"/open/* "$M"/sticky/* | sort >"$TMP/modes.before"
remount_tierfs
stat -c '%n %u %g %a' "$M"/* "$M"/open/* "$M"/sticky/* | sort >"$TMP/modes.after"
diff "$TMP/modes.before" "$TMP/modes.after" >&2 || soft_fail "owners/modes changed across a remount"
expect_as EACCES "$U1" "read a 0600 root file after remount" "open('$M/root600','rb').read()"
unmount_tierfs

# ---- without allow_other, other users are kept out entirely --------------------------------
mount_tierfs chunk_size=64K
expect_as EACCES "$U1" "stat the mountpoint without allow_other" "os.stat('$M')"
expect_as EACCES "$U1" "read a 0644 file without allow_other" "open('$M/root644','rb').read()"
expect_as EACCES "$U1" "list the mount without allow_other" "os.listdir('$M')"
assert_eq public "$(cat "$M/root644")" "root still reads its mount"
unmount_tierfs
soft_done
