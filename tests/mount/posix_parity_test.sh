#!/usr/bin/env bash
# Proves tierfs matches a native filesystem (results and errnos) for the edge
# cases in posix_parity_test.py, and that the tree they leave is the same as
# native's after a remount with the caches dropped.
source "$(dirname "$0")/lib.sh"

mount_tierfs
mkdir "$TMP/native"
python3 "$(dirname "$0")/posix_parity_test.py" "$MNT" "$TMP/native" || fail "POSIX parity mismatches (table above)"
remount_tierfs
compare_trees "$TMP/native" "$MNT"
unmount_tierfs
