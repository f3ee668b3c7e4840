// LoadStoreSettings implementation.
#include "fusefs/store_settings.h"

#include <algorithm>

#include "fusefs/config.h"

namespace tierfs {

namespace {

// The recorded value of `key`, recording `requested` (or `fallback`) when
// there is none; a different non-empty `requested` is refused.
Result<std::string> FixedSetting(MetadataStore& meta, const std::string& key,
                                 const std::string& requested, const std::string& fallback) {
  auto stored = meta.GetSetting(key);
  if (stored.ok()) {
    if (!requested.empty() && requested != *stored) {
      return Status::InvalidArgument(key + " is fixed when a store is created; this store has " +
                                     (stored->empty() ? "the default" : *stored));
    }
    return stored;
  }
  if (!stored.status().IsNotFound()) return stored.status();
  std::string value = requested.empty() ? fallback : requested;
  TIERFS_RETURN_IF_ERROR(meta.SetSetting(key, value));
  return value;
}

}  // namespace

Result<StoreSettings> LoadStoreSettings(MetadataStore& meta, uint64_t requested_chunk,
                                        const std::string& requested_cold_dir) {
  TIERFS_ASSIGN_OR_RETURN(std::string format, FixedSetting(meta, "store_format", "",
                                                           std::to_string(kStoreFormat)));
  if (format != std::to_string(kStoreFormat)) {
    return Status::NotSupported("store format " + format + " is not supported (this tierfs reads " +
                                std::to_string(kStoreFormat) + ")");
  }
  StoreSettings s;
  TIERFS_ASSIGN_OR_RETURN(
      std::string chunk,
      FixedSetting(meta, "chunk_size", requested_chunk ? std::to_string(requested_chunk) : "",
                   std::to_string(kDefaultChunkSize)));
  auto parsed = ParseSize(chunk);
  if (!parsed.ok() || *parsed < kMinChunkSize || (*parsed & (*parsed - 1)) != 0) {
    return Status::Corruption("store records an invalid chunk_size: " + chunk);
  }
  s.chunk_size = *parsed;
  TIERFS_ASSIGN_OR_RETURN(s.cold_dir, FixedSetting(meta, "cold_dir", requested_cold_dir, ""));
  return s;
}

StoreOptions ObjectStoreOptions(const StoreSettings& settings) {
  StoreOptions so;
  so.cold_dir = settings.cold_dir;
  so.frame_size = static_cast<uint32_t>(std::min<uint64_t>(settings.chunk_size, kDefaultFrameSize));
  so.take_lock = false;  // the caller holds the store lock
  return so;
}

}  // namespace tierfs
