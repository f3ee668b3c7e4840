// Migrator: a background thread that applies the tiering policy to an
// ObjectStore — every interval it snapshots the objects, plans with
// PlanTiering and performs the moves, rate-limited to rate_bytes_per_sec.
// ObjectStore::Demote/Promote hold the object lock only for the final swap,
// so foreground I/O is not stalled by compression.
//
// No exception ends the migrator: a pass that throws (a bug, bad_alloc, an
// Env that throws) is caught, counted in stats().errors, logged (spdlog
// default logger) and followed by a back-off (error_backoff_ms doubling to a
// minute) before the next pass.
//
// Thread-safety: all public methods are thread-safe; stats and the queued
// moves are guarded by mu_. RunOnce() may be called
// while the thread runs (passes are serialized). Lock order: thread_mu_,
// pass_mu_, then mu_.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "store/mutex.h"
#include "store/object_store.h"
#include "store/policy.h"

namespace tierfs {

struct MigratorOptions {
  int64_t interval_ms = 1000;
  uint64_t rate_bytes_per_sec = 0;  // logical bytes moved per second; 0: unlimited
  // Extra wait after a pass that threw, doubled by each further one (to at
  // most 60 s), reset by a pass that completes.
  int64_t error_backoff_ms = 1000;
};

struct MigratorStats {
  uint64_t passes = 0;
  int64_t last_pass_ns = 0;  // wall clock of the last finished pass
  uint64_t queued = 0;       // moves planned by the last pass not yet done
  uint64_t demoted = 0, promoted = 0, bytes_moved = 0;
  uint64_t demoted_bytes = 0, promoted_bytes = 0;  // bytes_moved by direction
  uint64_t failed_moves = 0;  // moves that failed (not Busy or NotFound); also in errors
  uint64_t errors = 0;
  std::string last_error;
  // Hot bytes in the store as the last pass counted them, less what it
  // demoted and plus what it promoted (0 before the first pass): the
  // store-wide input of tierfs explain, which must not scan the store.
  uint64_t hot_bytes = 0;
};

// A move the current pass has planned and not finished.
struct QueuedMove {
  bool demote = true;
  MoveReason reason = MoveReason::kNone;
  bool started = false;  // being copied now
  size_t ahead = 0;      // moves of the pass before it still to do
};

class Migrator {
 public:
  // Groups pinned in the store (ObjectStore::SetPinned) are never demoted.
  Migrator(ObjectStore* store, PolicyConfig config, MigratorOptions opts);
  ~Migrator();
  Migrator(const Migrator&) = delete;
  Migrator& operator=(const Migrator&) = delete;

  void Start() EXCLUDES(thread_mu_, mu_);
  // Stops the thread after the move in progress; idempotent.
  void Stop() EXCLUDES(thread_mu_, mu_);
  // One synchronous pass; never throws (see above).
  void RunOnce() EXCLUDES(pass_mu_, mu_);
  MigratorStats stats() const EXCLUDES(mu_);
  // The move of `key` the running pass has still to finish, if any.
  std::optional<QueuedMove> QueuedMoveOf(ObjectKey key) const EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);
  void RunPass() REQUIRES(pass_mu_) EXCLUDES(mu_);  // may throw; RunOnce guards it
  void NoteFailedPass(const std::string& what) EXCLUDES(mu_);
  // Sleeps up to ns; returns false when stopping.
  bool SleepFor(int64_t ns) EXCLUDES(mu_);

  ObjectStore* const store_;
  const PolicyConfig config_;
  const MigratorOptions opts_;
  // Held by Start and Stop for the whole call (Stop joins under it), so
  // that they may be called from any threads.
  Mutex thread_mu_;
  std::thread thread_ GUARDED_BY(thread_mu_);
  Mutex pass_mu_;  // serializes passes
  // No demotions before this (cold tier full or down).
  int64_t demote_paused_until_ GUARDED_BY(pass_mu_) = 0;
  int64_t demote_backoff_ns_ GUARDED_BY(pass_mu_) = 0;
  std::atomic<int64_t> error_backoff_ns_{0};  // extra wait before the next pass
  mutable Mutex mu_;
  CondVar cv_;  // signalled by Stop
  bool stop_ GUARDED_BY(mu_) = false;
  MigratorStats stats_ GUARDED_BY(mu_);
  // The running pass's moves not yet finished, by key, and the plan order
  // of the next one to start (QueuedMove::ahead is counted from it).
  std::map<ObjectKey, std::pair<QueuedMove, size_t>> queued_ GUARDED_BY(mu_);
  size_t next_move_ GUARDED_BY(mu_) = 0;
};

}  // namespace tierfs
