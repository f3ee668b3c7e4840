// Journal: group commit of the namespace. The mounted daemon opens its
// MetadataStore with group_commit, so a create, mkdir, unlink, rename, link,
// setattr or xattr change is applied at once (every later request sees it)
// and answered without waiting for SQLite's COMMIT; the Journal's thread
// commits what gathered kCommitDelay after the first change of a batch, in
// one transaction. A batch also ends when it holds kMaxBatchOps changes, and
// at every Commit() (fsync, fsyncdir, statfs, the reclaimer before it
// removes objects, unmount). CommitDurably() also syncs the log: a COMMIT
// alone is not durable (synchronous=NORMAL), and whatever removes data from
// the object store (the reclaimer, a truncate) must follow a durable one,
// or a power cut brings back the name over data already gone.
//
// Order: changes are applied on one SQLite connection in the order they
// happen, and batches commit whole, so after a crash the namespace is the
// state after some prefix of the acknowledged changes — never a mix, never
// a state that never existed. What an fsync or fsyncdir returned for is in
// that prefix (it committed and synced everything before it).
//
// Space: a COMMIT that fails rolls its whole batch back. Before each commit
// the Journal asks Hooks::before_commit (Filesystem: give SQLite the disk
// reserve when the store's disk is nearly full); MetadataStore::Open
// preallocates the WAL so that commits rarely need new blocks. A batch lost
// all the same puts the store in a failed state (MetadataStore::health):
// every later change is refused with EIO until the next mount, which finds
// the state after the last committed batch.
//
// Owns: the commit thread and its statistics. Does not own the store.
// Thread-safety: all methods are thread-safe. Opened() is called by the
// store with its lock held, so it only takes mu_ and notifies; mu_ is never
// held across a store call.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "fusefs/meta/metadata.h"

namespace tierfs {

struct JournalStats {
  uint64_t commits = 0;        // batches committed by the thread or by Commit()
  uint64_t commit_errors = 0;  // commits that failed (a lost batch counts once)
};

class Journal {
 public:
  // How long a batch gathers after its first change before the thread
  // commits it: what a crash can take back of unsynced namespace changes.
  static constexpr std::chrono::milliseconds kCommitDelay{5};

  struct Hooks {
    // Runs before every commit (may be empty).
    std::function<void()> before_commit;
  };

  explicit Journal(Hooks hooks);
  ~Journal();  // Stop()
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Starts the commit thread for `meta`, which must outlive Stop().
  void Start(MetadataStore* meta);
  // MetadataOptions::batch_opened: a batch has its first change.
  void Opened();
  // Commits the open batch now (OK when there is none).
  Status Commit();
  // Commit(), then makes every committed batch durable (one fsync of the
  // log): what must come before anything is removed from the object store.
  Status CommitDurably();
  // Commits what is open and ends the thread.
  void Stop();

  JournalStats stats() const { return {commits_.load(), commit_errors_.load()}; }

 private:
  void Loop();
  // Runs a commit (the store's Commit or CommitDurably) with the hook
  // before it, counted in the statistics.
  Status Counted(Status (MetadataStore::*commit)());

  const Hooks hooks_;
  MetadataStore* meta_ = nullptr;
  std::mutex mu_;  // guards opened_ and stop_
  std::condition_variable cv_;
  bool opened_ = false;
  bool stop_ = false;
  std::atomic<uint64_t> commits_{0}, commit_errors_{0};
  std::thread thread_;
};

}  // namespace tierfs
