// File handle generations: see handles.h.
#include "fusefs/core/handles.h"

#include "fusefs/meta/metadata.h"

namespace tierfs {

std::optional<HandleKey> ParseHandleKey(const std::string& hex) {
  HandleKey key{};
  size_t len = 0;
  const char* end = nullptr;
  if (hex.size() != 2 * key.size() ||
      sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      len != key.size() || end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  return key;
}

uint32_t HandleGeneration(const HandleKey& key, uint64_t ino) {
  if (ino == kRootIno) return 0;
  unsigned char m[8], out[crypto_shorthash_BYTES];
  for (int i = 0; i < 8; ++i) m[i] = static_cast<unsigned char>(ino >> (8 * i));
  crypto_shorthash(out, m, sizeof(m), key.data());
  return static_cast<uint32_t>(out[0]) | static_cast<uint32_t>(out[1]) << 8 |
         static_cast<uint32_t>(out[2]) << 16 | static_cast<uint32_t>(out[3]) << 24;
}

}  // namespace tierfs
