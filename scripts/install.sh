#!/usr/bin/env bash
# Installs tierfs from this checkout's build, or removes exactly what it
# installed. Usage:
#   scripts/install.sh [--prefix DIR] [--sbindir DIR] [--build-dir DIR]
#   scripts/install.sh --uninstall [--prefix DIR]
#   --prefix DIR     where to install (default /usr/local): bin/tierfs,
#                    share/man/man8/{tierfs,mount.tierfs}.8,
#                    lib/systemd/system/tierfs@.service,
#                    share/bash-completion/completions/tierfs
#   --sbindir DIR    where the mount(8) helper links mount.tierfs and
#                    mount.fuse.tierfs go (default /sbin, where mount(8)
#                    looks for helpers)
#   --build-dir DIR  the build to install (default build/ in this checkout,
#                    brought up to date first by scripts/build.sh; another
#                    directory must already hold a build)
#   --uninstall      remove every file listed in
#                    PREFIX/share/tierfs/install-manifest, then the manifest
# Installing over an earlier install first removes what that one installed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX=/usr/local
SBINDIR=/sbin
BUILD=""
UNINSTALL=false

die() {
  echo "install: $*" >&2
  exit 1
}
usage() {  # usage EXIT_CODE
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit "$1"
}

while (($#)); do
  case $1 in
    --prefix | --sbindir | --build-dir)
      (($# >= 2)) || die "$1 needs a directory"
      case $1 in
        --prefix) PREFIX=$2 ;;
        --sbindir) SBINDIR=$2 ;;
        --build-dir) BUILD=$2 ;;
      esac
      shift 2
      ;;
    --uninstall) UNINSTALL=true; shift ;;
    -h | --help) usage 0 ;;
    *) echo "install: unknown argument: $1" >&2; usage 2 ;;
  esac
done

[ -z "${DESTDIR:-}" ] || die "DESTDIR is set: this script installs onto this machine (for a staged install run cmake --install with DESTDIR yourself)"

# check_dir NAME DIR — DIR must be an absolute path that is, or can be made,
# a directory this user may write.
check_dir() {
  local name=$1 dir=$2 up
  [[ $dir == /* ]] || die "$name $dir: not an absolute path"
  [[ ! -e $dir || -d $dir ]] || die "$name $dir: exists and is not a directory"
  up=$dir
  while [[ ! -e $up ]]; do up=$(dirname "$up"); done
  [[ -d $up && -w $up ]] || die "$name $dir: $up is not writable (run as root?)"
}
check_dir --prefix "$PREFIX"
PREFIX=$(realpath -ms "$PREFIX")  # normalised, links kept: /sbin stays /sbin
MANIFEST="$PREFIX/share/tierfs/install-manifest"

uninstall() {
  [[ -f $MANIFEST ]] || die "nothing to uninstall: $MANIFEST does not exist"
  local path
  while IFS= read -r path; do
    [[ $path == /* ]] || die "$MANIFEST: not an absolute path: $path"
    if [[ -L $path || -f $path ]]; then
      rm -f -- "$path"
      echo "removed $path"
    elif [[ -e $path ]]; then
      die "$path is not a file or link; left alone"
    else
      echo "already gone: $path"
    fi
  done <"$MANIFEST"
  rm -f -- "$MANIFEST"
  rmdir --ignore-fail-on-non-empty "$(dirname "$MANIFEST")"
}

if $UNINSTALL; then
  uninstall
  exit 0
fi

check_dir --sbindir "$SBINDIR"
SBINDIR=$(realpath -ms "$SBINDIR")
if [[ -z $BUILD ]]; then
  BUILD="$ROOT/build"
  "$ROOT/scripts/build.sh"
fi
[[ -x $BUILD/bin/tierfs && -f $BUILD/cmake_install.cmake ]] ||
  die "no tierfs build in $BUILD (build it first: cmake --build $BUILD)"
# mount.fuse.tierfs: the type a live tierfs mount has, so what mount(8)
# runs for every remount.
HELPERS=("$SBINDIR/mount.tierfs" "$SBINDIR/mount.fuse.tierfs")
for HELPER in "${HELPERS[@]}"; do
  [[ ! -e $HELPER || -L $HELPER ]] || die "$HELPER exists and is not a link; remove it first"
done

[[ ! -f $MANIFEST ]] || uninstall >/dev/null
cmake --install "$BUILD" --prefix "$PREFIX"
mkdir -p "$SBINDIR"
for HELPER in "${HELPERS[@]}"; do
  ln -sfn "$PREFIX/bin/tierfs" "$HELPER"
  echo "-- Installing: $HELPER -> $PREFIX/bin/tierfs"
done
mkdir -p "$(dirname "$MANIFEST")"
{
  cat "$BUILD/install_manifest.txt"
  echo  # cmake ends its manifest without a newline
  printf '%s\n' "${HELPERS[@]}"
} | sed '/^$/d' >"$MANIFEST"
# A systemd that runs the machine rereads its units (tierfs@.service).
if [[ -d /run/systemd/system ]]; then systemctl daemon-reload; fi
echo "install: done; $MANIFEST lists what was installed (scripts/install.sh --uninstall --prefix $PREFIX removes it)"
