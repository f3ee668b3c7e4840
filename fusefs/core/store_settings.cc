// LoadStoreSettings implementation.
#include "fusefs/core/store_settings.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "fusefs/core/config.h"
#include "fusefs/core/handles.h"
#include "fusefs/core/units.h"

namespace tierfs {

namespace {

// How a recorded setting meets a requested one: kFixed refuses a different
// non-empty request; kDefault lets it win for this open only.
enum class Rule { kFixed, kDefault };

// How a recorded value reads in a message: as recorded, or (a size) in
// human units.
using Show = std::string (*)(const std::string& value);
std::string AsRecorded(const std::string& value) { return value; }
std::string AsSize(const std::string& value) {
  auto bytes = ParseSize(value);
  return bytes.ok() ? HumanBytes(*bytes) : value;
}

// The recorded value of `key`, recording `requested` (or `fallback`) when
// there is none.
Result<std::string> Setting(MetadataStore& meta, const std::string& key,
                            const std::string& requested, const std::string& fallback, Rule rule,
                            bool read_only, Show show = AsRecorded) {
  auto stored = meta.GetSetting(key);
  if (stored.ok()) {
    if (requested.empty() || requested == *stored) return stored;
    if (rule == Rule::kDefault) return requested;
    return Status::InvalidArgument(key + " is fixed when a store is created; this store has " +
                                   (stored->empty() ? "the default" : show(*stored)) + ", not " +
                                   show(requested));
  }
  if (!stored.status().IsNotFound()) return stored.status();
  std::string value = requested.empty() ? fallback : requested;
  // Read-only: what the first writable open will record.
  if (!read_only) TIERFS_RETURN_IF_ERROR(meta.SetSetting(key, value));
  return value;
}

// 32 random hex digits (128 bits).
std::string RandomHex128() {
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    char part[9];
    std::snprintf(part, sizeof(part), "%08x", static_cast<unsigned>(rd()));
    id += part;
  }
  return id;
}

}  // namespace

Result<StoreSettings> LoadStoreSettings(MetadataStore& meta, const MountConfig& requested) {
  const uint64_t requested_chunk = requested.chunk_size;
  const bool ro = requested.read_only;
  TIERFS_ASSIGN_OR_RETURN(
      std::string format,
      Setting(meta, "store_format", "", std::to_string(kStoreFormat), Rule::kFixed, ro));
  if (format != std::to_string(kStoreFormat)) {
    return Status::NotSupported("store format " + format + " is not supported (this tierfs reads " +
                                std::to_string(kStoreFormat) + ")");
  }
  StoreSettings s;
  TIERFS_ASSIGN_OR_RETURN(
      std::string chunk,
      Setting(meta, "chunk_size", requested_chunk ? std::to_string(requested_chunk) : "",
              std::to_string(kDefaultChunkSize), Rule::kFixed, ro, AsSize));
  auto parsed = ParseSize(chunk);
  if (!parsed.ok() || *parsed < kMinChunkSize || (*parsed & (*parsed - 1)) != 0) {
    return Status::Corruption("store records an invalid chunk_size: " + chunk);
  }
  s.chunk_size = *parsed;
  TIERFS_ASSIGN_OR_RETURN(s.store_id,
                          Setting(meta, "store_id", "", RandomHex128(), Rule::kFixed, ro));
  // (A store made before handle keys gets one at its first writable open:
  // file handles given out before then turn stale once.)
  TIERFS_ASSIGN_OR_RETURN(std::string handle_key,
                          Setting(meta, "handle_key", "", RandomHex128(), Rule::kFixed, ro));
  auto key = ParseHandleKey(handle_key);
  if (!key) return Status::Corruption("store records an invalid handle_key");
  s.handle_key = *key;
  TIERFS_ASSIGN_OR_RETURN(s.cold_backend, Setting(meta, "cold_backend", requested.cold_backend,
                                                  "dir", Rule::kFixed, ro));
  if (s.cold_backend != "dir" && !requested.cold_dir.empty()) {
    return Status::InvalidArgument("cold_dir= is for a cold tier in a directory; this store's is " +
                                   s.cold_backend);
  }
  TIERFS_ASSIGN_OR_RETURN(s.cold_dir,
                          Setting(meta, "cold_dir", requested.cold_dir, "", Rule::kFixed, ro));
  TIERFS_ASSIGN_OR_RETURN(s.ceph_conf, Setting(meta, "ceph_conf", requested.ceph_conf,
                                               "/etc/ceph/ceph.conf", Rule::kDefault, ro));
  TIERFS_ASSIGN_OR_RETURN(s.ceph_id,
                          Setting(meta, "ceph_id", requested.ceph_id, "admin", Rule::kDefault, ro));
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
  // A cold tier outside the store directory is shared by every copy of the
  // directory, so it records its owner (store/cold_owner.h); the default
  // STORE/cold is copied with the directory and shared by nobody.
  if (!settings.cold_dir.empty() || !so.rados.pool.empty()) so.owner_id = settings.store_id;
  so.take_lock = false;  // the caller holds the store lock
  return so;
}

}  // namespace tierfs
