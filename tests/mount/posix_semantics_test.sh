#!/usr/bin/env bash
# Proves POSIX semantics users rely on: open-unlinked files, rename over open files, renameat2 flags, hard links across remount, nlink, mtimes, setgid, ownership, permissions, umask.
source "$(dirname "$0")/lib.sh"
require_root

NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)
chmod 755 "$TMP"                       # so uid 65534 can reach $MNT
mount_tierfs allow_other

# ---- file-descriptor / namespace semantics, checked with exact errno ----------
log "python checks"
python3 - "$MNT" <<'EOF'
import ctypes, errno, os, stat, sys, time

root = sys.argv[1]
failures = []

def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, file=sys.stderr)

def expect_errno(want, fn, *args, what=""):
    try:
        fn(*args)
    except OSError as e:
        check(e.errno == want, "%s: errno %s, want %s" % (what or fn.__name__,
              errno.errorcode.get(e.errno), errno.errorcode[want]))
        return
    check(False, "%s: succeeded, want %s" % (what or fn.__name__, errno.errorcode[want]))

def p(*parts):
    return os.path.join(root, *parts)

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)

def read(path):
    with open(path, "rb") as f:
        return f.read()

def section_1():
    """open, unlink, keep using the fd"""
    path = p("unlinked")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"before-unlink;")
    os.unlink(path)
    check(not os.path.exists(path), "unlinked name still visible")
    check(os.fstat(fd).st_nlink == 0, "fstat nlink of open-unlinked file is %d, want 0" % os.fstat(fd).st_nlink)
    os.write(fd, b"after-unlink")
    os.fsync(fd)
    os.lseek(fd, 0, os.SEEK_SET)
    check(os.read(fd, 100) == b"before-unlink;after-unlink", "open-unlinked file content")
    os.ftruncate(fd, 6)
    check(os.pread(fd, 100, 0) == b"before", "ftruncate of open-unlinked file")
    check(os.fstat(fd).st_size == 6, "fstat size of open-unlinked file")
    write(path, b"new file")                    # same name, different inode
    check(read(path) == b"new file", "new file under the unlinked name")
    check(os.pread(fd, 100, 0) == b"before", "unlinked fd disturbed by a new file of the same name")
    os.close(fd)
    os.unlink(path)

def section_2():
    """rename over an open file: the old fd keeps the old content"""
    write(p("target"), b"old content")
    fd = os.open(p("target"), os.O_RDONLY)
    old_ino = os.fstat(fd).st_ino
    write(p("target.tmp"), b"new content")
    os.rename(p("target.tmp"), p("target"))
    check(os.pread(fd, 100, 0) == b"old content", "old fd after rename-over reads old content")
    check(os.fstat(fd).st_nlink == 0, "replaced inode nlink should be 0")
    check(read(p("target")) == b"new content", "name after rename-over has new content")
    check(os.stat(p("target")).st_ino != old_ino, "renamed-over name still has the old inode")
    os.close(fd)

def section_3():
    """renameat2 flags"""
    libc = ctypes.CDLL(None, use_errno=True)
    RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
    AT_FDCWD = -100
    def renameat2(a, b, flags):
        if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e), a)
    write(p("ra"), b"AAAA")
    write(p("rb"), b"BB")
    expect_errno(errno.EEXIST, renameat2, p("ra"), p("rb"), RENAME_NOREPLACE, what="RENAME_NOREPLACE onto existing")
    check(read(p("ra")) == b"AAAA" and read(p("rb")) == b"BB", "failed NOREPLACE changed something")
    renameat2(p("ra"), p("rc"), RENAME_NOREPLACE)
    check(not os.path.exists(p("ra")) and read(p("rc")) == b"AAAA", "RENAME_NOREPLACE to a free name")
    ino_b, ino_c = os.stat(p("rb")).st_ino, os.stat(p("rc")).st_ino
    renameat2(p("rb"), p("rc"), RENAME_EXCHANGE)
    check(read(p("rb")) == b"AAAA" and read(p("rc")) == b"BB", "RENAME_EXCHANGE swaps content")
    check(os.stat(p("rb")).st_ino == ino_c and os.stat(p("rc")).st_ino == ino_b, "RENAME_EXCHANGE swaps inodes")
    os.mkdir(p("xdir"))
    write(p("xdir", "inside"), b"i")
    renameat2(p("rb"), p("xdir"), RENAME_EXCHANGE)    # file <-> directory
    check(os.path.isdir(p("rb")) and read(p("rb", "inside")) == b"i" and read(p("xdir")) == b"AAAA",
          "RENAME_EXCHANGE file <-> directory")
    expect_errno(errno.ENOENT, renameat2, p("rc"), p("missing"), RENAME_EXCHANGE, what="RENAME_EXCHANGE with missing target")
    expect_errno(errno.EINVAL, renameat2, p("rc"), p("xdir"), RENAME_EXCHANGE | RENAME_NOREPLACE,
                 what="RENAME_EXCHANGE|RENAME_NOREPLACE")

def section_4():
    """readdir has . and .. (os.listdir hides them; use the raw getdents via ls in the shell too)"""
    os.mkdir(p("rd"))
    for n in ("a", "b", "c"):
        write(p("rd", n), b"")
    check(sorted(os.listdir(p("rd"))) == ["a", "b", "c"], "listdir of rd: %r" % os.listdir(p("rd")))
    check(os.stat(p("rd", "..")).st_ino == os.stat(root).st_ino, "rd/.. is the root inode")
    check(os.stat(p("rd", ".")).st_ino == os.stat(p("rd")).st_ino, "rd/. is rd")

def section_5():
    """name length limits"""
    write(p("n" * 255), b"x")
    check(os.path.exists(p("n" * 255)), "255-byte name")
    expect_errno(errno.ENAMETOOLONG, os.open, p("m" * 256), os.O_CREAT | os.O_WRONLY, 0o644, what="open 256-byte name")
    expect_errno(errno.ENAMETOOLONG, os.mkdir, p("m" * 256), what="mkdir 256-byte name")
    expect_errno(errno.ENAMETOOLONG, os.stat, p("m" * 256), what="stat 256-byte name")

def section_6():
    """directory link counts"""
    os.mkdir(p("nl"))
    check(os.stat(p("nl")).st_nlink == 2, "empty dir nlink %d, want 2" % os.stat(p("nl")).st_nlink)
    for i in range(3):
        os.mkdir(p("nl", "s%d" % i))
    write(p("nl", "file"), b"")           # files do not count
    check(os.stat(p("nl")).st_nlink == 5, "dir with 3 subdirs nlink %d, want 5" % os.stat(p("nl")).st_nlink)
    os.rmdir(p("nl", "s0"))
    check(os.stat(p("nl")).st_nlink == 4, "after rmdir nlink %d, want 4" % os.stat(p("nl")).st_nlink)
    os.mkdir(p("nl2"))
    os.rename(p("nl", "s1"), p("nl2", "s1"))
    check(os.stat(p("nl")).st_nlink == 3, "source parent nlink after dir rename %d, want 3" % os.stat(p("nl")).st_nlink)
    check(os.stat(p("nl2")).st_nlink == 3, "dest parent nlink after dir rename %d, want 3" % os.stat(p("nl2")).st_nlink)
    check(os.stat(p("nl2", "s1", "..")).st_ino == os.stat(p("nl2")).st_ino, "moved dir's .. points at new parent")

def section_7():
    """parent mtime/ctime change on create, unlink, rename, mkdir, rmdir"""
    os.mkdir(p("mt"))
    def touched_by(what, fn):
        os.utime(p("mt"), (1_000_000_000, 1_000_000_000))
        before_ctime = os.stat(p("mt")).st_ctime_ns
        time.sleep(0.01)
        fn()
        st = os.stat(p("mt"))
        check(st.st_mtime_ns > 1_000_000_000 * 10**9, "parent mtime unchanged by " + what)
        check(st.st_ctime_ns > before_ctime, "parent ctime unchanged by " + what)
    touched_by("create", lambda: write(p("mt", "f"), b""))
    touched_by("link", lambda: os.link(p("mt", "f"), p("mt", "g")))
    touched_by("unlink", lambda: os.unlink(p("mt", "g")))
    touched_by("rename within", lambda: os.rename(p("mt", "f"), p("mt", "h")))
    touched_by("rename out", lambda: os.rename(p("mt", "h"), p("mt-h")))
    touched_by("mkdir", lambda: os.mkdir(p("mt", "d")))
    touched_by("rmdir", lambda: os.rmdir(p("mt", "d")))
    touched_by("symlink", lambda: os.symlink("x", p("mt", "s")))

def section_8():
    """file mtime on write, ctime on chmod"""
    write(p("times"), b"x")
    os.utime(p("times"), (1_000_000_000, 1_000_000_000))
    with open(p("times"), "ab") as f:
        f.write(b"y")
    check(os.stat(p("times")).st_mtime > 1_000_000_000, "write does not update mtime")
    c0 = os.stat(p("times")).st_ctime_ns
    time.sleep(0.01)
    os.chmod(p("times"), 0o600)
    check(os.stat(p("times")).st_ctime_ns > c0, "chmod does not update ctime")

def section_9():
    """setgid directory"""
    os.mkdir(p("sgid"))
    os.chown(p("sgid"), 0, 4321)
    os.chmod(p("sgid"), 0o2775)
    check(stat.S_IMODE(os.stat(p("sgid")).st_mode) == 0o2775, "setgid dir mode %o" % os.stat(p("sgid")).st_mode)
    write(p("sgid", "f"), b"")
    check(os.stat(p("sgid", "f")).st_gid == 4321, "file in g+s dir has gid %d, want 4321" % os.stat(p("sgid", "f")).st_gid)
    os.mkdir(p("sgid", "sub"))
    st = os.stat(p("sgid", "sub"))
    check(st.st_gid == 4321, "subdir in g+s dir has gid %d, want 4321" % st.st_gid)
    check(st.st_mode & stat.S_ISGID, "subdir in g+s dir did not inherit S_ISGID")

def section_10():
    """root creates files owned by root"""
    write(p("rootfile"), b"")
    st = os.stat(p("rootfile"))
    check((st.st_uid, st.st_gid) == (0, 0), "root-created file owned by %d:%d" % (st.st_uid, st.st_gid))

# Run every section; an unexpected exception fails that section only.
for n in range(1, 11):
    fn = globals()["section_%d" % n]
    try:
        fn()
    except Exception as e:
        check(False, "%s: unexpected %s: %s" % (fn.__doc__, type(e).__name__, e))

if failures:
    print("%d failure(s)" % len(failures), file=sys.stderr)
    sys.exit(1)
EOF

# ---- readdir lists . and .. ------------------------------------------------------
assert_eq $'.\n..\na\nb\nc' "$(ls -a1 "$MNT/rd" | LC_ALL=C sort)" "ls -a lists . and .."

# ---- mv --no-clobber -------------------------------------------------------------
echo keep >"$MNT/nc_dst"; echo src >"$MNT/nc_src"
mv --no-clobber "$MNT/nc_src" "$MNT/nc_dst" 2>/dev/null || true
assert_eq keep "$(cat "$MNT/nc_dst")" "mv --no-clobber kept the target"
assert_eq src "$(cat "$MNT/nc_src")" "mv --no-clobber kept the source"

# ---- another user, through allow_other ---------------------------------------
log "other user"
chmod 755 "$MNT"
mkdir "$MNT/pub"; chmod 1777 "$MNT/pub"
assert_eq 1777 "$(stat -c %a "$MNT/pub")" "1777 dir mode"
"${NOBODY[@]}" touch "$MNT/pub/nobodyfile" || fail "uid 65534 cannot create in a 1777 dir"
assert_eq "65534:65534" "$(stat -c %u:%g "$MNT/pub/nobodyfile")" "owner of a file created by uid 65534"
"${NOBODY[@]}" mkdir "$MNT/pub/nobodydir"
assert_eq "65534:65534" "$(stat -c %u:%g "$MNT/pub/nobodydir")" "owner of a dir created by uid 65534"
"${NOBODY[@]}" sh -c "echo hi >'$MNT/pub/nobodyfile'" || fail "uid 65534 cannot write its own file"
assert_eq hi "$(cat "$MNT/pub/nobodyfile")" "uid 65534 writes own file"
echo root >"$MNT/pub/rootfile"; chmod 644 "$MNT/pub/rootfile"
assert_eq root "$("${NOBODY[@]}" cat "$MNT/pub/rootfile")" "uid 65534 reads a 644 file"
if "${NOBODY[@]}" sh -c "echo x >>'$MNT/pub/rootfile'" 2>/dev/null; then fail "uid 65534 wrote a root 644 file"; fi
if "${NOBODY[@]}" rm -f "$MNT/pub/rootfile" 2>/dev/null; then fail "sticky bit: uid 65534 removed root's file"; fi
[[ -e "$MNT/pub/rootfile" ]] || fail "sticky bit: root's file is gone"
mkdir "$MNT/private"; chmod 700 "$MNT/private"
if "${NOBODY[@]}" ls "$MNT/private" >/dev/null 2>&1; then fail "uid 65534 listed a 700 root dir"; fi
if "${NOBODY[@]}" touch "$MNT/rootdir_file" 2>/dev/null; then fail "uid 65534 created a file in the 755 root dir"; fi
if "${NOBODY[@]}" chmod 777 "$MNT/pub/rootfile" 2>/dev/null; then fail "uid 65534 chmod-ed root's file"; fi
assert_eq 644 "$(stat -c %a "$MNT/pub/rootfile")" "mode unchanged by a refused chmod"

# ---- umask ------------------------------------------------------------------------
(
  umask 027
  touch "$MNT/umask_file"
  mkdir "$MNT/umask_dir"
)
assert_eq 640 "$(stat -c %a "$MNT/umask_file")" "umask 027: touch -> 640"
assert_eq 750 "$(stat -c %a "$MNT/umask_dir")" "umask 027: mkdir -> 750"

# ---- hard links survive a remount ------------------------------------------------
log "hard link across remount"
echo linked >"$MNT/hl1"
ln "$MNT/hl1" "$MNT/rd/hl2"
ino=$(stat -c %i "$MNT/hl1")
remount_tierfs
assert_eq "$ino 2" "$(stat -c '%i %h' "$MNT/rd/hl2")" "hard link inode and nlink after remount"
echo more >>"$MNT/rd/hl2"
assert_eq $'linked\nmore' "$(cat "$MNT/hl1")" "write through one link after remount"
rm "$MNT/hl1"
assert_eq 1 "$(stat -c %h "$MNT/rd/hl2")" "nlink after removing one link"
assert_eq "65534:65534" "$(stat -c %u:%g "$MNT/pub/nobodyfile")" "ownership after remount"
assert_eq 4321 "$(stat -c %g "$MNT/sgid/f")" "setgid-inherited gid after remount"
assert_eq 3 "$(stat -c %h "$MNT/nl")" "dir nlink after remount"
unmount_tierfs
