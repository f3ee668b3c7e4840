#!/usr/bin/env bash
# The CLI as a new user meets it: every command on a PATH refuses a file that
# is not on a mounted tierfs (exit 1, "not on a mounted tierfs") and leaves
# its xattrs as they were; --version everywhere prints project()'s version;
# --help and -h of every command exit 0 on stdout, usage errors exit 2 on
# stderr; `where` adds a total and has --summary; mount options take
# durations (7d, never) and sizes (GB, GiB) as people write them; a
# chunk_size that differs from the store's is refused in human units.
source "$(dirname "$0")/lib.sh"
command -v getfattr >/dev/null || _unavailable "getfattr not installed (package attr)"
command -v setfattr >/dev/null || _unavailable "setfattr not installed (package attr)"

# run CMD... — runs tierfs, its stdout in $TMP/out, stderr in $TMP/err, exit in $rc.
run() {
  rc=0
  "$TIERFS" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
}

# ---- a PATH not on a mounted tierfs ------------------------------------------------
PLAIN="$TMP/plain"
mkdir -p "$PLAIN/dir"
echo data >"$PLAIN/f"
echo data >"$PLAIN/dir/g"
setfattr -n user.mine -v kept "$PLAIN/f"
before=$(getfattr -d -m - "$PLAIN/f" "$PLAIN/dir/g" 2>&1)
for cmd in "pin" "unpin" "migrate --to cold" "migrate --to hot" "where" "where -s" "explain"; do
  # shellcheck disable=SC2086
  run $cmd "$PLAIN/f" "$PLAIN/dir"
  assert_eq 1 "$rc" "tierfs $cmd on a plain directory: exit status"
  grep -qx "tierfs: $PLAIN/f: not on a mounted tierfs" "$TMP/err" ||
    fail "tierfs $cmd $PLAIN/f: $(cat "$TMP/err")"
  grep -qx "tierfs: $PLAIN/dir/g: not on a mounted tierfs" "$TMP/err" ||
    fail "tierfs $cmd $PLAIN/dir: $(cat "$TMP/err")"
done
after=$(getfattr -d -m - "$PLAIN/f" "$PLAIN/dir/g" 2>&1)
assert_eq "$before" "$after" "xattrs of files the CLI refused"
if getfattr -d -m - -R "$PLAIN" 2>/dev/null | grep -q "^user\.tierfs"; then
  fail "a user.tierfs.* xattr was set outside tierfs: $(getfattr -d -m - -R "$PLAIN")"
fi
run pin "$PLAIN/missing"
assert_eq 1 "$rc" "pin of a missing file"
grep -q "$PLAIN/missing: No such file or directory" "$TMP/err" || fail "pin missing: $(cat "$TMP/err")"

# ---- --version, --help, usage errors ---------------------------------------------------
version=$(sed -nE 's/^project\(tierfs VERSION ([0-9.]+).*/\1/p' "$REPO_ROOT/CMakeLists.txt")
[[ -n $version ]] || fail "no version in project() of CMakeLists.txt"
run --version
assert_eq "0 tierfs $version" "$rc $(cat "$TMP/out")" "tierfs --version"
commands=$("$TIERFS" --help | sed -n '/^commands:/,/^$/p' | grep -oE '^  [a-z]+|\| [a-z]+' |
  grep -oE '[a-z]+')
[[ $(wc -w <<<"$commands") -ge 9 ]] || fail "tierfs --help lists: $commands"
for cmd in $commands unmount; do
  run "$cmd" --version
  assert_eq "0 tierfs $version" "$rc $(cat "$TMP/out")" "tierfs $cmd --version"
  for h in --help -h; do
    run "$cmd" "$h"
    assert_eq 0 "$rc" "tierfs $cmd $h: exit status"
    grep -q "^usage: tierfs ${cmd/unmount/umount} " "$TMP/out" ||
      fail "tierfs $cmd $h prints no usage on stdout: $(cat "$TMP/out")"
    [[ ! -s "$TMP/err" ]] || fail "tierfs $cmd $h writes to stderr: $(cat "$TMP/err")"
  done
done
run help where
grep -q "^usage: tierfs where " "$TMP/out" || fail "tierfs help where: $(cat "$TMP/out")"
# usage_error WANT ARG... — exit 2, WANT on stderr, nothing on stdout.
usage_error() {
  local want=$1
  shift
  run "$@"
  assert_eq 2 "$rc" "tierfs $*: exit status"
  grep -qF -- "$want" "$TMP/err" || fail "tierfs $*: expected [$want] on stderr: $(cat "$TMP/err")"
  [[ ! -s "$TMP/out" ]] || fail "tierfs $*: a usage error on stdout: $(cat "$TMP/out")"
}
usage_error "tierfs: where: missing PATH (see 'tierfs where --help')" where
usage_error "tierfs: where: unknown flag --jsn" where --jsn "$PLAIN"
usage_error "tierfs: status: takes one STORE|MOUNTPOINT, got 2" status a b
usage_error "tierfs: status: --json and --watch do not go together" status --json --watch "$TMP"
usage_error "tierfs: status: --count 0: not a positive whole number" status --watch --count 0 "$TMP"
usage_error "tierfs: migrate: --to lukewarm: expected hot or cold" migrate --to lukewarm "$PLAIN/f"
usage_error "tierfs: migrate: --to hot|cold is required" migrate "$PLAIN/f"
usage_error "tierfs: fsck: missing STORE" fsck
usage_error "tierfs: mount: needs STORE and MOUNTPOINT" mount "$STORE"
usage_error "tierfs: unknown command 'bogus'" bogus
usage_error "usage: tierfs COMMAND" # no command at all
# After "--" a word is a path, even "-h".
run where -- -h
assert_eq 1 "$rc" "where -- -h: exit status"
grep -q "^tierfs: -h: No such file or directory" "$TMP/err" || fail "where -- -h: $(cat "$TMP/err")"

# ---- mount options as people write them ------------------------------------------------
for bad in cold_after=5x cold_after=1w hot_capacity=12X hot_capacity=1.5 metrics_interval=2h; do
  run mount "$STORE" "$MNT" -o "metrics_file=$TMP/m.prom,$bad"
  assert_eq 1 "$rc" "-o $bad: exit status"
  grep -q "option $bad: " "$TMP/err" || fail "-o $bad: the error names neither: $(cat "$TMP/err")"
done
[[ ! -e $STORE ]] || fail "a refused mount created the store"
mount_tierfs cold_after=7d hot_capacity=1.5GB chunk_size=1MiB
status_json() { "$TIERFS" status --json "$MNT" >"$TMP/status.json" && json_get "$TMP/status.json" "$1"; }
assert_eq 1500000000 "$(status_json hot_capacity)" "hot_capacity=1.5GB"
assert_eq $((1 << 20)) "$(status_json chunk_size)" "chunk_size=1MiB"

# ---- pin and where, with totals, checked after a remount ----------------------------------
mkdir "$MNT/d"
head -c $((3 << 20)) /dev/urandom >"$MNT/d/a"
head -c $((1 << 20)) /dev/urandom >"$MNT/d/b"
echo small >"$MNT/c" # 6 bytes, hot
"$TIERFS" pin "$MNT/d/a" || fail "pin on the mount"
"$TIERFS" migrate --to cold "$MNT/d/b" 2>/dev/null || fail "migrate --to cold on the mount"
remount_tierfs
run where "$MNT"
assert_eq 0 "$rc" "where $MNT: exit status"
assert_eq 4 "$(wc -l <"$TMP/out")" "where $MNT: 3 files and a total: $(cat "$TMP/out")"
grep -qx "total: 3 files, hot 3.0 MiB, cold 1.0 MiB, stored .*, 1 pinned" <(tail -1 "$TMP/out") ||
  fail "where total: $(cat "$TMP/out")"
run where "$MNT/d/a"
assert_eq 1 "$(wc -l <"$TMP/out")" "where of one file: no total line: $(cat "$TMP/out")"
for s in -s --summary; do
  run where "$s" "$MNT"
  grep -qx "total: 3 files, hot 3.0 MiB, cold 1.0 MiB, stored .*, 1 pinned" "$TMP/out" ||
    fail "where $s: $(cat "$TMP/out")"
done
"$TIERFS" where --json --summary "$MNT" >"$TMP/sum.json" || fail "where --json --summary"
assert_eq 3 "$(json_get "$TMP/sum.json" files)" "--json --summary: files"
assert_eq $(((3 << 20) + 6)) "$(json_get "$TMP/sum.json" hot_bytes)" "--json --summary: hot_bytes"
assert_eq $((1 << 20)) "$(json_get "$TMP/sum.json" cold_bytes)" "--json --summary: cold_bytes"
assert_eq 1 "$(json_get "$TMP/sum.json" pinned_files)" "--json --summary: pinned_files"
# A walk that meets a file elsewhere reports it and still totals the rest.
run where -s "$MNT/d" "$PLAIN/f"
assert_eq 1 "$rc" "where over a tierfs and a plain file: exit status"
grep -qx "total: 2 files, hot 3.0 MiB, cold 1.0 MiB, stored .*, 1 pinned" "$TMP/out" ||
  fail "where -s with a plain file: $(cat "$TMP/out")"

# ---- cold_after=never; the chunk size is fixed, and said in human units -----------------------
unmount_tierfs
run mount "$STORE" "$MNT" -o chunk_size=4M
assert_eq 1 "$rc" "chunk_size=4M on a 1 MiB store: exit status"
grep -q "chunk_size is fixed when a store is created; this store has 1.0 MiB, not 4.0 MiB" \
  "$TMP/err" || fail "chunk_size mismatch: $(cat "$TMP/err")"
mount_tierfs cold_after=never
"$TIERFS" explain --json "$MNT/c" >"$TMP/explain.json" || fail "explain"
python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))[0]["policy"]["cold_after_s"] != -1)' \
  "$TMP/explain.json" || fail "cold_after=never: $(cat "$TMP/explain.json")"
unmount_tierfs
