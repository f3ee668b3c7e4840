#!/usr/bin/env bash
# The CLI for people: `tierfs status` on a terminal draws the hot tier
# against its capacity as a bar (not when piped), `status --watch` prints a
# line per second with reads/writes/moves per second, and long `migrate` and
# `fsck` runs show progress on a terminal and stay quiet when piped.
source "$(dirname "$0")/lib.sh"

command -v script >/dev/null || _unavailable "script not installed (package util-linux)"
# on_tty CMD... — runs CMD with stdout and stderr on a pseudo-terminal.
on_tty() { script -qec "$*" /dev/null | tr '\r' '\n'; }

MiB=$((1024 * 1024))
mount_tierfs cold_after=3600 chunk_size=1M hot_capacity=16M
for i in 1 2 3 4; do head -c $((2 * MiB)) /dev/urandom >"$MNT/f$i"; done
sync

# ---- status: a bar on a terminal only ----------------------------------------------
on_tty "$TIERFS" status "$MNT" >"$TMP/status.tty"
grep -q '^hot:    8.0 MiB in 8 objects (50% of 16.0 MiB)' "$TMP/status.tty" ||
  fail "status on a terminal: $(cat "$TMP/status.tty")"
grep -qE '^ +\[#{20}\.{20}\] high 14.4 MiB, low 11.2 MiB' "$TMP/status.tty" ||
  fail "no bar of 8 MiB of 16 MiB on a terminal: $(cat "$TMP/status.tty")"
"$TIERFS" status "$MNT" >"$TMP/status.pipe"
if grep -q '\[#' "$TMP/status.pipe"; then fail "status piped draws a bar"; fi

# ---- status --watch: rates per second ------------------------------------------------
(sleep 1.3; dd if=/dev/urandom of="$MNT/w" bs=1M count=3 conv=fsync status=none) &
writer=$!
"$TIERFS" status --watch --count 4 "$MNT" >"$TMP/watch.txt" || fail "status --watch exited $?"
wait "$writer"
log "$(cat "$TMP/watch.txt")"
assert_eq 5 "$(wc -l <"$TMP/watch.txt")" "status --watch --count 4: a header and 4 lines"
head -1 "$TMP/watch.txt" | grep -q 'read/s *write/s *promote/s *demote/s' || fail "watch header"
grep -qE 'MiB/s|KiB/s' "$TMP/watch.txt" || fail "status --watch shows no write rate while writing"
if "$TIERFS" status --watch --count 1 "$TMP" 2>/dev/null; then fail "--watch on a non-tierfs"; fi

# ---- migrate and fsck progress ----------------------------------------------------------
on_tty "$TIERFS" migrate --to cold "$MNT" >"$TMP/migrate.tty"
grep -q "^migrated 5/5 files, 11.0 MiB of 11.0 MiB" "$TMP/migrate.tty" ||
  fail "migrate progress on a terminal: $(cat "$TMP/migrate.tty")"
"$TIERFS" migrate --to hot "$MNT" 2>"$TMP/migrate.err" >"$TMP/migrate.out"
[[ ! -s "$TMP/migrate.err" && ! -s "$TMP/migrate.out" ]] || fail "migrate piped is not quiet"
assert_eq $((11 * MiB)) "$("$TIERFS" where --json "$MNT/f1" "$MNT/f2" "$MNT/f3" "$MNT/f4" "$MNT/w" |
  python3 -c 'import json, sys; print(sum(e["hot_bytes"] for e in json.load(sys.stdin)))')" \
  "hot bytes after migrate --to hot"
"$TIERFS" migrate --to cold "$MNT/f1" 2>/dev/null
unmount_tierfs
on_tty "$TIERFS" fsck --scrub "$STORE" >"$TMP/fsck.tty"
grep -q "^checked (scrub) 11/11 objects, 11.0 MiB of 11.0 MiB" "$TMP/fsck.tty" ||
  fail "fsck progress on a terminal: $(cat "$TMP/fsck.tty")"
grep -q "objects: clean" "$TMP/fsck.tty" || fail "fsck report after the progress line"
"$TIERFS" fsck "$STORE" 2>"$TMP/fsck.err" >/dev/null || fail "fsck exited $?"
[[ ! -s "$TMP/fsck.err" ]] || fail "fsck piped prints progress: $(cat "$TMP/fsck.err")"
