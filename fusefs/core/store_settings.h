// StoreSettings: the properties of a store fixed when it is created and
// recorded in its metadata (table meta): the store layout version, the store
// id, the file handle key (fusefs/core/handles.h), the chunk size and where the cold tier lives (a
// directory, or a RADOS pool: the store's objects are in the RADOS namespace named by its id).
// Opening a store with different values is refused, since objects written
// under one chunk size or cold tier would be misread or lost under another.
// How to reach a Ceph cluster (ceph_conf, ceph_id) is recorded at creation
// too, but a mount may give other values (a moved config, another key).
// Thread-safety: functions over a MetadataStore (itself thread-safe).
#pragma once

#include <cstdint>
#include <string>

#include "fusefs/core/config.h"
#include "fusefs/core/handles.h"
#include "fusefs/meta/metadata.h"
#include "store/object_store.h"

namespace tierfs {

inline constexpr int kStoreFormat = 1;

struct StoreSettings {
  std::string store_id;    // 32 hex digits, random at creation
  HandleKey handle_key{};  // random at creation (fusefs/core/handles.h)
  uint64_t chunk_size = 0;
  std::string cold_dir;      // empty: STORE/cold
  std::string cold_backend;  // "dir" or "rados:POOL"
  std::string ceph_conf, ceph_id;
  uint32_t rados_timeout = 30;
};

// Reads the settings; on a new store records the requested values of
// `requested` (chunk_size, cold_dir, cold_backend, ceph_conf, ceph_id; 0 /
// empty: the defaults). A requested value that differs from a fixed recorded
// one is an InvalidArgument naming it; a newer store format is NotSupported.
Result<StoreSettings> LoadStoreSettings(MetadataStore& meta, const MountConfig& requested);

// Object store options for these settings (frame size = min(chunk, 256 KiB)).
StoreOptions ObjectStoreOptions(const StoreSettings& settings);

// An empty hot object whose file holds blocks: a fallocate(KEEP_SIZE)
// reservation past the end of its file, kept (by mount-time trimming and by
// fsck) as native filesystems keep such blocks.
inline bool ReservationOnly(const ObjectInfo& o) {
  return o.tier == Tier::kHot && o.logical_size == 0 && o.stored_bytes > 0;
}

}  // namespace tierfs
