#!/usr/bin/env bash
# The SIGKILL crash loop of tests/stress/crash_test.sh with the cold tier on
# a pool of the test cluster: every round kills the daemon in the middle of
# fsync'ed writes and tier moves to and from the pool, and the remounted
# store (and fsck) must keep the durability contract.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -z "${CEPH_CONF:-}" || ! -f "$CEPH_CONF" ]]; then
  [[ "${CI:-}" == "true" ]] && { echo "crash_test: CI=true but no cluster (CEPH_CONF)" >&2; exit 1; }
  echo "crash_test: CEPH_CONF names no cluster config; skipped" >&2
  exit 77
fi
CEPH_DEV=../../scripts/ceph-dev.sh
POOL="tierfs-crash-$$"
bash "$CEPH_DEV" pool "$(dirname "$CEPH_CONF")" "$POOL"
trap 'timeout 60 ceph -c "$CEPH_CONF" osd pool rm "$POOL" "$POOL" --yes-i-really-really-mean-it >/dev/null 2>&1 || true' EXIT
CRASH_EXTRA_OPTS="cold_backend=rados:$POOL ceph_conf=$CEPH_CONF rados_timeout=10" \
  CRASH_ROUNDS="${CRASH_ROUNDS:-8}" bash ../stress/crash_test.sh
