#!/usr/bin/env bash
# -o metrics_file: the Prometheus textfile appears at mount, passes
# `promtool check metrics`, its series change with I/O on both tiers and
# migrations (both directions), errors and fsyncs, it is rewritten at
# unmount, node_exporter's textfile collector serves it; -o metrics=ADDR:PORT
# serves the same exposition over HTTP; bad metrics options fail the mount
# with a clear error.
source "$(dirname "$0")/lib.sh"

MiB=$((1024 * 1024))
command -v promtool >/dev/null || _unavailable "promtool not installed (package prometheus)"
command -v prometheus-node-exporter >/dev/null ||
  _unavailable "prometheus-node-exporter not installed (package prometheus-node-exporter)"
command -v curl >/dev/null || _unavailable "curl not installed"

PROM_DIR="$TMP/textfile"
PROM="$PROM_DIR/tierfs.prom"
mkdir -p "$PROM_DIR"
NE_PID=""
# Stop node_exporter, then lib.sh's clean-up (unmount, rm) with the test's exit
# status (set +e first: under -e, "(exit 1)" would end the trap before it).
trap 'rc=$?; set +e; [[ -n "$NE_PID" ]] && kill "$NE_PID" 2>/dev/null; (exit $rc); _cleanup' EXIT

# metric FILE NAME [LABEL=VALUE...] — the sample's value (0 when absent).
metric() {
  python3 - "$@" <<'PYEOF'
import re, sys
path, name, want = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
for line in open(path):
    if line.startswith("#"):
        continue
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line.strip())
    if not m or m.group(1) != name:
        continue
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    if all(labels.get(k) == v for k, v in want.items()):
        v = float(m.group(3))
        print(int(v) if v == int(v) else v)
        sys.exit(0)
print(0)
PYEOF
}
m() { metric "$PROM" "$@"; }
# at_least N NAME [LABELS...] — true once the file's sample is >= N.
at_least() { local n=$1; shift; [[ "$(m "$@")" -ge "$n" ]]; }
check_promtool() {
  promtool check metrics <"$PROM" >"$TMP/promtool.out" 2>&1 ||
    fail "promtool check metrics: $(cat "$TMP/promtool.out")"
}
read_direct() { dd if="$1" of=/dev/null bs=1M iflag=direct status=none; }

# ---- bad options fail the mount ------------------------------------------------
bad_mount() {  # bad_mount OPTIONS EXPECTED_MESSAGE
  mkdir -p "$TMP/badmnt"
  if "$TIERFS" mount "$TMP/badstore" "$TMP/badmnt" -o "$1" 2>"$TMP/bad.err"; then
    "$TIERFS" umount "$TMP/badmnt"
    fail "mount -o $1 succeeded"
  fi
  grep -q -- "$2" "$TMP/bad.err" || fail "mount -o $1: expected '$2', got: $(cat "$TMP/bad.err")"
}
bad_mount metrics_file=relative.prom "must be an absolute path ending in .prom"
bad_mount metrics_file="$PROM_DIR/tierfs.txt" "must be an absolute path ending in .prom"
bad_mount metrics_interval=5 "metrics_interval needs metrics_file"
bad_mount metrics_file="$PROM",metrics_interval=0 "must be 1 to 3600 seconds"
bad_mount metrics=localhost:9477 "expected IPV4ADDR:PORT"
bad_mount metrics=127.0.0.1:0 "expected IPV4ADDR:PORT"
bad_mount metrics=127.0.0.1 "expected IPV4ADDR:PORT"
bad_mount metrics_file="$TMP/missing/tierfs.prom" "directory $TMP/missing/ does not exist"
[[ ! -e "$TMP/badstore" ]] || fail "a refused mount created the store"
# A file the daemon cannot write fails the mount when it is first written
# (here its name is taken by a directory, which stops root too).
mkdir -p "$TMP/blocked/tierfs.prom"
bad_mount metrics_file="$TMP/blocked/tierfs.prom" "metrics_file: renaming .*Is a directory"

# ---- the file at mount ------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
HTTP_PORT=$(free_port)
# cold_after=3: the hot reads right after the writes come well before the demotion.
mount_tierfs cold_after=3 chunk_size=1M metrics_file="$PROM" metrics_interval=1 \
  metrics=127.0.0.1:"$HTTP_PORT"
[[ -f "$PROM" ]] || fail "no $PROM after mount"
assert_eq 644 "$(stat -c %a "$PROM")" "mode of the metrics file (readable by a collector)"
check_promtool
assert_eq 1 "$(m tierfs_info store="$STORE" mountpoint="$MNT")" "tierfs_info labels"
assert_eq $MiB "$(m tierfs_chunk_size_bytes)" "tierfs_chunk_size_bytes"
# Every family in the file is in docs/metrics.md's table, and the reverse.
python3 - "$PROM" "$REPO_ROOT/docs/metrics.md" <<'PYEOF' || fail "docs/metrics.md's table and the exposition differ"
import re, sys
exposed = set(re.findall(r"^# TYPE (\S+) ", open(sys.argv[1]).read(), re.M))
documented = set(re.findall(r"^\| `(tierfs_[a-z_]+)` \|", open(sys.argv[2]).read(), re.M))
for name in sorted(exposed - documented):
    print("not in docs/metrics.md: " + name, file=sys.stderr)
for name in sorted(documented - exposed):
    print("in docs/metrics.md, not exposed: " + name, file=sys.stderr)
sys.exit(exposed != documented)
PYEOF
for name in tierfs_fuse_requests_total tierfs_read_bytes_total tierfs_frame_cache_hits_total \
  tierfs_buffer_pool_overflows_total tierfs_migrator_moves_total tierfs_migrator_failed_moves_total \
  tierfs_fuse_request_duration_seconds; do
  grep -q "^# TYPE $name " "$PROM" || fail "no family $name in the metrics file"
done

# ---- writes, fsync, hot reads -------------------------------------------------------
head -c $((3 * MiB)) /dev/urandom >"$TMP/data"
dd if="$TMP/data" of="$MNT/a" bs=1M conv=fsync status=none
read_direct "$MNT/a"
wait_for 10 "written bytes counted" at_least $((3 * MiB)) tierfs_written_bytes_total tier=hot
wait_for 10 "hot reads counted" at_least $((3 * MiB)) tierfs_read_bytes_total tier=hot
at_least 1 tierfs_fuse_request_duration_seconds_count op=write || fail "no write latency observed"
at_least 1 tierfs_fuse_request_duration_seconds_count op=fsync || fail "no fsync latency observed"
at_least 1 tierfs_fuse_requests_total op=create || fail "no create request counted"
[[ "$(m tierfs_fuse_request_duration_seconds_bucket op=write le=+Inf)" == \
   "$(m tierfs_fuse_request_duration_seconds_count op=write)" ]] || fail "+Inf bucket != count"

# ---- errors ---------------------------------------------------------------------------
if setfattr -n user.tierfs.bogus -v 1 "$MNT/a" 2>/dev/null; then fail "bogus control accepted"; fi
wait_for 10 "setxattr error counted" at_least 1 tierfs_fuse_errors_total op=setxattr

# ---- the migrator demotes; cold reads; the frame cache --------------------------------
wait_for 20 "migrator demotions counted" at_least 3 tierfs_migrator_moves_total direction=demote
at_least $((3 * MiB)) tierfs_migrator_moved_bytes_total direction=demote ||
  fail "demoted bytes: $(m tierfs_migrator_moved_bytes_total direction=demote)"
wait_for 10 "cold objects" at_least 3 tierfs_objects tier=cold
read_direct "$MNT/a"
sleep 1.1  # a second read access (promote_reads=2), and frames from the cache
read_direct "$MNT/a"
# Wait for a rewrite after both reads (the file may have been written between them).
wait_for 10 "both cold reads counted" at_least $((6 * MiB)) tierfs_read_bytes_total tier=cold
at_least 1 tierfs_frame_cache_misses_total || fail "no frame cache misses after cold reads"
at_least 1 tierfs_frame_cache_hits_total || fail "no frame cache hits after reading twice"
wait_for 20 "migrator promotions counted" at_least 1 tierfs_migrator_moves_total direction=promote
at_least $MiB tierfs_migrator_moved_bytes_total direction=promote || fail "promoted bytes"
# A request (tierfs migrate) counts among all tier moves, not the migrator's.
# On a fresh file: by now the migrator may have demoted all of a again (a
# loaded machine leaves its chunks idle for cold_after), leaving the request
# nothing to move; a demotion of the fresh one counts whoever makes it.
head -c $MiB /dev/urandom >"$MNT/fresh"
before=$(m tierfs_tier_moves_total direction=demote)
"$TIERFS" migrate --to cold "$MNT/fresh"
wait_for 10 "requested demotions counted" at_least $((before + 1)) tierfs_tier_moves_total direction=demote
check_promtool

# ---- the HTTP endpoint --------------------------------------------------------------------
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" -o "$TMP/http.txt" || fail "GET /metrics on port $HTTP_PORT"
promtool check metrics <"$TMP/http.txt" >"$TMP/promtool.out" 2>&1 ||
  fail "promtool check metrics (HTTP): $(cat "$TMP/promtool.out")"
[[ "$(metric "$TMP/http.txt" tierfs_written_bytes_total tier=hot)" -ge $((3 * MiB)) ]] ||
  fail "written bytes over HTTP: $(metric "$TMP/http.txt" tierfs_written_bytes_total tier=hot)"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/")" "GET / status"
bad_mount metrics=127.0.0.1:"$HTTP_PORT" "cannot listen: Address already in use"

# ---- a real scraper: node_exporter's textfile collector --------------------------------
port=$(free_port)
prometheus-node-exporter --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$PROM_DIR" --web.listen-address="127.0.0.1:$port" \
  >"$TMP/node_exporter.log" 2>&1 &
NE_PID=$!
scrape() { curl -sf "http://127.0.0.1:$port/metrics" -o "$TMP/scrape.txt"; }
wait_for 20 "node_exporter answering on port $port" scrape
grep -q '^node_textfile_scrape_error 0' "$TMP/scrape.txt" ||
  fail "node_exporter could not read the textfile: $(grep textfile "$TMP/scrape.txt")"
written=$(metric "$TMP/scrape.txt" tierfs_written_bytes_total tier=hot)
[[ "$written" -ge $((3 * MiB)) ]] || fail "scraped tierfs_written_bytes_total: $written"
head -c $MiB /dev/urandom >>"$MNT/a"
sync "$MNT/a"
scraped_grew() { scrape && [[ "$(metric "$TMP/scrape.txt" tierfs_written_bytes_total tier=hot)" -gt "$written" ]]; }
wait_for 20 "scraped written bytes grow" scraped_grew
kill "$NE_PID"
wait "$NE_PID" 2>/dev/null || true
NE_PID=""

# ---- rewritten at unmount --------------------------------------------------------------
# With an hour between rewrites, only the mount and the unmount write the file.
remount_tierfs cold_after=3600 chunk_size=1M metrics_file="$PROM" metrics_interval=3600
assert_eq 0 "$(m tierfs_written_bytes_total tier=hot)" "written bytes of a fresh mount"
head -c $MiB /dev/urandom >"$MNT/b"
sync "$MNT/b"
assert_eq 0 "$(m tierfs_written_bytes_total tier=hot)" "the file is not rewritten before the interval"
unmount_tierfs
assert_eq $MiB "$(m tierfs_written_bytes_total tier=hot)" "written bytes in the file written at unmount"
check_promtool
