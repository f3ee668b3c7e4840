#include "store/object_key.h"

#include <charconv>
#include <cstdio>

namespace tierfs {

bool ParseHex16(std::string_view s, uint64_t* out) {
  if (s.size() != 16) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string ShardName(size_t shard) {
  char buf[3];
  std::snprintf(buf, sizeof(buf), "%02zx", shard % kShards);
  return buf;
}

std::string ObjectName(ObjectKey key) {
  char name[34];
  std::snprintf(name, sizeof(name), "%016llx.%016llx", static_cast<unsigned long long>(key.group),
                static_cast<unsigned long long>(key.index));
  return name;
}

bool ParseObjectName(std::string_view name, ObjectKey* key) {
  return name.size() == 33 && name[16] == '.' && ParseHex16(name.substr(0, 16), &key->group) &&
         ParseHex16(name.substr(17), &key->index);
}

std::string HotObjectPath(const std::string& hot_dir, ObjectKey key) {
  return hot_dir + "/" + ShardName(ShardOf(key)) + "/" + ObjectName(key);
}

}  // namespace tierfs
