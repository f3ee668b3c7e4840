// ObjectKey: the name of an object in the store, and how it is spelled on
// disk: "<group:016x>.<index:016x>" in shard directory hash(key) mod 256.
// Shared by the object store, the cold backends and fsck.
// Thread-safety: plain values and pure functions.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tierfs {

struct ObjectKey {
  uint64_t group = 0;  // fusefs: inode number
  uint64_t index = 0;  // fusefs: chunk number
  bool operator==(const ObjectKey&) const = default;
  auto operator<=>(const ObjectKey&) const = default;
};

struct ObjectKeyHash {
  size_t operator()(const ObjectKey& k) const {
    uint64_t h = k.group * 0x9E3779B97F4A7C15ULL;
    h ^= k.index + 0x7F4A7C159E3779B9ULL + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

inline constexpr size_t kShards = 256;
// In the name of a file a move or copy is still writing (never an object).
inline constexpr std::string_view kTempMarker = ".tmp.";

inline size_t ShardOf(ObjectKey key) { return (ObjectKeyHash()(key) >> 24) % kShards; }
// "00" .. "ff".
std::string ShardName(size_t shard);
// "<group:016x>.<index:016x>"
std::string ObjectName(ObjectKey key);
// Exactly 16 hex digits.
bool ParseHex16(std::string_view s, uint64_t* out);
// The inverse of ObjectName; false for any other name.
bool ParseObjectName(std::string_view name, ObjectKey* key);
// A hot object's file: "<hot_dir>/<shard>/<name>".
std::string HotObjectPath(const std::string& hot_dir, ObjectKey key);

}  // namespace tierfs
