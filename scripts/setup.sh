#!/usr/bin/env bash
# Installs every Debian package tierfs needs to build, test and run.
# Idempotent and quiet; does nothing but a dpkg query when all are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang
  clang-format  # scripts/format-check.sh (Debian's: another version formats differently)
  libfuse3-dev fuse3
  # libfuse 3.18 from Debian's source package (scripts/libfuse.sh): its
  # build and its io_uring transport.
  meson dpkg-dev liburing-dev libnuma-dev
  libzstd-dev zstd libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev sqlite3 libxxhash-dev libsodium-dev
  python3 attr rsync git util-linux procps psmisc fio strace
  e2fsprogs  # mkfs.ext4 and e2fsck: the block-level power-cut test (blockcut_test)
  libsystemd-dev systemd scdoc man-db bash-completion
  prometheus prometheus-node-exporter curl libmicrohttpd-dev
  # The RADOS cold tier: librados (C and C++ API) to build; a one-node
  # cluster (scripts/ceph-dev.sh: one mon, one memstore OSD, no mgr) and the
  # ceph/rados CLIs and Debian's python3 binding for the rados tests.
  # About 60 packages, ~17 s from a warm mirror.
  librados-dev libradospp-dev ceph-mon ceph-osd ceph-common python3-rados uuid-runtime
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libfuse 3.18 (passthrough, io_uring) when the system's is older.
"$(dirname "$0")/libfuse.sh"
