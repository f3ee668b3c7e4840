#!/usr/bin/env bash
# scripts/install.sh into a temporary prefix, then what it installed, used
# for real: the man pages rendered by man(1), the mount helper mounting a
# store, tierfs@.service checked by systemd-analyze verify and run as systemd
# would run it (tests/admin/unit_run.py: READY=1 once mounted, a file served,
# ExecStop unmounts, the daemon exits 0, the file is in the store), the bash
# completion loaded by bash-completion's own loader; then --uninstall
# removes exactly what was installed. Bad arguments are refused clearly.
# As root, the fstab lines of docs/install.md are mounted by mount(8) itself.
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../mount/lib.sh
source "$HERE/../mount/lib.sh"
: "${BUILD_DIR:?set BUILD_DIR to the build to install}"
INSTALL="$REPO_ROOT/scripts/install.sh"
P="$TMP/prefix"
S="$TMP/sbin"

# What the CLI itself says it has: the commands of `tierfs --help`, and the
# flags of `tierfs COMMAND --help` (sorted, one line each).
help_commands() {
  "$P/bin/tierfs" --help | sed -n '/^commands:/,/^$/p' | grep -oE '^  [a-z]+|\| [a-z]+' |
    grep -oE '[a-z]+' | sort | paste -sd' '
}
help_flags() {  # (pin --help exits 2, umount --help shows no flag)
  { "$P/bin/tierfs" "$1" --help || true; } | { grep -oE '(^|[ [])--?[a-z][a-z-]*' || true; } |
    { grep -oE -- '--?[a-z-]+' || true; } | sort -u | paste -sd' '
}

# ---- bad arguments ----------------------------------------------------------
refused() {  # refused EXPECTED_MESSAGE ARG... — install.sh fails, saying so
  local want=$1 out rc=0
  shift
  out=$(bash "$INSTALL" "$@" 2>&1) || rc=$?
  [[ $rc -ne 0 ]] || fail "install.sh $* succeeded"
  [[ $out == *"$want"* ]] || fail "install.sh $*: expected [$want] in: $out"
}
touch "$TMP/a-file"
refused "not an absolute path" --prefix relative/dir --build-dir "$BUILD_DIR"
refused "exists and is not a directory" --prefix "$TMP/a-file" --build-dir "$BUILD_DIR"
refused "--prefix needs a directory" --prefix
refused "unknown argument: --bogus" --bogus
refused "nothing to uninstall" --uninstall --prefix "$TMP/empty"
refused "no tierfs build in $TMP" --prefix "$P" --sbindir "$S" --build-dir "$TMP"
[[ ! -e $P && ! -e $S ]] || fail "a refused install.sh left files behind"

# ---- install ----------------------------------------------------------------
mkdir -p "$P/share/man/man8"
echo "not ours" >"$P/share/man/man8/other.8"  # must survive the uninstall
bash "$INSTALL" --prefix "$P" --sbindir "$S" --build-dir "$BUILD_DIR" >"$TMP/install.out"
MANIFEST="$P/share/tierfs/install-manifest"
UNIT="$P/lib/systemd/system/tierfs@.service"
expected="$P/bin/tierfs
$P/share/man/man8/tierfs.8
$P/share/man/man8/mount.tierfs.8
$P/share/bash-completion/completions/tierfs
$UNIT
$S/mount.tierfs
$S/mount.fuse.tierfs"
assert_eq "$(sort <<<"$expected")" "$(sort "$MANIFEST")" "install manifest"
installed=$(cd "$TMP" && find prefix sbin \( -type f -o -type l \) | sort)
assert_eq "$(sed "s|$TMP/||" <<<"$expected
$MANIFEST
$P/share/man/man8/other.8" | sort)" "$installed" "files under the prefix and sbindir"
assert_eq "$P/bin/tierfs" "$(readlink "$S/mount.tierfs")" "mount.tierfs link"
assert_eq "$P/bin/tierfs" "$(readlink "$S/mount.fuse.tierfs")" "mount.fuse.tierfs link"
grep -q "^ExecStart=$P/bin/tierfs mount -f " "$UNIT" || fail "the unit does not run $P/bin/tierfs"

# Installing again replaces the first install (same manifest, nothing stale).
bash "$INSTALL" --prefix "$P" --sbindir "$S" --build-dir "$BUILD_DIR" >/dev/null
assert_eq "$(sort <<<"$expected")" "$(sort "$MANIFEST")" "manifest after a reinstall"

# ---- man pages --------------------------------------------------------------
for page in tierfs mount.tierfs; do
  assert_eq "$P/share/man/man8/$page.8" "$(MANPATH="$P/share/man" man -w "$page")" "man -w $page"
  out=$(groff -man -ww -z "$P/share/man/man8/$page.8" 2>&1)
  [[ -z $out ]] || fail "groff warns about $page.8: $out"
  MANWIDTH=80 man -l "$P/share/man/man8/$page.8" >"$TMP/$page.txt"
  for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" "SEE ALSO"; do
    grep -q "^$section\$" "$TMP/$page.txt" || fail "$page(8) has no $section section"
  done
done
for section in COMMANDS "MOUNT OPTIONS" FILES SYSTEMD; do
  grep -q "^$section\$" "$TMP/tierfs.txt" || fail "tierfs(8) has no $section section"
done
COMMANDS=$(help_commands)
[[ -n $COMMANDS ]] || fail "tierfs --help lists no commands"
for cmd in $COMMANDS; do
  grep -Eq "^ {7}tierfs $cmd( |\$)" "$TMP/tierfs.txt" || fail "tierfs(8) SYNOPSIS lacks $cmd"
  for flag in $(help_flags "$cmd"); do
    grep -q -- "$flag" "$TMP/tierfs.txt" || fail "tierfs(8) does not document $cmd $flag"
  done
done
grep -q "^FSTAB\$" "$TMP/mount.tierfs.txt" || fail "mount.tierfs(8) has no FSTAB section"

# ---- the mount helper, called as mount(8) calls it --------------------------
"$S/mount.tierfs" "$STORE" "$MNT" -o rw,cold_after=3600
mountpoint -q "$MNT" || fail "mount.tierfs did not mount $MNT"
echo helper >"$MNT/by-helper"
unmount_tierfs

# ---- docs/install.md's fstab lines, mounted by mount(8) ----------------------
# mount(8) looks for helpers in /sbin only: in a mount namespace of its own
# the installed sbindir stands in for /sbin (nothing outside sees it), and
# -n keeps the host's /run/mount/utab out of it.
if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$TMP/mnt2"
  cat >"$TMP/fstab" <<FSTAB
$STORE  $MNT  tierfs  defaults,cold_after=86400,hot_capacity=100G  0  0
$TMP/store2  $TMP/mnt2  tierfs  _netdev,x-systemd.requires-mounts-for=$TMP  0  0
FSTAB
  unshare -m --propagation private bash -c '
    set -e
    trap "for m in \"\$2\" \"\$3\"; do
            ! mountpoint -q \"\$m\" || fusermount3 -u \"\$m\"; done" EXIT
    mount --bind "$1" /sbin
    for m in "$2" "$3"; do
      mount -n -T "$4" "$m"
      grep -q " $m .* - fuse.tierfs /" /proc/self/mountinfo  # source: the store path
      echo "by fstab" >"$m/by-fstab"
      [[ $(cat "$m/by-fstab") == "by fstab" ]]
      "$5" umount "$m"
    done' fstab "$S" "$MNT" "$TMP/mnt2" "$TMP/fstab" "$TIERFS" ||
    fail "mount(8) with the fstab lines of docs/install.md (above)"
else
  log "not root: the fstab lines are not mounted by mount(8) (it needs a mount namespace)"
fi

# ---- tierfs@.service ---------------------------------------------------------
INSTANCE=$(systemd-escape --path "$MNT")
for unit in "$UNIT" "$(dirname "$UNIT")/tierfs@$INSTANCE.service"; do
  # Documentation=man:... is checked against the installed pages.
  out=$(cd "$TMP" && MANPATH="$P/share/man" systemd-analyze verify "$unit" 2>&1) ||
    fail "systemd-analyze verify $unit: $out"
  [[ -z $out ]] || fail "systemd-analyze verify $unit warned: $out"
done
cat >"$TMP/store.conf" <<CONF
[Service]
Environment=TIERFS_STORE=$STORE
Environment=TIERFS_OPTIONS=cold_after=3600,promote_reads=0
CONF
rmdir "$MNT"  # ExecStartPre makes it
python3 "$HERE/unit_run.py" "$UNIT" "$INSTANCE" --dropin "$TMP/store.conf" -- bash -c '
  set -e
  [[ $(cat "$1/by-helper") == helper ]]
  [[ $(id -u) -ne 0 || $(cat "$1/by-fstab") == "by fstab" ]]
  echo "served by the unit" >"$1/by-unit"
  [[ $(cat "$1/by-unit") == "served by the unit" ]]
  [[ $(ps -o args= -p "$UNIT_MAIN_PID") == *"mount -f $2 $1 -o cold_after=3600,promote_reads=0" ]]
' check "$MNT" "$STORE" || fail "tierfs@$INSTANCE.service did not run cleanly (above)"
_store_lock_free || fail "the daemon still holds $STORE/LOCK after ExecStop"
mount_tierfs
assert_eq "served by the unit" "$(cat "$MNT/by-unit")" "file written through the unit, remounted"

# ---- bash completion, loaded the way bash-completion finds it ---------------
complete_test() {
  XDG_DATA_DIRS="$P/share" PATH="$P/bin:$PATH" bash --norc --noprofile -s "$@" <<'BASH'
source /usr/share/bash-completion/bash_completion
__load_completion tierfs || { echo "bash-completion did not load tierfs"; exit 1; }
[[ $(complete -p tierfs) == *"-F _tierfs"* ]] || { echo "not _tierfs: $(complete -p tierfs)"; exit 1; }
# compopt works only under readline's completion: record what it is told.
compopt() { COMPOPT="$*"; }
# offers WORD... — sets OFFERED to what _tierfs offers for the words (as bash splits them:
# at spaces and at COMP_WORDBREAKS, which makes "=" a word of its own).
offers() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]:0:2}"
  local w prev=${COMP_WORDS[1]}
  for w in "${COMP_WORDS[@]:2}"; do
    if [[ $w == = || $prev == = ]]; then COMP_LINE+="$w"; else COMP_LINE+=" $w"; fi
    prev=$w
  done
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  COMPOPT=""
  _tierfs tierfs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  OFFERED=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' ')
}
expect() {  # expect "WANT" WORD...
  local want=$1
  shift
  offers "$@"
  [[ $OFFERED == "$want" ]] || { echo "completing [$*]: expected [$want], got [$OFFERED]"; exit 1; }
}
# The commands and each command's flags are those of tierfs --help: $2 is
# the commands, then one argument "COMMAND FLAGS..." per command.
expect "$2" tierfs ""
for spec in "${@:3}"; do
  read -r c flags <<<"$spec"
  offers tierfs "$c" -
  got=$(tr ' ' '\n' <<<"$OFFERED" | grep -vx -- --help | paste -sd' ')
  [[ $got == "$flags" ]] || { echo "$c: completion offers [$got], --help shows [$flags]"; exit 1; }
done
expect "cold_after=" tierfs mount -o cold_a
[[ $COMPOPT == "-o nospace" ]] || { echo "-o completion: compopt [$COMPOPT], not -o nospace"; exit 1; }
expect "60,hot_capacity= 60,hot_high= 60,hot_low=" tierfs mount -o cold_after = 60,hot_
expect "ro,x-" tierfs mount -o ro,x
expect "cold hot" tierfs migrate --to ""
expect "$1" tierfs umount "$1"
# Other tests' tierfs may be mounted too, but nothing else is offered.
offers tierfs unmount ""
[[ " $OFFERED " == *" $1 "* && " $OFFERED " != *" /proc "* ]] ||
  { echo "tierfs unmount offers [$OFFERED]: not just the mounted tierfs"; exit 1; }
BASH
}
specs=()
for cmd in $COMMANDS; do specs+=("$cmd $(help_flags "$cmd")"); done
complete_test "$MNT" "$COMMANDS" "${specs[@]}" || fail "bash completion (above)"
unmount_tierfs
tfs fsck "$STORE" >"$TMP/fsck.out" || fail "fsck after the unit's run: $(cat "$TMP/fsck.out")"

# ---- uninstall ----------------------------------------------------------------
bash "$INSTALL" --uninstall --prefix "$P" >"$TMP/uninstall.out"
left=$(cd "$TMP" && find prefix sbin \( -type f -o -type l \) | sort)
assert_eq "prefix/share/man/man8/other.8" "$left" "files left after --uninstall"
refused "nothing to uninstall" --uninstall --prefix "$P"
