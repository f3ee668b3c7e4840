// ObjectStore: the tiered object store under a store directory.
//
// An object is identified by an ObjectKey (group, index) — fusefs uses
// (inode, chunk). A hot object is a plain file under hot/<shard>/, written in
// place; a cold object is an immutable object in the cold object format
// (compress/FORMAT.md) held by a ColdBackend (store/cold_backend.h): files
// under cold/<shard>/ by default, or a Ceph RADOS pool. The tier of an
// object is where its copy is; the in-memory table built at Open() is only a
// cache of what the hot directories and the cold backend say. Every tier
// move writes and makes durable the new copy, commits it, and only then
// removes the source, so a crash at any point leaves at least one complete
// copy; Open() removes interrupted copies and resolves duplicates (hot wins,
// since both are complete). STORE.md beside this file documents the layout.
//
// Reads of hot objects are positional reads (or a File for splice); reads of
// cold objects decode only the frames they touch, through the FrameCache,
// into pooled buffers. Writing to a cold object promotes it first.
//
// ObjectStore is the facade over four parts, each with its state and its
// lock: the object table (object_table.h: keys to tier, sizes, versions,
// access counts, pins, promote hints), the open-handle cache
// (handle_cache.h), the cold reader (cold_reader.h: frames, the frame cache,
// the read-ahead workers) and the tier mover (tier_mover.h: demotion,
// promotion, copies, removal of copies). The facade owns the object locks
// and the writes, reads and syncs of object files (object_io.cc); opening,
// recovery and the queries are in object_store.cc.
//
// Thread-safety: all methods are thread-safe. Each object has a lock
// (striped shared_mutex): reads and writes take it shared; truncate, remove
// and the final swap of a tier move take it exclusive. Demote/Promote copy
// and compress with no lock held and swap only if the object did not change
// meanwhile (else they return Busy and leave it as it was). Lock order: an
// object lock (CopyObject takes two, in address order), then the lock of
// one part at a time (the table's, the handle cache's, or the frame cache's
// and those inside the pool and the cold backend): every part's lock is a
// leaf, released before another part is called, so there is no order among
// them to declare (no ACQUIRED_BEFORE between them; the stripes, a vector,
// are not something the attribute can name).
//
// Clang checks this discipline when it compiles (-Wthread-safety, see
// store/thread_annotations.h): each part's fields are GUARDED_BY its mutex,
// and the methods here and in the tier mover state the object locks they
// need or take. The object lock of a key is named by the expression
// LockFor(key) (handed to the mover as its `lock` parameter), which the
// analysis tells apart by the variable passed; so the methods that need it
// take `const ObjectKey&` (a by-value copy is an expression it cannot name,
// and would match the lock of any key). What it cannot see: that two keys
// may share a stripe (LockFor(a) and LockFor(b) are two locks to it, so
// neither a deadlock on one stripe nor the order of two object locks is
// checked), a key variable changed while its lock is held, and that the
// table's and the handle cache's callers hold the object lock (their
// headers say when they must). The public methods take keys by value; none
// may be called with an object lock held.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "compress/cold_object.h"
#include "store/buffer_pool.h"
#include "store/cold_backend.h"
#include "store/cold_rados.h"
#include "store/cold_reader.h"
#include "store/env.h"
#include "store/handle_cache.h"
#include "store/mutex.h"
#include "store/object_key.h"
#include "store/object_table.h"
#include "store/tier_mover.h"

namespace tierfs {

struct StoreOptions {
  std::string hot_dir;   // default: <store>/hot
  std::string cold_dir;  // default: <store>/cold (the cold tier when rados.pool is empty)
  // The cold tier on a RADOS pool instead of cold_dir when rados.pool is set.
  RadosOptions rados;
  // Tests: wraps the cold backend the store opens (fault injection through
  // the backend interface).
  std::function<std::unique_ptr<ColdBackend>(std::unique_ptr<ColdBackend>)> wrap_cold_backend;
  uint32_t frame_size = kDefaultFrameSize;
  CompressionOptions compression;
  uint64_t buffer_pool_bytes = 64ull << 20;
  uint32_t io_size = 256u << 10;
  uint32_t max_io = 1u << 20;  // largest single read; a pool class of this size exists
  uint64_t frame_cache_bytes = 64ull << 20;
  // Frames decoded ahead of a sequential cold reader, on one worker per
  // core (at most 4); bounded to an eighth of the frame cache. 0: none.
  // With the cold tier on RADOS, whose reads mostly wait on the network,
  // 4x as many frames on 8 workers.
  uint32_t decode_ahead_frames = 4;
  size_t open_files = 512;  // cached open object files
  int64_t promote_window_ns = 60'000'000'000;
  // Reads of an object closer together than this count as one access, so a
  // sequential scan does not look like repeated use.
  int64_t read_gap_ns = 1'000'000'000;
  bool take_lock = true;  // hold <store>/LOCK while open
  // The store id. When set, a writable open claims the cold tier before it
  // recovers or writes anything there (store/cold_owner.h): a cold tier
  // owned by another store, or by another copy of this store directory
  // that has been opened since the copy was made, is refused (Busy).
  // take_over claims it from another copy of this store deliberately.
  std::string owner_id;
  bool take_over = false;
  // Open without changing anything on disk: no directory is created, no
  // temp file removed, duplicates are resolved in memory only (hot wins),
  // LOCK is flock()ed only if it exists, files are opened O_RDONLY, and
  // every mutating method returns Status::Posix(EROFS, ...).
  bool read_only = false;
};

// The table's counts (TableStats) and those of the parts beside it.
struct StoreStats : TableStats {
  BufferPoolStats pool;  // bytes_preallocated: buffer_pool's buffers and the frame cache's
  uint64_t frame_cache_preallocated = 0;  // ... of which the frame cache's (cache_size)
  FrameCacheStats cache;
  uint64_t frames_decoded = 0;        // cold frames decoded, by anyone
  uint64_t frames_decoded_ahead = 0;  // ... of them by the read-ahead workers
};

// One chunk's part of a file read (ObjectStore::ReadChunk): the object's
// hot file to splice from, or its bytes copied out of the cold tier, or
// neither (a hole, or the range lies past the object's end).
struct ChunkRead {
  std::shared_ptr<File> file;  // hot: `length` bytes at the offset asked
  BufferLease data;            // cold: the `length` bytes
  size_t length = 0;           // bytes of the object in the range; the rest read as zeros
};

class ObjectStore {
 public:
  // Opens (creating when missing) the store in `dir`: takes the store lock,
  // creates the shard directories, removes temp files, resolves duplicate
  // copies and builds the in-memory table. With opts.read_only it changes
  // nothing on disk (see StoreOptions::read_only); `dir` must exist.
  static Result<std::unique_ptr<ObjectStore>> Open(Env* env, const std::string& dir,
                                                   const StoreOptions& opts);
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Writes src at offset, creating the object (hot) when missing and
  // promoting it when cold.
  Status Write(ObjectKey key, uint64_t offset, std::span<const std::byte> src);
  // Reads up to dst.size() bytes at offset; returns the count (short at the
  // end of the object). NotFound when the object does not exist.
  Result<size_t> Read(ObjectKey key, uint64_t offset, std::span<std::byte> dst);
  // Reads up to len bytes at offset into a pooled buffer (lease.size() = count).
  Result<BufferLease> ReadLease(ObjectKey key, uint64_t offset, size_t len);
  // A file read's piece in one chunk, in one pass (the object lock shared,
  // the table's lock once, the handle cache's once): [offset, offset + len)
  // of the object as its hot file (a hit in the handle cache costs no I/O),
  // or copied from its cold frames into a pooled buffer (as Read), or
  // nothing when the object is missing (a hole). `length` stops at the
  // object's end. A hot object counts as accessed (last_access), a cold one
  // as read (toward promotion), a range past the end as neither.
  // Corruption when it is a damaged cold object.
  Result<ChunkRead> ReadChunk(ObjectKey key, uint64_t offset, size_t len);
  // Has the OS read a hot object's file into the page cache in the
  // background (a sequential reader is about to reach it); nothing for a
  // missing object or a cold one (whose file is read ahead when opened).
  // Queued for the read-ahead workers: the hint itself allocates and maps
  // the pages, which is no work for the request that gives it.
  void WillNeed(ObjectKey key);
  Status Truncate(ObjectKey key, uint64_t size);
  // Frees [offset, offset+len) of a hot object (cold ones are promoted).
  Status PunchHole(ObjectKey key, uint64_t offset, uint64_t len);
  // Reserves disk blocks for [offset, offset+len) of the object's hot file
  // (fallocate KEEP_SIZE), creating the object when missing (logical size 0)
  // and promoting it when cold. The logical size does not change; stored
  // bytes include the reservation. NoSpace (ENOSPC) leaves the object as it
  // was (one this call created is removed again). A reservation lives only
  // in the hot file: demoting the object drops it (see STORE.md).
  Status Allocate(ObjectKey key, uint64_t offset, uint64_t len);
  // Removes the object; OK when it did not exist.
  Status Remove(ObjectKey key);
  // Removes every object of a group (all chunks of a file); returns how many.
  Result<uint64_t> RemoveGroup(uint64_t group);
  Result<ObjectInfo> Stat(ObjectKey key) const { return table_.Stat(key); }
  // Makes the object's data and its directory entry durable, and every
  // object file unlinked before the call (Remove, RemoveGroup, the source
  // of a finished tier move): a removed object cannot come back after a
  // crash once any Sync has returned. OK for a missing or cold object (which
  // still flushes the removals).
  Status Sync(ObjectKey key);
  // Sync of every object of the group (a file's fsync), doing only what is
  // owed: objects changed since their last sync are written back together
  // (all started before the first is waited for), and each directory that
  // gained an object is synced once.
  Status SyncGroup(uint64_t group);
  // Sync of every hot object changed since its last sync (unmount, a switch
  // to read-only): what this process wrote, not the whole store.
  Status SyncAll();
  // All objects, in key order; copied in slices (the table's lock is held
  // for a few thousand objects at a time), so not one atomic snapshot: an
  // object that changes meanwhile is seen as it was or as it is.
  std::vector<ObjectInfo> List() const { return table_.List(); }
  // The objects of `group` with an index in [first, last] (all of them by
  // default), in index order, at most `limit` of them, as one snapshot:
  // costs what those objects cost (a lookup in the ordered table, then one
  // step per object), not the width of the range, so that a range a caller
  // typed (a punch over exabytes of holes) costs only what exists in it.
  std::vector<ObjectInfo> ListGroup(uint64_t group, uint64_t first = 0, uint64_t last = UINT64_MAX,
                                    size_t limit = SIZE_MAX) const {
    return table_.ListGroup(group, first, last, limit);
  }
  GroupUsage UsageOf(uint64_t group) const { return table_.UsageOf(group); }

  // Tier moves. OK when the object already is in the target tier. `why` is
  // recorded as the object's last_move when it moves.
  Status Demote(ObjectKey key, MoveReason why = MoveReason::kRequest);
  Status Promote(ObjectKey key, MoveReason why = MoveReason::kRequest);
  // Makes dst a complete copy of src, replacing any existing dst object (in
  // either tier), in the tier src is in: a hot src gives a hot dst (bytes
  // copied, holes kept), a cold src a cold dst that is a byte copy of the
  // cold file as stored (never decoded). The copy is written to a temp name,
  // fsynced, renamed and its directory fsynced, so a crash leaves dst old or
  // new, never mixed. NotFound when src is missing; Corruption when it is a
  // damaged cold object. Holds src's lock shared and dst's exclusive for the
  // copy (readers of src go on; dst waits).
  Status CopyObject(ObjectKey src, ObjectKey dst);
  // Decodes every frame of a cold object and checks its checksums.
  Status Verify(ObjectKey key);

  // Pinned groups are never demoted by the migrator.
  void SetPinned(uint64_t group, bool pinned) { table_.SetPinned(group, pinned); }
  bool IsPinned(uint64_t group) const { return table_.IsPinned(group); }
  std::set<uint64_t> PinnedGroups() const { return table_.PinnedGroups(); }
  // Cold objects read often enough to deserve promotion (drained by the migrator).
  std::vector<ObjectKey> TakePromoteHints() { return table_.TakePromoteHints(); }
  void set_promote_reads(uint32_t n) { promote_reads_.store(n); }

  // The table's totals (kept as objects change: no walk), the pool's and the reader's.
  StoreStats stats() const;
  const StoreOptions& options() const { return opts_; }
  BufferPool& pool() { return pool_; }
  Env* env() const { return env_; }

  std::string HotPath(ObjectKey key) const { return HotObjectPath(opts_.hot_dir, key); }
  // Where an object's cold copy lives (a path, or rados:pool/ns/object).
  std::string ColdName(ObjectKey key) const { return cold_->NameOf(key); }
  // What holds the cold tier ("dir:PATH", "rados:POOL/NAMESPACE").
  std::string ColdTier() const { return cold_->Describe(); }

 private:
  ObjectStore(Env* env, std::string dir, const StoreOptions& opts,
              std::unique_ptr<ColdBackend> cold);
  // Builds the table (Open only).
  Status Recover();
  Status ScanHot();
  Status AddCold(const ColdListing& c);
  // EROFS when the store was opened read-only, else OK.
  Status CheckWritable() const;
  // The object lock of key: one of the stripes. See "Thread-safety" above
  // for how the annotations name it.
  SharedMutex& LockFor(const ObjectKey& key) const;
  // The damaged-object error of key (the table cannot name the object).
  Status Damaged(const ObjectKey& key) const;
  // Opens a hot object's file (the handle cache's opener).
  Result<std::shared_ptr<File>> OpenHot(const ObjectKey& key) const;
  // On a read-ahead worker (ColdReader::HotWillNeed): reads the object's
  // hot file into the page cache; nothing when it is missing or cold.
  void HotWillNeed(const ObjectKey& key) EXCLUDES(LockFor(key));
  // Runs fn on the object's hot file under its shared lock, creating the
  // object when missing and promoting it when cold; fn returns the new
  // minimum logical size of the object.
  Status WithHotFile(const ObjectKey& key,
                     const std::function<Result<uint64_t>(File&, uint64_t)>& fn)
      EXCLUDES(LockFor(key));
  // Creates an empty hot object (the table has none).
  Status CreateHotWithLockHeld(const ObjectKey& key) REQUIRES(LockFor(key));
  // Makes the object hot: created when missing, promoted when cold. Returns
  // whether it existed before.
  Result<bool> MakeHotWithLockHeld(const ObjectKey& key) REQUIRES(LockFor(key));
  Status RemoveWithLockHeld(const ObjectKey& key) REQUIRES(LockFor(key));
  // Sets a reserved hot entry's stored bytes from st_blocks.
  void RefreshStoredBytes(const ObjectKey& key) REQUIRES_SHARED(LockFor(key));
  // Sync and SyncGroup: syncs the owed files of `keys`, then their directories.
  Status SyncKeys(const std::vector<ObjectKey>& keys);

  Env* const env_;
  const std::string dir_;
  const StoreOptions opts_;
  std::unique_ptr<FileLock> lock_;           // set by Open
  const std::unique_ptr<ColdBackend> cold_;  // thread-safe itself
  BufferPool pool_;
  // The object locks, taken before any part's lock (LockFor).
  mutable std::vector<SharedMutex> object_locks_;
  std::atomic<uint32_t> promote_reads_{0};  // read by the table (ReadCounting)
  // The parts (thread-safe themselves). The cold reader is declared last:
  // its read-ahead workers use the others, and stop before they go.
  ObjectTable table_;
  HandleCache handles_;
  TierMover mover_;
  ColdReader reader_;
};

}  // namespace tierfs
