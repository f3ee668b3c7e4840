// StoreSettings: the properties of a store fixed when it is created and
// recorded in its metadata (table meta): the store layout version, the chunk
// size and where the cold tier lives. Opening a store with different values
// is refused, since objects written under one chunk size or cold directory
// would be misread under another.
// Thread-safety: functions over a MetadataStore (itself thread-safe).
#pragma once

#include <cstdint>
#include <string>

#include "fusefs/metadata.h"
#include "store/object_store.h"

namespace tierfs {

inline constexpr int kStoreFormat = 1;

struct StoreSettings {
  uint64_t chunk_size = 0;
  std::string cold_dir;  // empty: STORE/cold
};

// Reads the settings; on a new store records the requested values (0 / empty:
// the defaults). A requested value that differs from the recorded one is an
// InvalidArgument naming it; a newer store format is NotSupported.
Result<StoreSettings> LoadStoreSettings(MetadataStore& meta, uint64_t requested_chunk,
                                        const std::string& requested_cold_dir);

// Object store options for these settings (frame size = min(chunk, 256 KiB)).
StoreOptions ObjectStoreOptions(const StoreSettings& settings);

// An empty hot object whose file holds blocks: a fallocate(KEEP_SIZE)
// reservation past the end of its file, kept (by mount-time trimming and by
// fsck) as native filesystems keep such blocks.
inline bool ReservationOnly(const ObjectInfo& o) {
  return o.tier == Tier::kHot && o.logical_size == 0 && o.stored_bytes > 0;
}

}  // namespace tierfs
