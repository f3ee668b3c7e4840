#!/usr/bin/env bash
# Sets up everything (Debian packages, Release build) and mounts tierfs on
# the default store. Usage: scripts/run.sh [MOUNTPOINT] [-o OPTIONS]
#   MOUNTPOINT  default /mnt/tierfs
#   STORE       default var/default-store in this checkout (env TIERFS_STORE)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MNT="/mnt/tierfs"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then MNT="$1"; shift; fi
STORE="${TIERFS_STORE:-$ROOT/var/default-store}"

"$ROOT/scripts/build.sh"
mkdir -p "$MNT" "$(dirname "$STORE")"
if mountpoint -q "$MNT"; then
  echo "run: $MNT is already a mountpoint; unmount it first: $ROOT/build/bin/tierfs umount $MNT" >&2
  exit 1
fi
"$ROOT/build/bin/tierfs" mount "$STORE" "$MNT" "$@"
cat <<MSG
tierfs is mounted at $MNT (store: $STORE)
  status:   $ROOT/build/bin/tierfs status $MNT
  where:    $ROOT/build/bin/tierfs where $MNT/FILE
  unmount:  $ROOT/build/bin/tierfs umount $MNT
MSG
