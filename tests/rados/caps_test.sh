#!/usr/bin/env bash
# tests/rados/caps_test.sh — the client caps docs/ceph.md tells users to give
# tierfs are enough for what the RADOS backend does, and no more, on a cephx
# cluster of its own (scripts/ceph-dev.sh with CEPH_DEV_AUTH=cephx in
# $CAPS_DIR on $CAPS_PORT), removed at the end:
#   mon 'allow r' osd 'allow rw pool=P': put/get/stat/rm, omap, xattrs, any
#   namespace, listing, full-try writes (ENOSPC) and removes on a full pool;
#   EPERM on another pool and for object classes (which need 'x');
#   osd '... namespace=N' confines the key to one namespace;
#   a client without a key gets ENOENT, a wrong key EACCES, at connect.
# Exit 77 = skipped (Ceph not installed and CI != true).
set -euo pipefail

NAME=rados_caps_test
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CEPH_DEV=${CEPH_DEV:-$REPO_ROOT/scripts/ceph-dev.sh}
CAPS_DIR=${CAPS_DIR:?CAPS_DIR is not set}
CAPS_PORT=${CAPS_PORT:-14300}
PY=/usr/bin/python3

log() { printf '[%s] %s\n' "$NAME" "$*" >&2; }
fail() {
  printf '[%s] FAIL: %s\n' "$NAME" "$*" >&2
  exit 1
}
if ! command -v rados >/dev/null 2>&1 || ! command -v ceph-mon >/dev/null 2>&1; then
  [ "${CI:-}" = "true" ] && fail "Ceph is not installed (CI=true: the RADOS tests must run)"
  log "SKIP: Ceph is not installed (run scripts/setup.sh)"
  exit 77
fi

CONF="$CAPS_DIR/ceph.conf"
TMP=$(mktemp -d)
cleanup() {
  local rc=$?
  set +e
  rm -rf "$TMP"
  bash "$CEPH_DEV" full "$CAPS_DIR" off >/dev/null 2>&1
  bash "$CEPH_DEV" wipe "$CAPS_DIR" 2>/dev/null
  exit $rc
}
trap cleanup EXIT
bash "$CEPH_DEV" wipe "$CAPS_DIR" 2>/dev/null
CEPH_DEV_AUTH=cephx CEPH_DEV_PORT=$CAPS_PORT bash "$CEPH_DEV" start "$CAPS_DIR"
bash "$CEPH_DEV" pool "$CAPS_DIR" tierfs-cold
bash "$CEPH_DEV" pool "$CAPS_DIR" other
key=$(bash "$CEPH_DEV" user "$CAPS_DIR" tierfs mon 'allow r' osd 'allow rw pool=tierfs-cold')
[ "$key" = "$CAPS_DIR/ceph.client.tierfs.keyring" ] || fail "user printed '$key'"
grep -q 'caps osd = "allow rw pool=tierfs-cold"' "$key" || fail "keyring: $(cat "$key")"

T() { timeout 30 rados -c "$CONF" --id tierfs --rados_osd_op_timeout 5 --rados_mon_op_timeout 5 "$@"; }
ok() { T "$@" >/dev/null 2>&1 || fail "client.tierfs could not: rados $*"; }
eperm() {
  local out
  out=$(T "$@" 2>&1) && fail "client.tierfs could: rados $*"
  [[ $out == *"Operation not permitted"* ]] || fail "rados $*: not EPERM: $out"
}
echo data >"$TMP/in"
P=(-p tierfs-cold)
ok "${P[@]}" put o "$TMP/in"
ok "${P[@]}" get o "$TMP/out"
cmp -s "$TMP/in" "$TMP/out" || fail "get differs"
ok "${P[@]}" stat o
ok "${P[@]}" setomapval o k v
ok "${P[@]}" getomapval o k
ok "${P[@]}" listomapvals o
ok "${P[@]}" rmomapkey o k
ok "${P[@]}" setxattr o a b
ok "${P[@]}" -N ns1 put n "$TMP/in"
[ "$(T "${P[@]}" -N ns1 ls)" = n ] || fail "ls -N ns1 as client.tierfs: $(T "${P[@]}" -N ns1 ls 2>&1)"
[ "$(T "${P[@]}" --all ls | wc -l)" = 2 ] || fail "ls --all as client.tierfs: $(T "${P[@]}" --all ls 2>&1)"
ok "${P[@]}" -N ns1 rm n
eperm -p other put o "$TMP/in"
eperm -p other ls
eperm "${P[@]}" lock get o l # an object class call (cls_lock) needs 'x'
log "mon 'allow r' osd 'allow rw pool=tierfs-cold': data, omap, xattrs, namespaces, listing ok; other pool and object classes EPERM"

# On a full cluster, with "full try" (IoCtx::set_pool_full_try()): the write
# fails at once with ENOSPC, the remove works.
bash "$CEPH_DEV" full "$CAPS_DIR" on
"$PY" - "$CONF" <<'EOF'
import errno, sys, time
import rados
c = rados.Rados(conffile=sys.argv[1], rados_id='tierfs', conf={'rados_osd_op_timeout': '5'})
c.connect()
io = c.open_ioctx('tierfs-cold')
io.set_osdmap_full_try()
try:
    io.write_full('new', b'x')
    sys.exit('FAIL: full-try write to a full pool worked')
except rados.Error as e:
    if e.errno != errno.ENOSPC:
        sys.exit('FAIL: full-try write gave %s, not ENOSPC' % errno.errorcode.get(e.errno))
io.remove_object('o')
EOF
bash "$CEPH_DEV" full "$CAPS_DIR" off
log "client.tierfs on a full cluster: full-try write ENOSPC, remove ok"

bash "$CEPH_DEV" user "$CAPS_DIR" tierfs mon 'profile simple-rados-client' \
  osd 'allow rw pool=tierfs-cold namespace=fs1' >/dev/null
ok "${P[@]}" -N fs1 put a "$TMP/in"
ok "${P[@]}" -N fs1 ls
ok "${P[@]}" -N fs1 setomapval a k v
eperm "${P[@]}" -N fs2 put a "$TMP/in"
eperm "${P[@]}" put a "$TMP/in"
eperm "${P[@]}" --all ls
log "osd 'allow rw pool=tierfs-cold namespace=fs1': only namespace fs1"

printf '[client.fake]\n\tkey = AQDhgw9rNSxqEhAAXWF+kkUgHXBUbMX3Znw1GA==\n' >"$CAPS_DIR/ceph.client.fake.keyring"
"$PY" - "$CONF" <<'EOF'
import errno, sys
import rados
for rid, want in (('nobody', errno.ENOENT), ('fake', errno.EACCES)):
    c = rados.Rados(conffile=sys.argv[1], rados_id=rid, conf={'client_mount_timeout': '10'})
    try:
        c.connect()
        sys.exit('FAIL: client.%s connected' % rid)
    except rados.Error as e:
        if e.errno != want:
            sys.exit('FAIL: client.%s: %s, not %s' % (rid, errno.errorcode.get(e.errno), errno.errorcode[want]))
EOF
log "connect without a key: ENOENT; with a wrong key: EACCES"
log "passed"
