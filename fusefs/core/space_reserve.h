// SpaceReserve: STORE/reserve, kReserveBytes kept allocated on the store's
// disk so that SQLite can still log the deletions that free space when the
// disk is full. Created (never over an existing file) when there is room;
// given up to SQLite when a change that frees space, or a group commit,
// would otherwise fail for lack of it; made again once there is room.
//
// Thread-safety: every method is thread-safe. The only state is one atomic
// flag: whoever flips it from present to gone removes the file.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "store/env.h"

namespace tierfs {

inline constexpr uint64_t kReserveBytes = 8ull << 20;

class SpaceReserve {
 public:
  // env must outlive the reserve.
  SpaceReserve(Env* env, std::string store_dir)
      : env_(env), dir_(std::move(store_dir)), path_(dir_ + "/reserve") {}
  SpaceReserve(const SpaceReserve&) = delete;
  SpaceReserve& operator=(const SpaceReserve&) = delete;

  bool present() const { return present_; }
  // Takes an existing reserve, or creates one when the disk has room.
  void Ensure();
  // Runs op; if it fails for lack of space and the reserve exists, frees the
  // reserve and runs op once more (for operations that free space).
  Status FreeingSpace(const std::function<Status()>& op);
  // Journal::Hooks::before_commit: when the store's disk is nearly full,
  // gives SQLite the reserve, so that the commit does not fail and lose its
  // batch.
  void ReleaseIfNearlyFull();

 private:
  Env* const env_;
  const std::string dir_;   // the store directory
  const std::string path_;  // dir_/reserve
  std::atomic<bool> present_{false};
};

}  // namespace tierfs
