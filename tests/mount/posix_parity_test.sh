#!/usr/bin/env bash
# Proves tierfs matches a native filesystem (results and errnos) for the edge cases in posix_parity_test.py.
source "$(dirname "$0")/lib.sh"

mount_tierfs
mkdir "$TMP/native"
python3 "$(dirname "$0")/posix_parity_test.py" "$MNT" "$TMP/native" || fail "POSIX parity mismatches (table above)"
unmount_tierfs
