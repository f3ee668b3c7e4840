// File handle generations. The kernel's FUSE file handle (what NFS and
// open_by_handle_at hand out) is the inode number and a 32-bit generation
// (fs/fuse/inode.c, fuse_encode_fh). Inode numbers are sequential, so the
// generation is what keeps a handle from being guessed: it is SipHash-2-4
// (libsodium's crypto_shorthash) of the inode number under the store's
// handle key (128 random bits recorded in its metadata at creation,
// StoreSettings::handle_key), so it needs no column in the inode row, is the
// same at every mount and cannot be derived from other handles. Inode
// numbers are never reused in a store, so a generation never has to change.
// Thread-safety: pure functions.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace tierfs {

using HandleKey = std::array<unsigned char, crypto_shorthash_KEYBYTES>;

// The key that 32 hex digits spell (byte by byte, in order); nullopt when
// they do not.
std::optional<HandleKey> ParseHandleKey(const std::string& hex);

// The generation of inode `ino`: the first 4 bytes (little-endian) of the
// SipHash-2-4 of its 8 little-endian bytes. The root's is 0: the kernel
// gives its root inode generation 0 itself (it never looks the root up).
// A handle given out once must stay valid: this definition is part of the
// store's format (tests/fusefs/core/filesystem_test.cc pins it).
uint32_t HandleGeneration(const HandleKey& key, uint64_t ino);

}  // namespace tierfs
