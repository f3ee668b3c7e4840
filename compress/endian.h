// Little-endian encoding of fixed-width integers, byte by byte, for on-disk
// formats: independent of host byte order and struct padding.
//
// Thread-safety: pure functions on caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tierfs {

template <class T>
inline void PutLittleEndian(std::byte* dst, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) {
    dst[i] = static_cast<std::byte>(static_cast<uint64_t>(value) >> (8 * i));
  }
}

template <class T>
inline T GetLittleEndian(const std::byte* src) {
  uint64_t value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<uint64_t>(src[i]) << (8 * i);
  }
  return static_cast<T>(value);
}

}  // namespace tierfs
