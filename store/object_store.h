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
// Thread-safety: all methods are thread-safe. Each object has a lock (striped
// shared_mutex): reads and writes take it shared; truncate, remove and the
// final swap of a tier move take it exclusive. Demote/Promote copy and
// compress with no lock held and swap only if the object did not change
// meanwhile (else they return Busy and leave it as it was). Lock order: an
// object lock (CopyObject takes two, in address order), then mu_, then the
// locks inside the pool, the frame cache and the cold backend.
//
// Clang checks this discipline when it compiles (-Wthread-safety, see
// store/thread_annotations.h): mu_ guards the table and every field marked
// GUARDED_BY, and each private method states the locks it needs or takes.
// The object lock of a key is named by the expression LockFor(key), which
// the analysis tells apart by the variable passed; so the methods that need
// it take `const ObjectKey&` (a by-value copy is an expression it cannot
// name, and would match the lock of any key). What it cannot see: that two
// keys may share a stripe (LockFor(a) and LockFor(b) are two locks to it, so
// neither a deadlock on one stripe nor the order of two object locks is
// checked), a key variable changed while its lock is held, and an Entry&
// used after mu_ is released (Entry's fields are guarded only through
// table_). The public methods take keys by value and say EXCLUDES(mu_)
// only; none may be called with an object lock held.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "compress/cold_object.h"
#include "store/buffer_pool.h"
#include "store/cold_backend.h"
#include "store/cold_rados.h"
#include "store/dir_syncs.h"
#include "store/env.h"
#include "store/frame_cache.h"
#include "store/mutex.h"
#include "store/object_key.h"
#include "store/worker_pool.h"

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

struct StoreStats {
  uint64_t hot_objects = 0, hot_bytes = 0, hot_stored_bytes = 0;
  uint64_t cold_objects = 0, cold_bytes = 0, cold_stored_bytes = 0;
  uint64_t damaged_objects = 0;
  uint64_t promotions = 0, demotions = 0, moves_abandoned = 0;
  BufferPoolStats pool;
  FrameCacheStats cache;
  uint64_t frames_decoded = 0;        // cold frames decoded, by anyone
  uint64_t frames_decoded_ahead = 0;  // ... of them by the read-ahead workers
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
  Status Write(ObjectKey key, uint64_t offset, std::span<const std::byte> src) EXCLUDES(mu_);
  // Reads up to dst.size() bytes at offset; returns the count (short at the
  // end of the object). NotFound when the object does not exist.
  Result<size_t> Read(ObjectKey key, uint64_t offset, std::span<std::byte> dst) EXCLUDES(mu_);
  // Reads up to len bytes at offset into a pooled buffer (lease.size() = count).
  Result<BufferLease> ReadLease(ObjectKey key, uint64_t offset, size_t len) EXCLUDES(mu_);
  // The open file of a hot object, for zero-copy splice; nullptr when the
  // object is cold (NotFound when missing). Counts as a read access.
  Result<std::shared_ptr<File>> HotFile(ObjectKey key) EXCLUDES(mu_);
  // Has the OS read a hot object's file into the page cache in the
  // background (a sequential reader is about to reach it); nothing for a
  // missing object or a cold one (whose file is read ahead when opened).
  // Queued for the read-ahead workers: the hint itself allocates and maps
  // the pages, which is no work for the request that gives it.
  void WillNeed(ObjectKey key);
  Status Truncate(ObjectKey key, uint64_t size) EXCLUDES(mu_);
  // Frees [offset, offset+len) of a hot object (cold ones are promoted).
  Status PunchHole(ObjectKey key, uint64_t offset, uint64_t len) EXCLUDES(mu_);
  // Reserves disk blocks for [offset, offset+len) of the object's hot file
  // (fallocate KEEP_SIZE), creating the object when missing (logical size 0)
  // and promoting it when cold. The logical size does not change; stored
  // bytes include the reservation. NoSpace (ENOSPC) leaves the object as it
  // was (one this call created is removed again). A reservation lives only
  // in the hot file: demoting the object drops it (see STORE.md).
  Status Allocate(ObjectKey key, uint64_t offset, uint64_t len) EXCLUDES(mu_);
  // Removes the object; OK when it did not exist.
  Status Remove(ObjectKey key) EXCLUDES(mu_);
  // Removes every object of a group (all chunks of a file); returns how many.
  Result<uint64_t> RemoveGroup(uint64_t group) EXCLUDES(mu_);
  Result<ObjectInfo> Stat(ObjectKey key) const EXCLUDES(mu_);
  // Makes the object's data and its directory entry durable, and every
  // object file unlinked before the call (Remove, RemoveGroup, the source
  // of a finished tier move): a removed object cannot come back after a
  // crash once any Sync has returned. OK for a missing or cold object (which
  // still flushes the removals).
  Status Sync(ObjectKey key) EXCLUDES(mu_);
  // Sync of every object of the group (a file's fsync), doing only what is
  // owed: objects changed since their last sync are written back together
  // (all started before the first is waited for), and each directory that
  // gained an object is synced once.
  Status SyncGroup(uint64_t group) EXCLUDES(mu_);
  // Sync of every hot object changed since its last sync (unmount, a switch
  // to read-only): what this process wrote, not the whole store.
  Status SyncAll() EXCLUDES(mu_);
  // A snapshot of all objects (optionally of one group), in key order.
  std::vector<ObjectInfo> List() const EXCLUDES(mu_);
  std::vector<ObjectInfo> ListGroup(uint64_t group) const EXCLUDES(mu_);
  GroupUsage UsageOf(uint64_t group) const EXCLUDES(mu_);

  // Tier moves. OK when the object already is in the target tier. `why` is
  // recorded as the object's last_move when it moves.
  Status Demote(ObjectKey key, MoveReason why = MoveReason::kRequest) EXCLUDES(mu_);
  Status Promote(ObjectKey key, MoveReason why = MoveReason::kRequest) EXCLUDES(mu_);
  // Makes dst a complete copy of src, replacing any existing dst object (in
  // either tier), in the tier src is in: a hot src gives a hot dst (bytes
  // copied, holes kept), a cold src a cold dst that is a byte copy of the
  // cold file as stored (never decoded). The copy is written to a temp name,
  // fsynced, renamed and its directory fsynced, so a crash leaves dst old or
  // new, never mixed. NotFound when src is missing; Corruption when it is a
  // damaged cold object. Holds src's lock shared and dst's exclusive for the
  // copy (readers of src go on; dst waits).
  Status CopyObject(ObjectKey src, ObjectKey dst) EXCLUDES(mu_);
  // Decodes every frame of a cold object and checks its checksums.
  Status Verify(ObjectKey key) EXCLUDES(mu_);

  // Pinned groups are never demoted by the migrator.
  void SetPinned(uint64_t group, bool pinned) EXCLUDES(mu_);
  bool IsPinned(uint64_t group) const EXCLUDES(mu_);
  std::set<uint64_t> PinnedGroups() const EXCLUDES(mu_);
  // Cold objects read often enough to deserve promotion (drained by the migrator).
  std::vector<ObjectKey> TakePromoteHints() EXCLUDES(mu_);
  // The same hints, left in place (for explaining what the next pass does).
  std::vector<ObjectKey> PromoteHints() const EXCLUDES(mu_);
  void set_promote_reads(uint32_t n) { promote_reads_.store(n); }

  StoreStats stats() const EXCLUDES(mu_);
  const StoreOptions& options() const { return opts_; }
  const std::string& dir() const { return dir_; }
  BufferPool& pool() { return pool_; }
  Env* env() const { return env_; }

  std::string HotPath(ObjectKey key) const;
  // Where an object's cold copy lives (a path, or rados:pool/ns/object).
  std::string ColdName(ObjectKey key) const;
  // What holds the cold tier ("dir:PATH", "rados:POOL/NAMESPACE").
  std::string ColdTier() const;

 private:
  struct ColdHandle;
  struct Entry;
  ObjectStore(Env* env, std::string dir, const StoreOptions& opts);
  // Reads e, so call it with mu_ held (Entry's fields carry no annotation:
  // they are guarded through table_).
  static ObjectInfo InfoOf(ObjectKey key, const Entry& e);

  // Builds the table (Open only; takes mu_ for it).
  Status Recover() EXCLUDES(mu_);
  // EROFS when the store was opened read-only, else OK.
  Status CheckWritable() const;
  Status ScanHot() REQUIRES(mu_);
  // A table entry for an object found at open.
  Entry Listed(Tier tier, int64_t mtime_ns, uint64_t stored) REQUIRES(mu_);
  Status AddCold(const ColdListing& c) REQUIRES(mu_);
  // The object lock of key: one of the stripes. See "Thread-safety" above
  // for how the annotations name it.
  SharedMutex& LockFor(const ObjectKey& key) const;
  // The open-handle cache, one for both tiers: the handle in `slot` of the
  // object's entry (Entry::hot or Entry::cold), opened with open() when
  // there is none, kept in the one LRU of open objects.
  template <class Handle>
  Result<std::shared_ptr<Handle>> CachedHandle(
      const ObjectKey& key, std::shared_ptr<Handle> Entry::*slot,
      const std::function<Result<std::shared_ptr<Handle>>()>& open) EXCLUDES(mu_);
  // Returns the cached open file/handle for an entry, opening it if needed.
  Result<std::shared_ptr<File>> HotFileLocked(const ObjectKey& key) REQUIRES_SHARED(LockFor(key))
      EXCLUDES(mu_);
  Result<std::shared_ptr<ColdHandle>> ColdHandleFor(const ObjectKey& key)
      REQUIRES_SHARED(LockFor(key)) EXCLUDES(mu_);
  Result<std::shared_ptr<ColdHandle>> OpenColdHandle(ObjectKey key);
  // Frame i of a cold object, from the cache or decoded into a pooled buffer.
  Result<std::shared_ptr<const CachedFrame>> GetFrame(const ColdHandle& h, uint64_t gen, size_t i,
                                                      bool use_cache);
  // Frame i decoded into a fresh pooled buffer (counted in frames_decoded_).
  Result<std::shared_ptr<const CachedFrame>> DecodeFrame(const ColdHandle& h, size_t i);
  // After a read of [offset, offset + len) of a cold object: when the reads
  // of this handle go in order and this one entered a new frame, queues the
  // next decode_ahead_depth_ frames for the workers.
  // A read-ahead worker's job: decode frame `frame` of a cold object
  // (handle set), or have hot object `key` read into the page cache.
  struct AheadJob {
    std::shared_ptr<ColdHandle> handle;
    uint64_t gen = 0;
    uint32_t frame = 0;
    ObjectKey key;
  };
  void HotWillNeed(const ObjectKey& key) EXCLUDES(mu_, LockFor(key));
  WorkerPool<AheadJob>& ReadAhead();  // starts the workers the first time
  void DecodeAhead(const std::shared_ptr<ColdHandle>& h, uint64_t gen, uint64_t offset, size_t len);
  void RunAheadJob(AheadJob& job);  // on a worker: decode one frame unless cached or claimed
  // Runs fn on the object's hot file under its shared lock, creating the
  // object when missing and promoting it when cold; fn returns the new
  // minimum logical size of the object.
  Status WithHotFile(const ObjectKey& key,
                     const std::function<Result<uint64_t>(File&, uint64_t)>& fn)
      EXCLUDES(mu_, LockFor(key));
  // The final step of a promotion: tmp (complete, synced) becomes the hot
  // copy and the cold one goes.
  Status SwapInHot(const ObjectKey& key, const std::string& tmp, MoveReason why)
      REQUIRES(LockFor(key)) EXCLUDES(mu_);
  // Sync and SyncGroup: syncs the owed files of `keys`, then their directories.
  Status SyncKeys(const std::vector<ObjectKey>& keys) EXCLUDES(mu_);
  Result<size_t> ReadCold(const ColdHandle& h, uint64_t gen, uint64_t offset,
                          std::span<std::byte> dst);
  void EvictOpenFilesLocked() REQUIRES(mu_);
  Status PromoteWithLockHeld(const ObjectKey& key) REQUIRES(LockFor(key)) EXCLUDES(mu_);
  // Creates an empty hot object (the table has none).
  Status CreateHotWithLockHeld(const ObjectKey& key) REQUIRES(LockFor(key)) EXCLUDES(mu_);
  // Makes the object hot: created when missing, promoted when cold. Returns
  // whether it existed before.
  Result<bool> MakeHotWithLockHeld(const ObjectKey& key) REQUIRES(LockFor(key)) EXCLUDES(mu_);
  Status RemoveWithLockHeld(const ObjectKey& key) REQUIRES(LockFor(key)) EXCLUDES(mu_);
  // Sets a reserved hot entry's stored bytes from st_blocks.
  void RefreshStoredBytes(const ObjectKey& key) REQUIRES_SHARED(LockFor(key)) EXCLUDES(mu_);
  // The frame-cache generation of a cold object; nullopt when it is hot;
  // Corruption when it is damaged.
  Result<std::optional<uint64_t>> ColdGeneration(const ObjectKey& key) REQUIRES_SHARED(LockFor(key))
      EXCLUDES(mu_);
  // Write a complete, synced copy into tmp; on failure tmp is removed.
  Status CopyColdToHot(const ColdHandle& h, uint64_t gen, const std::string& tmp);
  Status WriteHotCopy(const ColdHandle& h, uint64_t gen, const std::string& tmp);
  // A finished (durable, uncommitted) cold copy of the hot file's bytes.
  Result<std::unique_ptr<ColdWrite>> WriteColdCopy(ObjectKey key, File* hot, uint64_t size);
  // After a copy made with no lock held, once the caller has taken the
  // object's lock exclusive: OK if the object still satisfies `unchanged`,
  // else counts the move abandoned, calls discard() and returns Busy.
  Status AbandonIfChanged(const ObjectKey& key, const std::function<void()>& discard,
                          const std::function<bool(const Entry&)>& unchanged) REQUIRES(LockFor(key))
      EXCLUDES(mu_);
  // Commits a finished cold copy of key. On failure the copy may or may
  // not have been committed: it is withdrawn (WithdrawCold).
  Status CommitCold(const ObjectKey& key, ColdWrite& w) REQUIRES(LockFor(key)) EXCLUDES(mu_);
  std::string TempPath(const std::string& final_path);
  // CopyObject's steps: a complete, synced copy of src's file in tmp (on
  // failure tmp is removed), and the swap that makes it dst.
  Status WriteFileCopy(File* from, uint64_t size, const std::string& tmp);
  // A finished (uncommitted) cold copy for dst of src's cold object as stored.
  Result<std::unique_ptr<ColdWrite>> CopyColdAsStored(const ObjectKey& src, ObjectKey dst)
      REQUIRES_SHARED(LockFor(src));
  // Publishes dst's copy (a hot temp file's rename or a cold commit; false
  // in *maybe when it surely did not happen) and updates the table.
  Status SwapInCopy(const ObjectKey& dst, Tier tier, uint64_t logical_size, uint64_t stored,
                    const std::function<Status(bool* maybe)>& publish) REQUIRES(LockFor(dst))
      EXCLUDES(mu_);
  // Removes a complete copy in the tier the table does not name; if that
  // fails, marks the entry's stray_copy. WithdrawCopy: a hot file at
  // `path`; WithdrawCold: the cold copy.
  void WithdrawCopy(const ObjectKey& key, const std::string& path) REQUIRES(LockFor(key))
      EXCLUDES(mu_);
  void WithdrawCold(const ObjectKey& key) REQUIRES(LockFor(key)) EXCLUDES(mu_);
  void MarkStray(const ObjectKey& key) REQUIRES(LockFor(key)) EXCLUDES(mu_);
  // Re-reads a cold object's sizes after a commit that may or may not have
  // replaced it (damaged when it cannot be opened).
  void ReloadCold(const ObjectKey& key) REQUIRES(LockFor(key)) EXCLUDES(mu_);
  // Removes the object's copy in `tier` (hot file unlink or cold Remove).
  Status RemoveCopy(const ObjectKey& key, Tier tier) REQUIRES(LockFor(key));
  // Unlinks an object file (never a temp file) and remembers its directory
  // until SyncUnlinks() makes the unlink durable.
  Status UnlinkObjectFile(const std::string& path);
  Status SyncUnlinks();
  void TouchOpenFileLocked(ObjectKey key, Entry& e) REQUIRES(mu_);  // LRU bookkeeping

  Env* const env_;
  const std::string dir_;
  const StoreOptions opts_;
  std::unique_ptr<FileLock> lock_;     // set by Open
  std::unique_ptr<ColdBackend> cold_;  // set by Open; thread-safe itself
  BufferPool pool_;
  FrameCache cache_;
  const int64_t decode_ahead_depth_;  // 0: no frames decoded ahead
  // The object locks, taken before mu_ (LockFor).
  mutable std::vector<SharedMutex> object_locks_;

  mutable Mutex mu_;
  struct Table;
  // The object table (and so every Entry in it). The pointer is set once.
  const std::unique_ptr<Table> table_ PT_GUARDED_BY(mu_);
  std::list<ObjectKey> open_lru_ GUARDED_BY(mu_);  // objects with cached open files, front = recent
  std::set<uint64_t> pinned_ GUARDED_BY(mu_);
  std::set<ObjectKey> promote_hints_ GUARDED_BY(mu_);
  uint64_t next_generation_ GUARDED_BY(mu_) = 1;
  uint64_t next_version_ GUARDED_BY(mu_) = 0;  // Entry::version source; only ever grows
  uint64_t promotions_ GUARDED_BY(mu_) = 0;
  uint64_t demotions_ GUARDED_BY(mu_) = 0;
  uint64_t abandoned_ GUARDED_BY(mu_) = 0;

  // Need no lock of the store's (atomics, or thread-safe themselves).
  std::atomic<uint64_t> temp_counter_{0};
  PendingDirSyncs unsynced_unlink_dirs_;  // see UnlinkObjectFile
  std::atomic<uint32_t> promote_reads_{0};
  std::atomic<uint64_t> frames_decoded_{0}, frames_decoded_ahead_{0};
  // The read-ahead workers start with the first job (ReadAhead()), so an
  // open that reads nothing (status, fsck, a mount that only writes) starts
  // no thread. Declared last: its threads stop (joined) before anything
  // they use goes.
  const size_t read_ahead_threads_;
  std::once_flag read_ahead_started_;
  std::unique_ptr<WorkerPool<AheadJob>> read_ahead_;
};

}  // namespace tierfs
