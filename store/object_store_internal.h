// Private to store/: the object store's in-memory entry, open cold handle,
// table and small helpers, shared by object_store.cc (open, recovery,
// bookkeeping), object_io.cc (reads and writes) and tier_moves.cc.
// Thread-safety: see object_store.h; Entry fields are guarded by
// ObjectStore::mu_ (the analysis checks it for the table, which is
// PT_GUARDED_BY(mu_), not for an Entry& kept past the lock).
#pragma once

#include <algorithm>
#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "store/object_store.h"

namespace tierfs {

inline bool AllZero(std::span<const std::byte> s) {
  return std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; });
}

// An open cold object: the backend's object and its validated reader.
struct ObjectStore::ColdHandle {
  std::string name;  // ColdName(key), for messages
  std::unique_ptr<ColdObject> object;
  std::unique_ptr<ColdObjectReader> reader;
  std::atomic<int64_t> last_frame{-1};  // the last frame a read reached (DecodeAhead)
};

struct ObjectStore::Entry {
  Tier tier = Tier::kHot;
  uint64_t logical_size = 0;
  uint64_t stored = 0;
  int64_t last_access = 0;
  int64_t window_start = 0;
  int64_t last_read = 0;
  uint32_t reads = 0;  // separate read accesses in the window
  // Set from the store-wide ObjectStore::next_version_ by every change of
  // content (and at creation), so a value is never reused, not even when the
  // object is removed and created again: a tier move that saw version v
  // knows the object is unchanged iff it still has version v.
  uint64_t version = 0;
  uint64_t generation = 0;  // cold: frame cache generation
  bool damaged = false;
  MoveReason last_move = MoveReason::kNone;  // see ObjectInfo
  int64_t last_move_ns = 0;
  bool dir_dirty = false;  // hot file created since its directory was synced
  // Hot: `version` as of the last Sync that covered it; the object's file
  // has unsynced changes unless the two are equal.
  uint64_t synced_version = 0;
  // A complete copy of this object also lies at its path in the *other*
  // tier (a move whose clean-up unlink failed). Remove unlinks it too; the
  // next move into that tier replaces it; Open() resolves it (hot wins).
  bool stray_copy = false;
  // Hot: the file may hold blocks reserved by Allocate (KEEP_SIZE) that no
  // logical byte covers; `stored` is then refreshed from st_blocks when the
  // reservation changes (Allocate, Truncate), not per Stat().
  bool reserved = false;
  std::shared_ptr<File> hot;
  std::shared_ptr<ColdHandle> cold;
  bool in_lru = false;
  std::list<ObjectKey>::iterator lru_it;
};

// Ordered, so that all objects of a group are one range.
struct ObjectStore::Table : std::map<ObjectKey, Entry> {};

// Calls fn(key, entry) for every object of `group`, in index order. The
// caller holds ObjectStore::mu_.
template <class Table, class Fn>
void ForEachInGroup(Table& table, uint64_t group, Fn&& fn) {
  for (auto it = table.lower_bound(ObjectKey{group, 0});
       it != table.end() && it->first.group == group; ++it) {
    fn(it->first, it->second);
  }
}

}  // namespace tierfs
