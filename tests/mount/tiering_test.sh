#!/usr/bin/env bash
# Proves idle data goes cold (compressed), small files stay inline (never tiered, spilled to an object when they outgrow inline_max), pins hold data hot, writes re-promote a chunk, migrate moves files both ways, and fsck/status work on the unmounted store.
source "$(dirname "$0")/lib.sh"

MiB=$((1024 * 1024))
NATIVE="$TMP/native"
mkdir -p "$NATIVE"

# where_get PATH KEY — KEY of the single entry `tierfs where --json PATH` prints.
where_get() {
  "$TIERFS" where --json "$1" >"$TMP/where.json" || fail "tierfs where --json $1 exited $?"
  python3 - "$TMP/where.json" "$2" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
if not isinstance(doc, list) or len(doc) != 1:
    sys.exit("where --json: expected an array with one entry, got %r" % (doc,))
e = doc[0]
for k in ("path", "hot_bytes", "cold_bytes", "pinned"):
    if k not in e:
        sys.exit("where --json: key %r missing in %r" % (k, e))
v = e[sys.argv[2]]
print(json.dumps(v) if isinstance(v, bool) else v)
EOF
}

# status_get TARGET KEY — KEY of `tierfs status --json TARGET`.
status_get() {
  "$TIERFS" status --json "$1" >"$TMP/status.json" || fail "tierfs status --json $1 exited $?"
  json_get "$TMP/status.json" "$2"
}

# ---- test data ---------------------------------------------------------------
# 8 MiB of compressible text (header files, repeated) and 3 MiB of random data.
find /usr/include/linux -type f -name '*.h' -print0 | LC_ALL=C sort -z >"$TMP/hdrs"
while [[ $(stat -c %s "$NATIVE/text" 2>/dev/null || echo 0) -lt $((8 * MiB)) ]]; do
  xargs -0 cat <"$TMP/hdrs" >>"$NATIVE/text"
done
truncate -s $((8 * MiB)) "$NATIVE/text"
head -c $((3 * MiB)) /dev/urandom >"$NATIVE/pinned"

mount_tierfs cold_after=1 compress=zstd:3 chunk_size=1M inline_max=4K

for k in hot_bytes cold_bytes cold_stored_bytes hot_objects cold_objects; do
  [[ "$(status_get "$MNT" "$k")" =~ ^[0-9]+$ ]] || fail "status --json $k is not a number"
done

# Pin first (on an empty file), then fill it, so it is never eligible for demotion.
: >"$MNT/pinned"
"$TIERFS" pin "$MNT/pinned" || fail "tierfs pin exited $?"
cat "$NATIVE/pinned" >"$MNT/pinned"
cp "$NATIVE/text" "$MNT/text"
# Small files: kept in the namespace (inline_max=4K; off by default), never tiered;
# one that grows past 4K moves to an object and tiers like any other.
head -c 100 /dev/urandom >"$NATIVE/small1"
head -c 4096 /dev/urandom >"$NATIVE/small2"
head -c 3000 /dev/urandom >"$NATIVE/grown"
for f in small1 small2 grown; do cp "$NATIVE/$f" "$MNT/$f"; done
head -c 7000 /dev/urandom | tee -a "$NATIVE/grown" >>"$MNT/grown"
sync
assert_eq true "$(where_get "$MNT/pinned" pinned)" "pinned flag after tierfs pin"
assert_eq false "$(where_get "$MNT/text" pinned)" "pinned flag of an unpinned file"

# ---- idle data goes cold, compressed -----------------------------------------
log "waiting for demotion"
text_is_cold() { [[ "$(where_get "$MNT/text" hot_bytes)" == 0 ]]; }
wait_for 20 "text file fully cold" text_is_cold
grown_is_cold() { [[ "$(where_get "$MNT/grown" hot_bytes)" == 0 ]]; }
wait_for 20 "the grown small file cold" grown_is_cold
status_compressed() {
  local cold stored
  cold=$(status_get "$MNT" cold_bytes) stored=$(status_get "$MNT" cold_stored_bytes)
  [[ "$cold" -gt 0 && "$stored" -lt "$cold" ]]
}
wait_for 20 "status: cold_bytes > 0 and cold_stored_bytes < cold_bytes" status_compressed
log "status: $(cat "$TMP/status.json")"
assert_eq $((8 * MiB)) "$(where_get "$MNT/text" cold_bytes)" "cold_bytes of the demoted text file"
[[ "$(status_get "$MNT" cold_objects)" -ge 8 ]] || fail "expected >= 8 cold objects (8 MiB / 1 MiB chunks)"
stored=$(status_get "$MNT" cold_stored_bytes)
[[ "$stored" -lt $((4 * MiB)) ]] || fail "8 MiB of text stored as $stored bytes cold: zstd:3 should at least halve it"
assert_eq 0 "$(where_get "$MNT/pinned" cold_bytes)" "pinned file has no cold bytes"
assert_eq $((3 * MiB)) "$(where_get "$MNT/pinned" hot_bytes)" "pinned file fully hot"
"$TIERFS" where "$MNT/text" "$MNT/pinned" >"$TMP/where.txt" || fail "tierfs where (text output) exited $?"
grep -q text "$TMP/where.txt" && grep -q pinned "$TMP/where.txt" || fail "tierfs where text output does not mention the files"
"$TIERFS" status "$MNT" >/dev/null || fail "tierfs status (text output) exited $?"

# fsck must refuse a mounted store.
if "$TIERFS" fsck "$STORE" >/dev/null 2>&1; then fail "fsck succeeded on a mounted store"; fi

# ---- cold reads ---------------------------------------------------------------
# Remount to drop the kernel page cache, so these reads really come from cold objects.
# A long cold_after from here on keeps the migrator from racing the assertions.
remount_tierfs cold_after=3600 compress=zstd:3 inline_max=4K
assert_eq 0 "$(where_get "$MNT/text" hot_bytes)" "text still cold after remount"
assert_eq true "$(where_get "$MNT/pinned" pinned)" "pin survives remount"
cmp "$NATIVE/text" "$MNT/text" || fail "cold file content differs"
cmp <(dd if="$MNT/text" bs=4096 skip=1000 count=3 status=none) \
  <(dd if="$NATIVE/text" bs=4096 skip=1000 count=3 status=none) || fail "cold random read differs"
cmp "$NATIVE/pinned" "$MNT/pinned" || fail "pinned file content differs"
for f in small1 small2 grown; do cmp "$NATIVE/$f" "$MNT/$f" || fail "$f differs after the remount"; done
assert_eq 100 "$(where_get "$MNT/small1" inline_bytes)" "small1 is inline"
assert_eq 4096 "$(where_get "$MNT/small2" inline_bytes)" "small2 (4096 bytes: inline_max) is inline"
assert_eq 0 "$(where_get "$MNT/small2" cold_bytes)" "an inline file never goes cold"
assert_eq 0 "$(where_get "$MNT/grown" inline_bytes)" "a file grown past inline_max is not inline"
assert_eq 10000 "$(where_get "$MNT/grown" cold_bytes)" "the grown file went cold like any other"
assert_eq 2 "$(status_get "$MNT" inline_files)" "status counts the inline files"
assert_eq 4196 "$(status_get "$MNT" inline_bytes)" "status counts their bytes"

# Reads may promote (promote_reads); put the file back to cold for the next step.
"$TIERFS" migrate --to cold "$MNT/text" || fail "tierfs migrate --to cold exited $?"
assert_eq 0 "$(where_get "$MNT/text" hot_bytes)" "text cold again"

# ---- a write into the middle of a cold file promotes that chunk only ---------
log "write into cold file"
cp "$NATIVE/text" "$NATIVE/model"
head -c 5000 /dev/urandom >"$TMP/patch"
off=$((3 * MiB + MiB / 2))                        # inside chunk 3
for f in "$NATIVE/model" "$MNT/text"; do
  dd if="$TMP/patch" of="$f" bs=1M seek="$off" oflag=seek_bytes conv=notrunc,fsync status=none
done
hot=$(where_get "$MNT/text" hot_bytes)
cold=$(where_get "$MNT/text" cold_bytes)
[[ "$hot" -gt 0 ]] || fail "written chunk of a cold file is not hot (hot_bytes=$hot)"
[[ "$hot" -le $((2 * MiB)) ]] || fail "a 5000-byte write promoted $hot bytes (expected ~1 chunk)"
assert_eq $((8 * MiB)) "$((hot + cold))" "hot_bytes + cold_bytes after partial promotion"
cmp "$NATIVE/model" "$MNT/text" || fail "content after writing into a cold file"

# ---- explicit migration --------------------------------------------------------
log "migrate"
"$TIERFS" migrate --to hot "$MNT/text" || fail "tierfs migrate --to hot exited $?"
assert_eq 0 "$(where_get "$MNT/text" cold_bytes)" "cold_bytes after migrate --to hot"
assert_eq $((8 * MiB)) "$(where_get "$MNT/text" hot_bytes)" "hot_bytes after migrate --to hot"
cmp "$NATIVE/model" "$MNT/text" || fail "content after migrate --to hot"
"$TIERFS" migrate --to cold "$MNT/text" || fail "tierfs migrate --to cold exited $?"
assert_eq 0 "$(where_get "$MNT/text" hot_bytes)" "hot_bytes after migrate --to cold"
assert_eq $((8 * MiB)) "$(where_get "$MNT/text" cold_bytes)" "cold_bytes after migrate --to cold"
cmp "$NATIVE/model" "$MNT/text" || fail "content after migrate --to cold"

# ---- unpin ---------------------------------------------------------------------
"$TIERFS" unpin "$MNT/pinned" || fail "tierfs unpin exited $?"
assert_eq false "$(where_get "$MNT/pinned" pinned)" "pinned flag after unpin"

# ---- offline: fsck and status on the unmounted store ----------------------------
unmount_tierfs
"$TIERFS" fsck "$STORE" || fail "tierfs fsck on a clean store exited $?"
"$TIERFS" fsck "$STORE" --scrub || fail "tierfs fsck --scrub on a clean store exited $?"
[[ "$(status_get "$STORE" cold_bytes)" -ge $((8 * MiB)) ]] || fail "offline status: cold_bytes"
[[ "$(status_get "$STORE" cold_stored_bytes)" -lt $((8 * MiB)) ]] || fail "offline status: cold_stored_bytes"
[[ "$(status_get "$STORE" hot_bytes)" -ge $((3 * MiB)) ]] || fail "offline status: hot_bytes (pinned file)"

# And the data is still right after all that.
mount_tierfs cold_after=3600
cmp "$NATIVE/model" "$MNT/text" || fail "text differs after fsck + remount"
cmp "$NATIVE/pinned" "$MNT/pinned" || fail "pinned differs after fsck + remount"
unmount_tierfs
"$TIERFS" fsck "$STORE" || fail "tierfs fsck after final unmount exited $?"
