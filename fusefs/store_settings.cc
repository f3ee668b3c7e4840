// LoadStoreSettings implementation.
#include "fusefs/store_settings.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "fusefs/config.h"

namespace tierfs {

namespace {

// The recorded value of `key`, recording `requested` (or `fallback`) when
// there is none; a different non-empty `requested` is refused.
Result<std::string> FixedSetting(MetadataStore& meta, const std::string& key,
                                 const std::string& requested, const std::string& fallback,
                                 bool read_only) {
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
  // Read-only: what the first writable open will record.
  if (!read_only) TIERFS_RETURN_IF_ERROR(meta.SetSetting(key, value));
  return value;
}

}  // namespace

// 32 random hex digits.
std::string NewStoreId() {
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    char part[9];
    std::snprintf(part, sizeof(part), "%08x", static_cast<unsigned>(rd()));
    id += part;
  }
  return id;
}

// A recorded value that a request may override for this open only.
Result<std::string> DefaultSetting(MetadataStore& meta, const std::string& key,
                                   const std::string& requested, const std::string& fallback,
                                   bool read_only) {
  auto stored = meta.GetSetting(key);
  if (stored.ok()) return requested.empty() ? *stored : requested;
  return FixedSetting(meta, key, requested, fallback, read_only);
}

Result<StoreSettings> LoadStoreSettings(MetadataStore& meta, const MountConfig& requested) {
  const uint64_t requested_chunk = requested.chunk_size;
  const bool ro = requested.read_only;
  TIERFS_ASSIGN_OR_RETURN(std::string format, FixedSetting(meta, "store_format", "",
                                                           std::to_string(kStoreFormat), ro));
  if (format != std::to_string(kStoreFormat)) {
    return Status::NotSupported("store format " + format + " is not supported (this tierfs reads " +
                                std::to_string(kStoreFormat) + ")");
  }
  StoreSettings s;
  TIERFS_ASSIGN_OR_RETURN(
      std::string chunk,
      FixedSetting(meta, "chunk_size", requested_chunk ? std::to_string(requested_chunk) : "",
                   std::to_string(kDefaultChunkSize), ro));
  auto parsed = ParseSize(chunk);
  if (!parsed.ok() || *parsed < kMinChunkSize || (*parsed & (*parsed - 1)) != 0) {
    return Status::Corruption("store records an invalid chunk_size: " + chunk);
  }
  s.chunk_size = *parsed;
  TIERFS_ASSIGN_OR_RETURN(s.store_id, FixedSetting(meta, "store_id", "", NewStoreId(), ro));
  TIERFS_ASSIGN_OR_RETURN(s.cold_backend,
                          FixedSetting(meta, "cold_backend", requested.cold_backend, "dir", ro));
  if (s.cold_backend != "dir" && !requested.cold_dir.empty()) {
    return Status::InvalidArgument("cold_dir= is for a cold tier in a directory; this store's is " +
                                   s.cold_backend);
  }
  TIERFS_ASSIGN_OR_RETURN(s.cold_dir, FixedSetting(meta, "cold_dir", requested.cold_dir, "", ro));
  TIERFS_ASSIGN_OR_RETURN(
      s.ceph_conf, DefaultSetting(meta, "ceph_conf", requested.ceph_conf, "/etc/ceph/ceph.conf", ro));
  TIERFS_ASSIGN_OR_RETURN(s.ceph_id, DefaultSetting(meta, "ceph_id", requested.ceph_id, "admin", ro));
  if (requested.rados_timeout) s.rados_timeout = requested.rados_timeout;
  return s;
}

StoreOptions ObjectStoreOptions(const StoreSettings& settings) {
  StoreOptions so;
  so.cold_dir = settings.cold_dir;
  if (settings.cold_backend.rfind("rados:", 0) == 0) {
    so.rados.pool = settings.cold_backend.substr(6);
    so.rados.conf = settings.ceph_conf;
    so.rados.id = settings.ceph_id;
    so.rados.ns = settings.store_id;
    so.rados.timeout_s = settings.rados_timeout;
  }
  so.frame_size = static_cast<uint32_t>(std::min<uint64_t>(settings.chunk_size, kDefaultFrameSize));
  so.take_lock = false;  // the caller holds the store lock
  return so;
}

}  // namespace tierfs
