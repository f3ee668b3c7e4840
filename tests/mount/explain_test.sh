#!/usr/bin/env bash
# tierfs explain gives the right reason for each case: idle (cold_after
# reached), pinned, watermark (hot tier over its high watermark),
# read-promoted, moving (a pass slowed by migrate_rate), and says what the
# migrator does next; --json and the text output agree.
source "$(dirname "$0")/lib.sh"

MiB=$((1024 * 1024))

# chunk_get PATH INDEX KEY — KEY of chunk INDEX in `tierfs explain --json PATH`.
chunk_get() {
  "$TIERFS" explain --json "$1" >"$TMP/explain.json" || fail "tierfs explain --json $1 exited $?"
  python3 - "$TMP/explain.json" "$2" "$3" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
if not isinstance(doc, list) or len(doc) != 1:
    sys.exit("explain --json: expected one entry, got %r" % (doc,))
chunks = {c["index"]: c for c in doc[0]["chunks"]}
c = chunks.get(int(sys.argv[2]))
if c is None:
    sys.exit("explain --json: no chunk %s in %r" % (sys.argv[2], doc))
v = c[sys.argv[3]]
print(json.dumps(v) if isinstance(v, (bool, type(None))) else v)
PYEOF
}
reason_is() { [[ "$(chunk_get "$1" "$2" reason)" == "$3" ]]; }
# read_direct PATH — reads PATH around the kernel's page cache.
read_direct() { dd if="$1" of=/dev/null bs=1M iflag=direct status=none; }

# ---- idle and pinned ----------------------------------------------------------
mount_tierfs cold_after=1 chunk_size=1M
: >"$MNT/pinned"
"$TIERFS" pin "$MNT/pinned"
head -c $MiB /dev/urandom >"$MNT/pinned"
head -c $MiB /dev/urandom >"$MNT/idle"
sync
wait_for 20 "idle chunk demoted" reason_is "$MNT/idle" 0 idle
assert_eq cold "$(chunk_get "$MNT/idle" 0 tier)" "tier of the idle chunk"
assert_eq idle "$(chunk_get "$MNT/idle" 0 last_move)" "last_move of the idle chunk"
assert_eq needs-reads "$(chunk_get "$MNT/idle" 0 outlook)" "outlook of a cold chunk nobody reads"
assert_eq 2 "$(chunk_get "$MNT/idle" 0 reads_needed)" "reads needed to promote (promote_reads=2)"
sleep 1.2  # the pinned chunk is idle past cold_after too, and stays
assert_eq pinned "$(chunk_get "$MNT/pinned" 0 reason)" "reason of a pinned chunk"
assert_eq hot "$(chunk_get "$MNT/pinned" 0 tier)" "tier of a pinned chunk"
assert_eq pinned "$(chunk_get "$MNT/pinned" 0 outlook)" "outlook of a pinned chunk"
"$TIERFS" explain "$MNT/idle" "$MNT/pinned" >"$TMP/explain.txt" || fail "tierfs explain (text) exited $?"
log "$(cat "$TMP/explain.txt")"
grep -q "chunk 0: cold (idle): demoted .* idle for cold_after" "$TMP/explain.txt" ||
  fail "text explain of the idle chunk: $(cat "$TMP/explain.txt")"
grep -q "chunk 0: hot (pinned): the file is pinned" "$TMP/explain.txt" ||
  fail "text explain of the pinned chunk: $(cat "$TMP/explain.txt")"

# A file of 300 chunks does not fit one 64 KiB xattr reply: the CLI joins pages.
python3 - "$MNT/many" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(300):
    os.pwrite(fd, b"x", i * 1024 * 1024)
os.close(fd)
PYEOF
"$TIERFS" explain --json "$MNT/many" >"$TMP/many.json" || fail "tierfs explain --json of 300 chunks exited $?"
python3 - "$TMP/many.json" <<'PYEOF' || fail "explain --json of a 300-chunk file"
import json, sys
doc = json.load(open(sys.argv[1]))
idx = [c["index"] for c in doc[0]["chunks"]]
sys.exit(0 if idx == list(range(300)) else "chunks listed: %r" % idx)
PYEOF
assert_eq 300 "$("$TIERFS" explain "$MNT/many" | grep -c '^  chunk ')" "text explain lines of a 300-chunk file"

# ---- watermark, then read-promoted ----------------------------------------------
# hot_capacity 8M: high watermark 4M, low 2M. Remounting forgets why a chunk
# moved: the idle chunk is now cold "earlier".
remount_tierfs cold_after=3600 chunk_size=1M hot_capacity=8M hot_high=50 hot_low=25
assert_eq earlier "$(chunk_get "$MNT/idle" 0 reason)" "reason after a remount"
for i in 1 2 3 4 5 6; do
  head -c $MiB /dev/urandom >"$MNT/w$i"
  sync "$MNT/w$i"
  sleep 0.05  # distinct access times: w1 is the least recently used
done
wait_for 20 "oldest chunk demoted for the watermark" reason_is "$MNT/w1" 0 watermark
assert_eq cold "$(chunk_get "$MNT/w1" 0 tier)" "tier of a chunk demoted for the watermark"
assert_eq new "$(chunk_get "$MNT/w6" 0 reason)" "the newest chunk stays hot"
assert_eq until-idle "$(chunk_get "$MNT/w6" 0 outlook)" "outlook of a hot chunk"
next=$(chunk_get "$MNT/w6" 0 next_in_s)
python3 -c "import sys; sys.exit(not 3500 < float('$next') <= 3600)" ||
  fail "a hot chunk is demoted in about cold_after (3600 s), explain said $next s"
grep -q '"over_high_watermark":false' "$TMP/explain.json" || fail "hot tier still over its high watermark"

read_direct "$MNT/idle"
assert_eq 1 "$(chunk_get "$MNT/idle" 0 reads_needed)" "reads needed after one read"
sleep 1.1  # reads less than 1 s apart count once
read_direct "$MNT/idle"
wait_for 20 "chunk promoted after two reads" reason_is "$MNT/idle" 0 reads
assert_eq hot "$(chunk_get "$MNT/idle" 0 tier)" "tier of a read-promoted chunk"
"$TIERFS" explain "$MNT/idle" "$MNT/w1" >"$TMP/explain.txt"
log "$(cat "$TMP/explain.txt")"
grep -q "chunk 0: hot (reads): promoted .* after 2 reads" "$TMP/explain.txt" ||
  fail "text explain of a read-promoted chunk: $(cat "$TMP/explain.txt")"
grep -q "chunk 0: cold (watermark): demoted .* over its high watermark" "$TMP/explain.txt" ||
  fail "text explain of a watermark demotion: $(cat "$TMP/explain.txt")"
unmount_tierfs

# ---- moving ---------------------------------------------------------------------
# A fresh store: at migrate_rate=1M, a pass demoting four 1 MiB chunks waits
# about a second after each, so the later ones are seen queued in the pass.
# (The copy itself takes milliseconds: "being moved now" is not caught
# deterministically, only "queued in the running pass".)
STORE="$TMP/store2"
mount_tierfs cold_after=1 chunk_size=1M migrate_rate=1M
head -c $((4 * MiB)) /dev/urandom >"$MNT/slow"
sync
some_chunk_moving() {
  local i
  for i in 1 2 3; do reason_is "$MNT/slow" "$i" moving && return 0; done
  return 1
}
wait_for 20 "a chunk queued in a rate-limited pass" some_chunk_moving
grep -q '"moving":"demote"' "$TMP/explain.json" || fail "moving chunk's direction: $(cat "$TMP/explain.json")"
"$TIERFS" explain "$MNT/slow" >"$TMP/explain.txt"
grep -q "(moving): .*demoted by the migrator (idle)" "$TMP/explain.txt" ||
  fail "text explain of a moving chunk: $(cat "$TMP/explain.txt")"
wait_for 20 "last chunk demoted" reason_is "$MNT/slow" 3 idle
unmount_tierfs
