#!/usr/bin/env bash
# A mounted tierfs with its cold tier on the test cluster's RADOS pool
# (cold_backend=rados:POOL): files demoted to the pool read back
# byte-identical after a remount with the caches dropped; status and where
# name the pool; an OSD that is down makes cold reads fail with EIO within
# rados_timeout while hot files and metadata keep working, and cold reads
# work again when it is back; a full cluster fails a demotion at once and
# loses nothing; fsck --scrub is clean, finds an object no file owns and an
# inode whose cold object is missing, and --repair removes the orphan.
# Stops the OSD and fills the cluster: registered SERIAL.
source "$(dirname "$0")/../mount/lib.sh"

[[ -n "${CEPH_CONF:-}" && -f "$CEPH_CONF" ]] || _unavailable "CEPH_CONF names no cluster config"
CEPH_DIR=$(dirname "$CEPH_CONF")
CEPH_DEV="$REPO_ROOT/scripts/ceph-dev.sh"
bash "$CEPH_DEV" status "$CEPH_DIR" || _unavailable "the test cluster in $CEPH_DIR is not up"
POOL="tierfs-mount-$$"
bash "$CEPH_DEV" pool "$CEPH_DIR" "$POOL"
rados_() { timeout 60 rados -c "$CEPH_CONF" -p "$POOL" "$@"; }
restore_cluster() {
  bash "$CEPH_DEV" full "$CEPH_DIR" off >/dev/null 2>&1 || true
  bash "$CEPH_DEV" osd-start "$CEPH_DIR" >/dev/null 2>&1 || true
  timeout 60 ceph -c "$CEPH_CONF" osd pool rm "$POOL" "$POOL" --yes-i-really-really-mean-it \
    >/dev/null 2>&1 || true
}
# (_cleanup reports the test's own exit status: keep it across the restore.)
trap 'rc=$?; restore_cluster; (exit $rc); _cleanup' EXIT

MiB=$((1024 * 1024))
NATIVE="$TMP/native"
mkdir -p "$NATIVE/tree"
cp -r /usr/include/linux/netfilter "$NATIVE/tree/"
# (Not `sort | head`: head exits after 200 names, and sort, still
# writing, dies of SIGPIPE, which pipefail turned into a silent failure in
# about 1 run in 13.)
mapfile -d '' HEADERS < <(find /usr/include/linux -maxdepth 1 -name '*.h' -print0 | LC_ALL=C sort -z)
cat "${HEADERS[@]:0:200}" >"$NATIVE/text"
while (($(stat -c %s "$NATIVE/text") < 6 * MiB)); do cat "$NATIVE/text" "$NATIVE/text" >"$TMP/t2" && mv "$TMP/t2" "$NATIVE/text"; done
head -c $((3 * MiB + 12345)) /dev/urandom >"$NATIVE/random"

OPTS=(cold_backend=rados:"$POOL" ceph_conf="$CEPH_CONF" rados_timeout=3 chunk_size=1M)

log "bad cluster settings: a clear error, in bounded time, and nothing mounted"
sed 's/^mon_host = .*/mon_host = [v2:127.0.0.1:1]/' "$CEPH_CONF" >"$TMP/dead.conf"
mkdir -p "$TMP/m2"
start=$(date +%s%N)
if "$TIERFS" mount "$TMP/s2" "$TMP/m2" -o "cold_backend=rados:$POOL,ceph_conf=$TMP/dead.conf,rados_timeout=3" 2>"$TMP/err"; then
  fail "mount worked with no mon reachable"
fi
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
grep -q "connect to the Ceph cluster of $TMP/dead.conf as client.admin: Connection timed out" "$TMP/err" ||
  fail "unclear error: $(cat "$TMP/err")"
((elapsed_ms < 10000)) || fail "mount took ${elapsed_ms} ms to fail (rados_timeout=3)"
mountpoint -q "$TMP/m2" && fail "$TMP/m2 mounted"
if "$TIERFS" mount "$TMP/s3" "$TMP/m2" -o "cold_backend=rados:no-such-pool,ceph_conf=$CEPH_CONF" 2>"$TMP/err"; then
  fail "mount worked with a pool that does not exist"
fi
grep -q "pool no-such-pool does not exist" "$TMP/err" || fail "unclear error: $(cat "$TMP/err")"
mount_tierfs "${OPTS[@]}"
cp -r "$NATIVE/." "$MNT/"
sync
tfs migrate --to cold "$MNT/text" "$MNT/random" "$MNT/tree" || fail "migrate --to cold exited $?"

tfs status --json "$MNT" >"$TMP/status.json"
COLD_TIER=$(json_get "$TMP/status.json" cold_tier)
STORE_ID=${COLD_TIER##*/}
[[ "$STORE_ID" =~ ^[0-9a-f]{32}$ ]] || fail "no store id in cold_tier [$COLD_TIER]"
assert_eq "rados:$POOL/$STORE_ID" "$COLD_TIER" "status cold_tier"
[[ "$(json_get "$TMP/status.json" cold_objects)" -ge 10 ]] || fail "too few cold objects"
[[ "$(json_get "$TMP/status.json" hot_bytes)" == 0 ]] || fail "hot bytes left after migrate --to cold"
tfs where "$MNT/text" >"$TMP/where"
grep -q "on rados:$POOL/$STORE_ID" "$TMP/where" || fail "where does not name the pool: $(cat "$TMP/where")"
# The objects are in the pool, in the store's namespace; nothing in cold/.
n=$(rados_ -N "$STORE_ID" ls | grep -c '^[0-9a-f]\{16\}\.' || true)
[[ $n -ge 10 ]] || fail "only $n data objects in the pool"
[[ -z "$(find "$STORE/cold" -type f 2>/dev/null)" ]] || fail "cold files in STORE/cold"

log "remount with caches dropped: read back from the pool"
remount_tierfs "${OPTS[@]}" cache_size=0
compare_trees "$NATIVE" "$MNT"

log "OSD down: cold reads fail with EIO within rados_timeout, hot data works"
echo hot-before >"$MNT/hot-file"
sync
bash "$CEPH_DEV" osd-stop "$CEPH_DIR"
echo 3 >/proc/sys/vm/drop_caches  # the read must reach the daemon (cache_size=0)
start=$(date +%s%N)
if err=$(timeout 30 cat "$MNT/random" 2>&1 >/dev/null); then fail "cold read worked with the OSD down"; fi
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
log "cold read failed after ${elapsed_ms} ms: $err"
[[ "$err" == *"Input/output error"* ]] || fail "cold read error is not EIO: $err"
((elapsed_ms < 15000)) || fail "cold read took ${elapsed_ms} ms to fail (rados_timeout=3)"
assert_eq hot-before "$(cat "$MNT/hot-file")" "hot file read with the OSD down"
echo hot-during >"$MNT/hot-new"
assert_eq hot-during "$(cat "$MNT/hot-new")" "hot write with the OSD down"
ls -l "$MNT/tree/netfilter" >/dev/null || fail "readdir with the OSD down"
assert_eq "$(stat -c %s "$NATIVE/random")" "$(stat -c %s "$MNT/random")" "stat with the OSD down"
bash "$CEPH_DEV" osd-start "$CEPH_DIR"
cmp "$NATIVE/random" "$MNT/random" || fail "cold read after the OSD came back"

log "cluster full: demotion fails at once, nothing is lost"
head -c $((2 * MiB)) /dev/urandom >"$NATIVE/late"
cp "$NATIVE/late" "$MNT/late"
sync
bash "$CEPH_DEV" full "$CEPH_DIR" on
start=$(date +%s%N)
if tfs migrate --to cold "$MNT/late" 2>"$TMP/full.err"; then fail "migrate --to cold worked on a full cluster"; fi
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
log "migrate --to cold failed after ${elapsed_ms} ms: $(head -c 300 "$TMP/full.err")"
((elapsed_ms < 10000)) || fail "migrate --to cold took ${elapsed_ms} ms to fail on a full cluster"
cmp "$NATIVE/late" "$MNT/late" || fail "file changed by a failed demotion"
rm "$MNT/hot-new"  # removals work on a full cluster
bash "$CEPH_DEV" full "$CEPH_DIR" off
tfs migrate --to cold "$MNT/late" || fail "migrate --to cold after the cluster has room again"
cp "$NATIVE/late" "$TMP/late.expect"
unmount_tierfs

log "fsck --scrub on the unmounted store"
tfs fsck "$STORE" --scrub --json >"$TMP/fsck.json" || fail "fsck --scrub not clean: $(cat "$TMP/fsck.json")"
assert_eq true "$(json_get "$TMP/fsck.json" clean)" "fsck clean"
# An object of a file that does not exist (inode 0x99999), committed in
# the index: an orphan that --repair removes.
ORPHAN=0000000000099999.0000000000000000.0000000000000042
head -c 100 /dev/urandom >"$TMP/orphan"
rados_ -N "$STORE_ID" put "$ORPHAN" "$TMP/orphan"
printf '\x01\0\0\0\0\0\0\0\x42\0\0\0\0\0\0\0\x64\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >"$TMP/value"
rados_ -N "$STORE_ID" setomapval tierfs.index 0000000000099999.0000000000000000 <"$TMP/value"
if tfs fsck "$STORE" --scrub --json >"$TMP/fsck.json"; then fail "fsck missed the orphan"; fi
grep -q '"kind":"orphan_object"' "$TMP/fsck.json" || fail "no orphan_object: $(cat "$TMP/fsck.json")"
tfs fsck "$STORE" --repair --json >/dev/null || true
rados_ -N "$STORE_ID" ls >"$TMP/ls"
grep -q "^$ORPHAN\$" "$TMP/ls" && fail "--repair left the orphan in the pool"
tfs fsck "$STORE" --scrub --json >"$TMP/fsck.json" || fail "fsck after repair: $(cat "$TMP/fsck.json")"
# A cold object missing from the pool: the file's inode is reported.
rados_ -N "$STORE_ID" ls >"$TMP/ls"
victim=$(grep '^[0-9a-f]\{16\}\.' "$TMP/ls" | sed -n 1p)
rados_ -N "$STORE_ID" rm "$victim"
if tfs fsck "$STORE" --scrub --json >"$TMP/fsck.json"; then fail "fsck missed a missing object"; fi
grep -q '"kind":"damaged_object"' "$TMP/fsck.json" || fail "no damaged_object: $(cat "$TMP/fsck.json")"

