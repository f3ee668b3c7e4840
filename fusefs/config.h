// MountConfig: everything `tierfs mount` can be told, and the parser of the
// -o option list. Unknown or malformed options are errors naming the option.
// Thread-safety: plain values and a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compress/cold_object.h"
#include "compress/status.h"
#include "store/policy.h"

namespace tierfs {

inline constexpr uint64_t kDefaultChunkSize = 4ull << 20;

struct MountConfig {
  std::string store_dir;
  std::string mountpoint;
  bool foreground = false;
  PolicyConfig policy;
  CompressionOptions compression;
  uint64_t chunk_size = 0;  // 0: the store's (kDefaultChunkSize for a new store)
  std::string cold_dir;     // empty: the store's (STORE/cold for a new store)
  uint64_t buffer_pool = 64ull << 20;
  uint64_t cache_size = 64ull << 20;
  uint64_t migrate_rate = 0;  // bytes/s, 0 = unlimited
  std::string log_level = "info";
  bool sync_full = false;  // SQLite synchronous=FULL
  bool read_only = false;
  bool allow_other = false;
  // Options passed to libfuse unchanged (allow_other, fsname=, ...).
  std::vector<std::string> fuse_options;
};

// Parses "1024", "64K", "16M", "2G", "1T" (binary multiples).
Result<uint64_t> ParseSize(const std::string& text);
// Applies a comma-separated option list (as after -o) to config.
Status ApplyMountOptions(const std::string& list, MountConfig* config);

}  // namespace tierfs
