// TierMover: everything that replaces an object's copy. Demotion and
// promotion (tier_moves.cc), the whole-object copy within a tier that
// copy_file_range uses (object_copy.cc), and the removal of copies with the
// durable record of the unlinks. Each move writes the new copy and makes it
// durable (a hot temp file fsynced, or a finished cold write), publishes it
// (a rename and a directory fsync, or the cold backend's commit), and only
// then removes the source, so a crash at any point leaves at least one
// complete copy (store/STORE.md).
//
// Thread-safety: thread-safe. The mover has no lock of its own (its state
// is an atomic and a PendingDirSyncs): it works under the object locks,
// which the store owns and hands in as `lock` (the object lock of `key`,
// ObjectStore::LockFor), so that clang can check each method's contract
// against the lock the caller holds. Demote and Promote copy with no lock
// held, then take `lock` exclusive and swap only if the object did not
// change meanwhile (else Busy, and the object is left as it was).
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "store/buffer_pool.h"
#include "store/cold_backend.h"
#include "store/cold_reader.h"
#include "store/dir_syncs.h"
#include "store/env.h"
#include "store/handle_cache.h"
#include "store/mutex.h"
#include "store/object_table.h"

namespace tierfs {

struct StoreOptions;

class TierMover {
 public:
  // Everything given outlives the mover.
  TierMover(Env* env, const StoreOptions& opts, BufferPool* pool, ColdBackend* cold,
            ObjectTable* table, HandleCache* handles, ColdReader* reader);
  TierMover(const TierMover&) = delete;
  TierMover& operator=(const TierMover&) = delete;

  // OK when the object already is in the target tier; NotFound when it is
  // missing. `why` becomes its last_move when it moves.
  Status Demote(const ObjectKey& key, SharedMutex& lock, MoveReason why) EXCLUDES(lock);
  Status Promote(const ObjectKey& key, SharedMutex& lock, MoveReason why) EXCLUDES(lock);
  // Promotes a cold object for a write, with its lock held exclusive (no
  // copy without the lock: the writer waits for it anyway). OK when hot.
  Status PromoteLocked(const ObjectKey& key, SharedMutex& lock) REQUIRES(lock);
  // See ObjectStore::CopyObject; takes src_lock shared and dst_lock
  // exclusive.
  Status CopyObject(const ObjectKey& src, const ObjectKey& dst, SharedMutex& src_lock,
                    SharedMutex& dst_lock) EXCLUDES(src_lock, dst_lock);
  // Removes the object's copy in `tier` (hot file unlink or cold Remove);
  // OK when it is not there.
  Status RemoveCopy(const ObjectKey& key, SharedMutex& lock, Tier tier) REQUIRES(lock);
  // Makes every unlink of an object file so far durable (see
  // ObjectStore::Sync), and the cold backend's removals.
  Status SyncUnlinks();

 private:
  static bool AllZero(std::span<const std::byte> s) {
    return std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; });
  }
  std::string HotPath(const ObjectKey& key) const;
  std::string TempPath(const std::string& final_path);
  // A finished (durable, uncommitted) cold copy of the hot file's bytes.
  Result<std::unique_ptr<ColdWrite>> WriteColdCopy(const ObjectKey& key, File* hot, uint64_t size);
  // Commits a finished cold copy of key. On failure the copy may or may
  // not have been committed: it is withdrawn (WithdrawCold).
  Status CommitCold(const ObjectKey& key, SharedMutex& lock, ColdWrite& w) REQUIRES(lock);
  // The frame-cache generation of a cold object; nullopt when it is hot;
  // Corruption when it is damaged.
  Result<std::optional<uint64_t>> ColdGeneration(const ObjectKey& key, SharedMutex& lock)
      REQUIRES_SHARED(lock);
  // A complete, synced hot copy of the cold object in tmp; on failure tmp
  // is removed.
  Status CopyColdToHot(const ColdHandle& h, uint64_t gen, const std::string& tmp);
  Status WriteHotCopy(const ColdHandle& h, uint64_t gen, const std::string& tmp);
  // The final step of a promotion: tmp (complete, synced) becomes the hot
  // copy and the cold one goes.
  Status SwapInHot(const ObjectKey& key, SharedMutex& lock, const std::string& tmp, MoveReason why)
      REQUIRES(lock);
  // After a copy made with no lock held, once the caller has taken the
  // object's lock exclusive: OK if the object still satisfies `unchanged`,
  // else calls discard() and returns Busy.
  Status AbandonIfChanged(const ObjectKey& key, SharedMutex& lock,
                          const std::function<void()>& discard,
                          const std::function<bool(const ObjectEntry&)>& unchanged) REQUIRES(lock);
  // CopyObject's steps: a complete, synced copy of src's file in tmp (on
  // failure tmp is removed); a finished (uncommitted) cold copy for dst of
  // src's cold object as stored; the swap that makes either dst. publish
  // is a hot temp file's rename or a cold commit (it sets *maybe false when
  // it surely did not happen).
  Status WriteFileCopy(File* from, uint64_t size, const std::string& tmp);
  Result<std::unique_ptr<ColdWrite>> CopyColdAsStored(const ObjectKey& src, SharedMutex& src_lock,
                                                      const ObjectKey& dst)
      REQUIRES_SHARED(src_lock);
  Status SwapInCopy(const ObjectKey& dst, SharedMutex& lock, Tier tier, uint64_t logical_size,
                    uint64_t stored, const std::function<Status(bool* maybe)>& publish)
      REQUIRES(lock);
  // Removes a complete copy in the tier the table does not name; if that
  // fails, marks the entry's stray_copy. WithdrawCopy: a hot file at
  // `path`; WithdrawCold: the cold copy.
  void WithdrawCopy(const ObjectKey& key, SharedMutex& lock, const std::string& path)
      REQUIRES(lock);
  void WithdrawCold(const ObjectKey& key, SharedMutex& lock) REQUIRES(lock);
  void MarkStray(const ObjectKey& key, SharedMutex& lock) REQUIRES(lock);
  // Re-reads a cold object's sizes after a commit that may or may not have
  // replaced it (damaged when it cannot be opened).
  void ReloadCold(const ObjectKey& key, SharedMutex& lock) REQUIRES(lock);
  // Unlinks an object file (never a temp file) and remembers its directory
  // until SyncUnlinks() makes the unlink durable.
  Status UnlinkObjectFile(const std::string& path);

  Env* const env_;
  const StoreOptions& opts_;
  BufferPool* const pool_;
  ColdBackend* const cold_;
  ObjectTable* const table_;
  HandleCache* const handles_;
  ColdReader* const reader_;
  // Need no lock of the mover's (an atomic, or thread-safe itself).
  std::atomic<uint64_t> temp_counter_{0};
  PendingDirSyncs unsynced_unlink_dirs_;  // see UnlinkObjectFile
};

}  // namespace tierfs
