// SipHash-2-4 (Aumasson and Bernstein, 2012) and the handle key.
#include "fusefs/handles.h"

#include <bit>

#include "fusefs/metadata.h"

namespace tierfs {

namespace {

uint64_t LoadLe(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

}  // namespace

uint64_t SipHash24(const HandleKey& key, std::span<const uint8_t> data) {
  SipState s{key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
             key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull};
  const size_t whole = data.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) s.Absorb(LoadLe(data.data() + i, 8));
  s.Absorb(LoadLe(data.data() + whole, data.size() - whole) |
           (static_cast<uint64_t>(data.size()) << 56));
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

std::optional<HandleKey> ParseHandleKey(const std::string& hex) {
  if (hex.size() != 32) return std::nullopt;
  HandleKey key{};
  for (size_t i = 0; i < 32; ++i) {
    const char c = hex[i];
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    key[i / 16] = (key[i / 16] << 4) | d;
  }
  return key;
}

uint32_t HandleGeneration(const HandleKey& key, uint64_t ino) {
  if (ino == kRootIno) return 0;
  uint8_t m[8];
  for (int i = 0; i < 8; ++i) m[i] = static_cast<uint8_t>(ino >> (8 * i));
  return static_cast<uint32_t>(SipHash24(key, m));
}

}  // namespace tierfs
