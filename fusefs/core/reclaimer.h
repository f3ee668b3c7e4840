// Reclaimer: frees dead inodes — unlinked, closed and forgotten — off the
// request path, so that unlink, rmdir, release and forget answer as soon as
// the namespace change is done.
//
// Owns the queue of inodes waiting to be freed and the thread that frees
// them in batches of up to kBatch: the namespace changes that killed them
// committed and made durable first (Hooks::commit), then each inode's objects
// (ObjectStore::RemoveGroup), then the rows of the whole batch in one SQLite
// transaction (MetadataStore::DeleteInodes). Until then a queued inode keeps
// its row with nlink 0, so a crash at any point leaves inodes that the next
// mount finds with ListOrphans and frees (FreeNow). Inode numbers are SQLite
// AUTOINCREMENT ids, never handed out again, so a number cannot come back
// while its inode waits here (nor after).
//
// Does not own: the decision that an inode is dead (InodeTable::MaybeFree),
// the disk reserve (Hooks::freeing_space), the inode table.
//
// Thread-safety: every method is thread-safe. mu_ is never held across a
// store or metadata call or a hook. The destructor (or Stop) frees what is
// queued before it returns; nothing may be queued after it. Without Start
// (fsck) only FreeNow frees.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <thread>
#include <type_traits>
#include <vector>

#include "fusefs/meta/metadata.h"
#include "store/mutex.h"
#include "store/object_store.h"

namespace tierfs {

// The longest a request waits for the reclaimer: statfs, a sync, or a
// write or create that found the disk full while frees were pending.
inline constexpr std::chrono::seconds kReclaimWait{10};

struct ReclaimStats {
  uint64_t pending = 0;    // inodes queued or being freed
  uint64_t reclaimed = 0;  // inodes freed, objects and rows
  uint64_t batches = 0;    // row-deleting transactions
  uint64_t errors = 0;     // inodes a failure left to the next mount
};

class Reclaimer {
 public:
  // Inodes whose rows go in one transaction.
  static constexpr size_t kBatch = 256;
  // How long the thread lets a batch gather after the first inode arrives
  // (rm -rf forgets one inode after another), unless a Drain waits.
  static constexpr std::chrono::milliseconds kGather{5};

  struct Hooks {
    // Runs a metadata change that frees space (SpaceReserve::FreeingSpace:
    // on a full disk the deletion may need the disk reserve).
    std::function<Status(const std::function<Status()>&)> freeing_space;
    // After the rows of `inos` were deleted.
    std::function<void(std::span<const uint64_t> inos)> freed;
    // Commits the namespace changes applied so far and makes them durable
    // (Journal::CommitDurably), run before a batch's objects are removed:
    // the unlinks that made its inodes dead must not be taken back by a
    // crash or a power cut once their data is gone (a COMMIT alone may
    // reach the disk after the object unlinks do). fsck, whose changes
    // commit at once, still syncs: the rows it read may be in a WAL that a
    // killed daemon left unsynced.
    std::function<Status()> commit;
  };

  // meta and store must outlive the Reclaimer.
  Reclaimer(MetadataStore* meta, ObjectStore* store, Hooks hooks);
  ~Reclaimer();  // Stop()
  Reclaimer(const Reclaimer&) = delete;
  Reclaimer& operator=(const Reclaimer&) = delete;

  // Starts the thread that frees what Enqueue queues.
  void Start();
  // Queues a dead inode (nlink 0, closed, forgotten); returns at once.
  void Enqueue(uint64_t ino) EXCLUDES(mu_);
  // Frees `inos` on the calling thread, in batches (the orphans a mount or
  // fsck --repair finds); the first error, after trying them all.
  Status FreeNow(std::span<const uint64_t> inos);
  // Waits until every inode queued before the call is freed (or given up
  // on), at most `timeout`; true when it was.
  bool Drain(std::chrono::milliseconds timeout) EXCLUDES(mu_);
  // Frees everything queued, then ends the thread.
  void Stop() EXCLUDES(mu_);

  // Inodes queued or being freed (a relaxed read: no lock).
  uint64_t pending() const { return queued_.load() - done_.load(); }
  ReclaimStats stats() const;
  // `s` (taken before the call) without the objects of the inodes pending:
  // what the store holds once they are freed. The store's table is read
  // after `s` was taken, so an object freed in between is taken out at
  // most once; counts never go below zero.
  StoreStats AfterPending(StoreStats s) const EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);
  // Frees one batch: objects, then rows in one transaction. Returns the
  // first error; inodes it hits keep their rows for the next mount.
  Status FreeBatch(std::span<const uint64_t> batch);

  MetadataStore* const meta_;
  ObjectStore* const store_;
  const Hooks hooks_;

  mutable Mutex mu_;
  CondVar work_cv_;  // the thread waits for inodes, a drain or Stop
  CondVar done_cv_;  // drains wait for batches to finish
  std::vector<uint64_t> queue_ GUARDED_BY(mu_);
  std::vector<uint64_t> in_flight_ GUARDED_BY(mu_);  // the batch being freed
  int drainers_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  // Inodes ever queued and ever finished (freed or given up on): written
  // under mu_, read without it by pending().
  std::atomic<uint64_t> queued_{0}, done_{0};
  std::atomic<uint64_t> reclaimed_{0}, batches_{0}, errors_{0};
  std::thread thread_;
};

// Runs op (returning Status or Result<T>); when it fails for lack of space
// while frees were pending (as it began or as it failed), waits for the
// reclaimer (at most kReclaimWait) and runs it once more, so that
// `rm big; write` on a full disk works as where unlink frees at once.
template <class Op>
auto RetryAfterFrees(Reclaimer& reclaimer, Op&& op) -> decltype(op()) {
  const bool pending = reclaimer.pending() > 0;
  auto r = op();
  if (r.ok()) return r;
  const bool full = [&] {
    if constexpr (std::is_same_v<decltype(r), Status>) {
      return r.IsNoSpace();
    } else {
      return r.status().IsNoSpace();
    }
  }();
  if (!full || !(pending || reclaimer.pending() > 0)) return r;
  reclaimer.Drain(kReclaimWait);
  return op();
}

}  // namespace tierfs
