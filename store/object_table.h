// ObjectTable: the object store's in-memory table. For every object its
// tier, sizes, version, access statistics and flags; beside them the pinned
// groups, the promote hints and the move counters. A cache of what the hot
// directories and the cold backend say, built when the store opens
// (ObjectStore::Open) and kept current by the store's operations; it does no
// I/O and knows nothing of files.
//
// Thread-safety: thread-safe. One mutex guards all of it, and it is a leaf:
// nothing is called out of the table while it is held (the functions given
// to With() must keep to the entry). Each call is atomic, a sequence of calls
// is not: ObjectStore holds the object's lock (ObjectStore::LockFor) around
// a read-then-update that must see the object unchanged, and only it takes
// the table's lock under an object lock, never the other way round.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <type_traits>
#include <vector>

#include "compress/status.h"
#include "store/mutex.h"
#include "store/object_key.h"

namespace tierfs {

enum class Tier : uint8_t { kHot, kCold };

// Why an object last changed tier (ObjectInfo::last_move): the migrator's
// reasons (idle past cold_after, hot tier over its high watermark, read
// often enough), a write into a cold object, or an explicit request (tierfs
// migrate, the default of Demote/Promote). Kept in memory only: kNone for an
// object that has not moved since the store was opened.
enum class MoveReason : uint8_t { kNone, kIdle, kWatermark, kReads, kWrite, kRequest };
// "none", "idle", "watermark", "reads", "write", "request".
const char* MoveReasonName(MoveReason r);

struct ObjectInfo {
  ObjectKey key;
  Tier tier = Tier::kHot;
  uint64_t logical_size = 0;
  uint64_t stored_bytes = 0;  // bytes the object's file takes on disk
  int64_t last_access_ns = 0;
  uint32_t recent_reads = 0;                 // read accesses within the promote window
  bool damaged = false;                      // cold object that failed validation at open
  MoveReason last_move = MoveReason::kNone;  // why it came to this tier (if it moved)
  int64_t last_move_ns = 0;                  // when (0 with kNone)
  int64_t read_window_start_ns = 0;          // start of the promote window recent_reads counts in
};

struct GroupUsage {
  uint64_t hot_bytes = 0;     // logical bytes in hot objects
  uint64_t cold_bytes = 0;    // logical bytes in cold objects
  uint64_t stored_bytes = 0;  // bytes on disk for both
};

// The table's totals (ObjectStore::stats() adds the pool's and the cold
// reader's).
struct TableStats {
  uint64_t hot_objects = 0, hot_bytes = 0, hot_stored_bytes = 0;
  uint64_t cold_objects = 0, cold_bytes = 0, cold_stored_bytes = 0;
  uint64_t damaged_objects = 0;
  uint64_t promotions = 0, demotions = 0, moves_abandoned = 0;
};

// One object's entry.
struct ObjectEntry {
  Tier tier = Tier::kHot;
  uint64_t logical_size = 0;
  uint64_t stored = 0;
  int64_t last_access = 0;
  int64_t window_start = 0;
  int64_t last_read = 0;
  uint32_t reads = 0;  // separate read accesses in the window
  // From ObjectTable::NewVersion() at every change of content (and at
  // creation), so a value is never reused, not even when the object is
  // removed and created again: a tier move that saw version v knows the
  // object is unchanged iff it still has version v.
  uint64_t version = 0;
  uint64_t generation = 0;  // cold: frame cache generation (NewGeneration())
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
};

// What a read needs of an object (NoteRead).
struct ReadView {
  Tier tier = Tier::kHot;
  uint64_t logical_size = 0;
  uint64_t generation = 0;
};

// How a read is counted (NoteRead). kRead: a read access, in the promote
// window too. kChunk: one chunk's part of a file read (ObjectStore::
// ReadChunk): nothing when it starts at or past the object's end; a hot
// object only has its last access set (it is handed out for splice); a cold
// one is counted as kRead.
enum class ReadKind : uint8_t { kRead, kChunk };

// How reads count toward promotion (from StoreOptions; promote_reads may
// change while the store is open).
struct ReadCounting {
  int64_t window_ns = 0;                                 // StoreOptions::promote_window_ns
  int64_t gap_ns = 0;                                    // StoreOptions::read_gap_ns
  const std::atomic<uint32_t>* promote_reads = nullptr;  // 0: no hints
};

class ObjectTable {
 public:
  explicit ObjectTable(ReadCounting counting) : counting_(counting) {}
  ObjectTable(const ObjectTable&) = delete;
  ObjectTable& operator=(const ObjectTable&) = delete;

  // ---- one object ----------------------------------------------------------
  // Calls fn(ObjectEntry* e) with the table locked, e the key's entry or
  // nullptr when there is none, and returns what fn returns. fn keeps to e:
  // no call into the store (see "Thread-safety"). What fn changes of the
  // entry's tier, sizes and damage is carried into the totals (stats()).
  template <class Fn>
  auto With(const ObjectKey& key, Fn&& fn) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    auto it = table_.find(key);
    if (it == table_.end()) return fn(static_cast<ObjectEntry*>(nullptr));
    ObjectEntry* e = &it->second;
    Count(*e, false);
    if constexpr (std::is_void_v<decltype(fn(e))>) {
      fn(e);
      Count(*e, true);
    } else {
      auto result = fn(e);
      Count(*e, true);
      return result;
    }
  }
  template <class Fn>
  auto With(const ObjectKey& key, Fn&& fn) const EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    auto it = table_.find(key);
    return fn(it == table_.end() ? nullptr : static_cast<const ObjectEntry*>(&it->second));
  }
  bool Contains(const ObjectKey& key) const EXCLUDES(mu_);
  // Makes e the key's entry (replacing any), with a new version, and a new
  // generation when it is cold (no frame of an earlier copy is ever served
  // for it); drops the key's promote hint. A new object, or a new copy.
  void Install(const ObjectKey& key, ObjectEntry e) EXCLUDES(mu_);
  // Removes the key's entry and its promote hint.
  void Erase(const ObjectKey& key) EXCLUDES(mu_);
  // Records a read of the object (see ReadKind) and returns what the read
  // needs. NotFound when there is no object; Corruption (to be named by the
  // caller) when it is a damaged cold object.
  Result<ReadView> NoteRead(const ObjectKey& key, uint64_t offset, ReadKind kind, int64_t now)
      EXCLUDES(mu_);
  Result<ObjectInfo> Stat(const ObjectKey& key) const EXCLUDES(mu_);

  // ---- tier moves ----------------------------------------------------------
  // The entry after a demotion: cold, `stored` bytes, a new generation.
  void Demoted(const ObjectKey& key, uint64_t stored, MoveReason why, int64_t now) EXCLUDES(mu_);
  // The entry after a promotion: hot, a new version; `stray` when the cold
  // copy could not be removed.
  void Promoted(const ObjectKey& key, bool stray, MoveReason why, int64_t now) EXCLUDES(mu_);
  // True when the entry still satisfies `unchanged`; else counts a move
  // abandoned and returns false.
  bool Unchanged(const ObjectKey& key, const std::function<bool(const ObjectEntry&)>& unchanged)
      EXCLUDES(mu_);
  uint64_t NewVersion() { return ++next_version_; }
  uint64_t NewGeneration() { return next_generation_++; }

  // ---- many objects --------------------------------------------------------
  // See ObjectStore::List (in slices, not one snapshot), ListGroup, UsageOf.
  std::vector<ObjectInfo> List() const EXCLUDES(mu_);
  std::vector<ObjectInfo> ListGroup(uint64_t group, uint64_t first, uint64_t last,
                                    size_t limit) const EXCLUDES(mu_);
  GroupUsage UsageOf(uint64_t group) const EXCLUDES(mu_);
  // The keys of a group's objects; of every hot object changed since its
  // last sync.
  std::vector<ObjectKey> GroupKeys(uint64_t group) const EXCLUDES(mu_);
  std::vector<ObjectKey> UnsyncedKeys() const EXCLUDES(mu_);
  // The totals are kept as entries change, so this costs the same on any
  // store (statfs asks it, on behalf of anyone who runs df).
  TableStats stats() const EXCLUDES(mu_);

  // ---- pins and promote hints ----------------------------------------------
  void SetPinned(uint64_t group, bool pinned) EXCLUDES(mu_);
  bool IsPinned(uint64_t group) const EXCLUDES(mu_);
  std::set<uint64_t> PinnedGroups() const EXCLUDES(mu_);
  std::vector<ObjectKey> TakePromoteHints() EXCLUDES(mu_);

 private:
  static ObjectInfo InfoOf(const ObjectKey& key, const ObjectEntry& e);
  // Adds e's objects and bytes to totals_ (add) or takes them out, around
  // every change of an entry.
  void Count(const ObjectEntry& e, bool add) REQUIRES(mu_);
  // Calls fn for every object in key order, holding mu_ for at most
  // kListSlice objects at a time: a walk over the whole store (the
  // migrator's pass, fsck) never makes foreground I/O wait for all of it,
  // only for one slice. An object that changes meanwhile is seen as it was
  // or as it is.
  static constexpr size_t kListSlice = 4096;
  void ForEachSliced(const std::function<void(const ObjectKey&, const ObjectEntry&)>& fn) const
      EXCLUDES(mu_);
  // Calls fn(key, entry) for every object of `group`, in index order.
  template <class Fn>
  void ForEachInGroup(uint64_t group, Fn&& fn) const REQUIRES(mu_) {
    for (auto it = table_.lower_bound(ObjectKey{group, 0});
         it != table_.end() && it->first.group == group; ++it) {
      fn(it->first, it->second);
    }
  }

  const ReadCounting counting_;
  // Need no lock: each value is handed out once.
  std::atomic<uint64_t> next_version_{0};  // only ever grows
  std::atomic<uint64_t> next_generation_{1};

  mutable Mutex mu_;
  // Ordered, so that all objects of a group are one range.
  std::map<ObjectKey, ObjectEntry> table_ GUARDED_BY(mu_);
  std::set<uint64_t> pinned_ GUARDED_BY(mu_);
  std::set<ObjectKey> promote_hints_ GUARDED_BY(mu_);
  // The objects, bytes and damaged objects of table_ by tier (the
  // TableStats fields a walk would count), kept by Count().
  TableStats totals_ GUARDED_BY(mu_);
  uint64_t promotions_ GUARDED_BY(mu_) = 0;
  uint64_t demotions_ GUARDED_BY(mu_) = 0;
  uint64_t abandoned_ GUARDED_BY(mu_) = 0;
};

}  // namespace tierfs
