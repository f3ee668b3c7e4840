#!/usr/bin/env bash
# Mount test (root): S_ISUID/S_ISGID after a file is modified by a user who
# is not root and not in the file's group — write, truncate, fallocate
# (mode 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE), copy_file_range into it, and
# open(O_TRUNC), and as root chown and a write over security.capability —
# compared mode by mode with the same call on a native
# directory, for files with and without group-exec, then again after a
# remount with the caches dropped (the store's modes, not the kernel's).
source "$(dirname "$0")/lib.sh"
require_root
command -v setpriv >/dev/null || fail "setpriv (util-linux) is required"

chmod 0711 "$TMP"
USER_PY=""
for py in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3)"; do
  if [[ -x "$py" ]] && setpriv --reuid 65534 --regid 65534 --clear-groups -- "$py" -c pass 2>/dev/null; then
    USER_PY=$py
    break
  fi
done
[[ -n "$USER_PY" ]] || skip "no python3 that uid 65534 can run"

NATIVE="$TMP/native"
mkdir -p "$NATIVE"
chmod 0777 "$NATIVE"
mount_tierfs allow_other chunk_size=64K
chmod 0777 "$MNT"

OPS=(write truncate falloc keep_size punch zero copy otrunc)
MODES=(6666 6766 6776 6777 2666 4666)

# modify DIR OP FILE — runs OP on DIR/FILE as uid/gid 65534 (no groups).
modify() {
  setpriv --reuid 65534 --regid 65534 --clear-groups -- "$USER_PY" - "$1/$3" "$2" "$1/src" <<'EOF'
import ctypes, os, sys
path, op, src = sys.argv[1:]
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
KEEP, PUNCH, ZERO = 0x01, 0x02, 0x10
def falloc(mode, off, length):
    fd = os.open(path, os.O_WRONLY)
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    os.close(fd)
if op == "write":
    fd = os.open(path, os.O_WRONLY); os.pwrite(fd, b"w", 3); os.close(fd)
elif op == "truncate":
    os.truncate(path, 5)
elif op == "falloc":
    falloc(0, 0, 100000)
elif op == "keep_size":
    falloc(KEEP, 0, 100000)
elif op == "punch":
    falloc(PUNCH | KEEP, 0, 4096)
elif op == "zero":
    falloc(ZERO, 0, 4096)
elif op == "copy":
    s = os.open(src, os.O_RDONLY); d = os.open(path, os.O_WRONLY)
    os.copy_file_range(s, d, 100, 0, 0); os.close(s); os.close(d)
elif op == "otrunc":
    os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))
EOF
}

for dir in "$NATIVE" "$MNT"; do
  head -c 100 /dev/urandom >"$dir/src"
  chmod 0644 "$dir/src"
  for op in "${OPS[@]}"; do
    for m in "${MODES[@]}"; do
      f="f_${op}_$m"
      head -c 8192 /dev/zero >"$dir/$f"
      chmod "$m" "$dir/$f"
      modify "$dir" "$op" "$f" || fail "$op on $dir/$f (mode $m) failed"
    done
  done
done

# As root (CAP_FSETID): a chown clears S_ISUID, and S_ISGID of a
# group-executable file, whoever asks (with FUSE_HANDLE_KILLPRIV_V2 the
# daemon does it, not the kernel); a write drops security.capability.
CAP=0x0100000200200000000000000000000000000000  # v2 caps: cap_net_raw+ep
for dir in "$NATIVE" "$MNT"; do
  for m in "${MODES[@]}"; do
    f="f_chown_$m"
    head -c 8192 /dev/zero >"$dir/$f"
    chmod "$m" "$dir/$f"
    chown 65534:65534 "$dir/$f"
    f="f_capwrite_$m"
    head -c 8192 /dev/zero >"$dir/$f"
    chmod "$m" "$dir/$f"
    setfattr -n security.capability -v "$CAP" "$dir/$f"
    echo x >>"$dir/$f"
  done
done
OPS+=(chown capwrite)

compare() {
  local when=$1 bad=0 op m f want got
  for m in "${MODES[@]}"; do
    if getfattr -n security.capability "$MNT/f_capwrite_$m" >/dev/null 2>&1; then
      log "$when: security.capability survived a write on mode $m"
      bad=1
    fi
  done
  for op in "${OPS[@]}"; do
    for m in "${MODES[@]}"; do
      f="f_${op}_$m"
      want=$(stat -c %a "$NATIVE/$f")
      got=$(stat -c %a "$MNT/$f")
      if [[ "$want" != "$got" ]]; then
        log "$when: $op on mode $m: native leaves $want, tierfs $got"
        bad=1
      fi
    done
  done
  [[ $bad -eq 0 ]] || fail "$when: modes differ from native (above)"
}
compare "live mount"
unmount_tierfs
sync
echo 3 >/proc/sys/vm/drop_caches
mount_tierfs allow_other chunk_size=64K
compare "after a remount"
