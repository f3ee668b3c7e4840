// Fsck: checks a store that is not mounted (it takes the store lock), and
// repairs what can be repaired without guessing. Inodes with no links (nlink
// 0: unlinked while open, or not yet reclaimed when the daemon stopped) are
// no problem: they are counted as reclaim_pending, and the next mount frees
// them, or --repair does now (objects + inode).
//   orphan object    — no inode or not a file      -> removed
//   beyond EOF       — object past the file size   -> removed / truncated
//   stray file       — unknown name in a tier dir  -> reported only
//   damaged object   — cold object fails validation (and, with scrub, any
//                      frame checksum)             -> reported with the file's path
// Both fsck and takeover (below) open the store writable, so they claim its
// cold tier as a mount does (store/cold_owner.h).
// Thread-safety: single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compress/status.h"

namespace tierfs {

struct FsckProblem {
  std::string kind;
  std::string detail;
  std::string path;  // the file it belongs to, when known
  bool repaired = false;
};

struct FsckReport {
  std::vector<FsckProblem> problems;
  uint64_t inodes = 0, objects = 0;
  uint64_t reclaim_pending = 0;  // inodes with nlink 0 still there
  uint64_t reclaimed = 0;        // ... freed by --repair
  bool clean() const;            // nothing left unrepaired
};

// Called after each object checked: objects done of total, and logical
// bytes done of total (what a scrub decodes).
using FsckProgress =
    std::function<void(uint64_t done, uint64_t total, uint64_t bytes_done, uint64_t bytes_total)>;

Result<FsckReport> RunFsck(const std::string& store_dir, bool repair, bool scrub,
                           const FsckProgress& progress = nullptr);
std::string FsckJson(const FsckReport& r);

// tierfs takeover: makes the unmounted store in store_dir the owner of its
// cold tier (store/cold_owner.h) although another copy of it has claimed
// the tier since; then opens it as a mount would (recovery included).
// Refused for a tier that another store id owns.
Status TakeOverColdTier(const std::string& store_dir);

}  // namespace tierfs
