#!/usr/bin/env bash
# Builds the libfuse that tierfs links when the system's is older than 3.18
# (Debian 12 ships 3.14): Debian's own source package fuse3 3.18.3, from
# Debian's archive (sid's deb-src, signed by Debian's archive key as the
# binaries are; nothing else on the network), built as a static library
# into $TIERFS_LIBFUSE_PREFIX (default /opt/tierfs/libfuse-3.18.3), which
# CMake looks in. libfuse 3.18 brings FUSE passthrough and FUSE over
# io_uring (docs/transport.md says what each buys and why this route).
#
# Idempotent: does nothing when the prefix already holds the build, or when
# pkg-config finds a system libfuse >= 3.18 (used as is). scripts/setup.sh
# runs it.
set -euo pipefail

VERSION=3.18.3
PREFIX=${TIERFS_LIBFUSE_PREFIX:-/opt/tierfs/libfuse-$VERSION}
STAMP="$PREFIX/.tierfs-built"

if pkg-config --atleast-version=3.18 fuse3 2>/dev/null; then
  exit 0  # the system's libfuse will do
fi
[[ -e "$STAMP" ]] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "libfuse: building Debian's fuse3 $VERSION into $PREFIX" >&2

# A deb-src line for sid, for this one download: its own sources file and
# list directory, so the machine's apt lists (and what apt-get install
# picks) are untouched.
mkdir -p "$work/lists/partial" "$work/src"
cat >"$work/sid-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o "Dir::Etc::sourcelist=$work/sid-src.sources" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::lists=$work/lists" -o "APT::Sandbox::User=root")
$SUDO apt-get "${apt_opts[@]}" update -qq
(cd "$work/src" && $SUDO apt-get "${apt_opts[@]}" source -qq --download-only "fuse3=$VERSION-1" >/dev/null)
# apt checked the .dsc and the tarballs against the signed Sources index;
# dpkg-source checks the tarballs against the .dsc (--no-check skips only
# the uploader's own signature, whose keyring Debian 12 lacks).
(cd "$work/src" && dpkg-source -x --no-check "fuse3_$VERSION-1.dsc" fuse3 >/dev/null)

# Only the library: no utils (the system's fusermount3 mounts for users),
# no examples, no tests. io_uring needs liburing and libnuma (setup.sh
# installs their -dev packages); without them meson builds it without.
meson setup "$work/build" "$work/src/fuse3" --prefix="$PREFIX" --buildtype=release \
  -Ddefault_library=static -Dutils=false -Dexamples=false -Dtests=false \
  -Denable-io-uring=true >/dev/null
ninja -C "$work/build" >/dev/null
$SUDO ninja -C "$work/build" install >/dev/null
$SUDO touch "$STAMP"
echo "libfuse: done" >&2
