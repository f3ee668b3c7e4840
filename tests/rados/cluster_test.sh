#!/usr/bin/env bash
# tests/rados/cluster_test.sh — the one-node test cluster (scripts/ceph-dev.sh)
# does what tierfs' RADOS backend relies on, checked with the rados CLI and
# with librados through Debian's python3-rados:
#   1. put/get round trips byte-identical (empty, 1 byte, 3 MiB), ranged reads;
#   2. omap: setomapval/getomapval/listomapvals/rmomapkey, and 1000 binary
#      keys written in one operation, read back in pages;
#   3. RADOS namespaces: `rados -N ns ls` lists only that namespace's objects;
#   4. OSD down: a read/write with a 2 s op timeout fails with ETIMEDOUT in
#      about 2 s (new client and a client connected before); after osd-start
#      everything written before reads back, through the same client too;
#   5. cluster full (ceph-dev.sh full on): a write fails with ETIMEDOUT after
#      the op timeout, or with ENOSPC at once with "full try"; reads and
#      full-try deletes still work; full off: writes work again;
#   6. with a mgr (CEPH_DEV_MGR=1) a pool quota gives EDQUOT.
# Needs CEPH_CONF (set by tierfs_rados_test); exit 77 = skipped (no cluster
# and CI != true). Runs in about 20 s and removes its pool.
set -euo pipefail

NAME=rados_cluster_test
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CEPH_DEV=${CEPH_DEV:-$REPO_ROOT/scripts/ceph-dev.sh}
PY=/usr/bin/python3 # Debian's: python3-rados is installed for it, not for a pyenv one
OP_TIMEOUT=2

log() { printf '[%s] %s\n' "$NAME" "$*" >&2; }
fail() {
  printf '[%s] FAIL: %s\n' "$NAME" "$*" >&2
  exit 1
}
not_up() {
  if [ "${CI:-}" = "true" ]; then
    fail "$* (CI=true: the RADOS tests must run)"
  fi
  printf '[%s] SKIP: %s\n' "$NAME" "$*" >&2
  exit 77
}

[ -n "${CEPH_CONF:-}" ] || not_up "CEPH_CONF is not set (run through ctest -L rados)"
command -v rados >/dev/null 2>&1 && command -v ceph >/dev/null 2>&1 ||
  not_up "Ceph is not installed (run scripts/setup.sh)"
DIR=$(dirname "$CEPH_CONF")
bash "$CEPH_DEV" status "$DIR" >/dev/null 2>&1 || not_up "no cluster is up for $CEPH_CONF"
"$PY" -c 'import rados' 2>/dev/null || not_up "$PY cannot import rados (install python3-rados)"

POOL="cluster-test-$$"
TMP=$(mktemp -d)
OSD_STOPPED=0
FULL=0
QUOTA=0
cleanup() {
  local rc=$?
  set +e
  ((OSD_STOPPED)) && bash "$CEPH_DEV" osd-start "$DIR"
  ((FULL)) && bash "$CEPH_DEV" full "$DIR" off
  ((QUOTA)) && bash "$CEPH_DEV" quota "$DIR" "$POOL" 0 2>/dev/null
  timeout 60 ceph -c "$CEPH_CONF" osd pool delete "$POOL" "$POOL" --yes-i-really-really-mean-it >/dev/null 2>&1
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# R ARGS...: rados on the test pool with bounded mon and OSD waits.
R() { timeout 60 rados -c "$CEPH_CONF" -p "$POOL" --rados_mon_op_timeout 10 --rados_osd_op_timeout 10 "$@"; }

# expect_timeout WHAT ARGS...: rados with a $OP_TIMEOUT s op timeout must fail
# with ETIMEDOUT in about that time (not hang: the outer timeout is 30 s).
expect_timeout() {
  local what=$1 t0 ms rc=0
  shift
  t0=$(now_ms)
  timeout 30 rados -c "$CEPH_CONF" -p "$POOL" --rados_osd_op_timeout "$OP_TIMEOUT" "$@" \
    >"$TMP/err" 2>&1 || rc=$?
  ms=$(($(now_ms) - t0))
  ((rc != 0)) || fail "$what succeeded"
  ((rc != 124)) || fail "$what hung (killed after 30 s) despite --rados_osd_op_timeout $OP_TIMEOUT"
  grep -q "(110) Connection timed out" "$TMP/err" || fail "$what: not ETIMEDOUT: $(cat "$TMP/err")"
  ((ms >= OP_TIMEOUT * 1000 - 200 && ms <= OP_TIMEOUT * 1000 + 5000)) ||
    fail "$what failed after $ms ms, not about ${OP_TIMEOUT}000 ms"
  log "$what: ETIMEDOUT after $ms ms (rados_osd_op_timeout=$OP_TIMEOUT)"
}

# py OP ARGS...: librados checks. Prints what it measured; exits 1 on a
# failed check.
py() {
  "$PY" - "$CEPH_CONF" "$POOL" "$OP_TIMEOUT" "$@" <<'EOF'
import errno, os, sys, time
import rados

conf, pool, op_timeout, op, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

def connect():
    c = rados.Rados(conffile=conf, conf={
        'rados_osd_op_timeout': op_timeout, 'rados_mon_op_timeout': op_timeout,
        'client_mount_timeout': '10'})
    c.connect()
    return c, c.open_ioctx(pool)

def timed(f):
    t = time.monotonic()
    try:
        f()
        e = 0
    except rados.Error as x:
        e = x.errno
    return e, int((time.monotonic() - t) * 1000)

def name(e):
    return errno.errorcode.get(e, str(e)) if e else 'ok'

def omap_read(io, obj):
    with rados.ReadOpCtx() as r:
        it, ret = io.get_omap_vals(r, '', '', 10)
        io.operate_read_op(r, obj)
        return list(it)

def check(cond, msg):
    if not cond:
        sys.exit('FAIL: ' + msg)

if op == 'ranged':  # OBJ FILE: ranged reads equal the file's bytes
    c, io = connect()
    data = open(args[1], 'rb').read()
    size = len(data)
    for off, ln in ((0, 4096), (4096 * 100, 4096), (size - 100, 4096), (12345, 65536), (size, 10)):
        got = io.read(args[0], ln, off)
        check(got == data[off:off + ln], 'read(%d, %d) differs' % (off, ln))
    print('ranged reads ok (%d bytes)' % size)

elif op == 'omap':  # OBJ: 1000 binary keys in one write op, paged read, remove
    c, io = connect()
    keys = tuple('k%05d\x01' % i for i in range(1000))
    vals = tuple(os.urandom(40) for _ in keys)
    with rados.WriteOpCtx() as w:
        io.set_omap(w, keys, vals)
        io.operate_write_op(w, args[0])
    seen, start = {}, ''
    while True:
        with rados.ReadOpCtx() as r:
            it, ret = io.get_omap_vals(r, start, '', 100)
            io.operate_read_op(r, args[0])
            page = list(it)
        if not page:
            break
        seen.update(page)
        start = page[-1][0]
    check(len(seen) == 1000, 'paged omap listing gave %d keys, not 1000' % len(seen))
    check(all(seen[k] == v for k, v in zip(keys, vals)), 'omap values differ')
    with rados.WriteOpCtx() as w:
        io.remove_omap_keys(w, keys[:500])
        io.operate_write_op(w, args[0])
    with rados.ReadOpCtx() as r:
        it, ret = io.get_omap_keys(r, '', 2000)
        io.operate_read_op(r, args[0])
        left = [k for k, _ in it]
    check(left == list(keys[500:]), 'after removing 500 keys: %d left' % len(left))
    print('omap ok: 1000 keys in one op, paged by 100, 500 removed')

elif op == 'osd-cycle':  # DEV DIR OBJ FILE: one client across osd-stop/osd-start
    import subprocess
    dev, d, obj, path = args
    data = open(path, 'rb').read()
    c, io = connect()
    check(io.read(obj, len(data) + 1) == data, 'read before osd-stop differs')
    subprocess.run(['bash', dev, 'osd-stop', d], check=True)
    try:
        for what, f in (('read', lambda: io.read(obj, 4096)),
                        ('write', lambda: io.write_full('osd-down-write', b'x')),
                        ('omap read', lambda: omap_read(io, obj))):
            e, ms = timed(f)
            print('connected client, OSD down: %s -> %s after %d ms' % (what, name(e), ms))
            check(e == errno.ETIMEDOUT, '%s with the OSD down gave %s, not ETIMEDOUT' % (what, name(e)))
            check(int(op_timeout) * 1000 - 200 <= ms <= int(op_timeout) * 1000 + 5000,
                  '%s took %d ms' % (what, ms))
    finally:
        subprocess.run(['bash', dev, 'osd-start', d], check=True)
    e, ms = timed(lambda: check(io.read(obj, len(data) + 1) == data, 'read after osd-start differs'))
    check(e == 0, 'read after osd-start: %s' % name(e))
    print('connected client, OSD back: read ok in %d ms, byte-identical' % ms)

elif op == 'full':  # OBJ: the cluster is full
    c, io = connect()
    e, ms = timed(lambda: io.write_full('full-write', b'x' * 100))
    print('full, plain write -> %s after %d ms' % (name(e), ms))
    check(e == errno.ETIMEDOUT, 'plain write to a full pool gave %s, not ETIMEDOUT' % name(e))
    e, ms = timed(lambda: io.read(args[0], 10))
    check(e == 0, 'read from a full pool: %s' % name(e))
    io.set_osdmap_full_try()  # librados C++: IoCtx::set_pool_full_try()
    e, ms = timed(lambda: io.write_full('full-write', b'x' * 100))
    print('full, full-try write -> %s after %d ms' % (name(e), ms))
    check(e == errno.ENOSPC, 'full-try write to a full pool gave %s, not ENOSPC' % name(e))
    check(ms < 1000, 'full-try write took %d ms' % ms)
    e, ms = timed(lambda: io.remove_object(args[1]))
    print('full, full-try remove -> %s after %d ms' % (name(e), ms))
    check(e == 0, 'full-try remove from a full pool: %s' % name(e))

elif op == 'quota':  # the pool is over its quota
    c, io = connect()
    e, ms = timed(lambda: io.write_full('quota-write', b'x' * 100))
    print('over quota, plain write -> %s after %d ms' % (name(e), ms))
    check(e == errno.ETIMEDOUT, 'plain write over quota gave %s, not ETIMEDOUT' % name(e))
    io.set_osdmap_full_try()
    e, ms = timed(lambda: io.write_full('quota-write', b'x' * 100))
    print('over quota, full-try write -> %s after %d ms' % (name(e), ms))
    check(e == errno.EDQUOT, 'full-try write over quota gave %s, not EDQUOT' % name(e))

else:
    sys.exit('unknown op ' + op)
EOF
}

pool_flags() { timeout 30 ceph -c "$CEPH_CONF" osd dump | awk -v p="'$POOL'" '$3 == p' | grep -o 'flags [^ ]*'; }

T0=$(now_ms)
bash "$CEPH_DEV" pool "$DIR" "$POOL"
out=$(bash "$CEPH_DEV" pool "$DIR" "$POOL" 2>&1) || fail "pool is not idempotent"
[ -z "$out" ] || fail "pool printed: $out"

log "1. round trips"
head -c 3145728 /dev/urandom >"$TMP/big"
printf x >"$TMP/one"
: >"$TMP/empty"
for f in big one empty; do
  R put "obj-$f" "$TMP/$f"
  R get "obj-$f" "$TMP/$f.out"
  cmp "$TMP/$f" "$TMP/$f.out" || fail "obj-$f differs after put/get"
done
R stat obj-big | grep -q "size 3145728" || fail "stat obj-big: $(R stat obj-big)"
log "$(py ranged obj-big "$TMP/big")"
R rm obj-one
R stat obj-one 2>/dev/null && fail "obj-one still there after rm"

log "2. omap"
R setomapval obj-big commit-index-key value-1
printf 'binary\000value' >"$TMP/omapval"
R setomapval obj-big key2 --input-file "$TMP/omapval"
R getomapval obj-big key2 "$TMP/omapval.out" >/dev/null 2>&1
cmp "$TMP/omapval" "$TMP/omapval.out" || fail "omap value key2 differs"
[ "$(R listomapkeys obj-big | tr '\n' ' ')" = "commit-index-key key2 " ] ||
  fail "listomapkeys: $(R listomapkeys obj-big)"
R listomapvals obj-big | grep -q "value-1" || fail "listomapvals lacks value-1"
R rmomapkey obj-big key2
[ "$(R listomapkeys obj-big)" = "commit-index-key" ] || fail "rmomapkey left: $(R listomapkeys obj-big)"
R create obj-omap
log "$(py omap obj-omap)"

log "3. namespaces"
R -N ns-a put a1 "$TMP/one"
R -N ns-a put a2 "$TMP/one"
R -N ns-b put b1 "$TMP/one"
[ "$(R -N ns-a ls | sort | tr '\n' ' ')" = "a1 a2 " ] || fail "ls -N ns-a: $(R -N ns-a ls)"
[ "$(R -N ns-b ls | tr '\n' ' ')" = "b1 " ] || fail "ls -N ns-b: $(R -N ns-b ls)"
[ "$(R ls | sort | tr '\n' ' ')" = "obj-big obj-empty obj-omap " ] || fail "ls (default namespace): $(R ls)"
[ "$(R --all ls | wc -l)" = 6 ] || fail "ls --all: $(R --all ls)"
R -N ns-b stat a1 2>/dev/null && fail "a1 (in ns-a) is visible in ns-b"
R -N ns-a get a1 "$TMP/a1" && cmp "$TMP/one" "$TMP/a1" || fail "ns-a/a1 differs"

log "4. OSD down and back"
OSD_STOPPED=1
bash "$CEPH_DEV" osd-stop "$DIR"
expect_timeout "get with the OSD down" get obj-big "$TMP/x"
expect_timeout "put with the OSD down" put obj-new "$TMP/one"
expect_timeout "getomapval with the OSD down" getomapval obj-big commit-index-key
bash "$CEPH_DEV" osd-start "$DIR"
OSD_STOPPED=0
R get obj-big "$TMP/big.after"
cmp "$TMP/big" "$TMP/big.after" || fail "obj-big differs after osd-stop/osd-start"
R getomapval obj-big commit-index-key "$TMP/v" >/dev/null 2>&1
[ "$(cat "$TMP/v")" = value-1 ] || fail "omap value lost across the OSD restart"
[ "$(R -N ns-a ls | sort | tr '\n' ' ')" = "a1 a2 " ] || fail "ns-a after the OSD restart: $(R -N ns-a ls)"
OSD_STOPPED=1 # osd-cycle stops it again; cleanup restarts it if the check dies
py osd-cycle "$CEPH_DEV" "$DIR" obj-big "$TMP/big" | while read -r l; do log "$l"; done
OSD_STOPPED=0

log "5. cluster full"
FULL=1
bash "$CEPH_DEV" full "$DIR" on
[[ "$(pool_flags)" == *full* ]] || fail "pool flags after full on: $(pool_flags)"
expect_timeout "put to a full cluster" put obj-full "$TMP/one"
py full obj-big obj-empty | while read -r l; do log "$l"; done
R -N ns-b rm --force-full b1 || fail "rm --force-full on a full cluster"
bash "$CEPH_DEV" full "$DIR" off
FULL=0
R put obj-after-full "$TMP/one" || fail "put after full off"

log "6. pool quota"
if [ -n "$(cat "$DIR/run/mgr.x.pid" 2>/dev/null)" ] && kill -0 "$(cat "$DIR/run/mgr.x.pid")" 2>/dev/null; then
  QUOTA=1
  bash "$CEPH_DEV" quota "$DIR" "$POOL" 1000000
  for ((i = 0; i < 60; i++)); do
    [[ "$(pool_flags)" == *full_quota* ]] && break
    sleep 0.5
  done
  [[ "$(pool_flags)" == *full_quota* ]] || fail "no full_quota flag 30 s after the quota: $(pool_flags)"
  py quota | while read -r l; do log "$l"; done
  bash "$CEPH_DEV" quota "$DIR" "$POOL" 0
  QUOTA=0
else
  log "no mgr in $DIR: quotas are not enforced without one, part 6 not run (CEPH_DEV_MGR=1 runs it)"
fi

log "passed in $((($(now_ms) - T0) / 1000)) s"
