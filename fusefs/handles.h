// File handle generations. The kernel's FUSE file handle (what NFS and
// open_by_handle_at hand out) is the inode number and a 32-bit generation
// (fs/fuse/inode.c, fuse_encode_fh). Inode numbers are sequential, so the
// generation is what keeps a handle from being guessed: it is SipHash-2-4
// of the inode number under the store's handle key (128 random bits recorded
// in its metadata at creation, StoreSettings::handle_key), so it needs no
// column in the inode row, is the same at every mount and cannot be derived
// from other handles. Inode numbers are never reused in a store, so a
// generation never has to change.
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace tierfs {

using HandleKey = std::array<uint64_t, 2>;  // SipHash's k0, k1

// SipHash-2-4 of `data` under `key`.
uint64_t SipHash24(const HandleKey& key, std::span<const uint8_t> data);

// The key that 32 hex digits spell; nullopt when they do not.
std::optional<HandleKey> ParseHandleKey(const std::string& hex);

// The generation of inode `ino`. The root's is 0: the kernel gives its root
// inode generation 0 itself (it never looks the root up).
uint32_t HandleGeneration(const HandleKey& key, uint64_t ino);

}  // namespace tierfs
