// KernelClock: the time every stamp of the daemon takes (create, write,
// setattr's "now", namespace changes, atime). It is the kernel's clock,
// which stamps a file's writes and times set to "now" itself, so that a
// time it stamps later is never earlier. That clock is
// CLOCK_REALTIME_COARSE, raised (multigrain timestamps, Linux 6.13) to the
// last fine time it gave an inode: so, the coarse clock, or the latest
// ctime the kernel sent (FUSE_SET_ATTR_CTIME) when that is later.
//
// Thread-safety: every method is thread-safe (one relaxed atomic, no lock).
#pragma once

#include <atomic>
#include <cstdint>

#include "fusefs/meta/metadata.h"
#include "store/env.h"

namespace tierfs {

class KernelClock {
 public:
  explicit KernelClock(Env* env) : env_(env) {}
  KernelClock(const KernelClock&) = delete;
  KernelClock& operator=(const KernelClock&) = delete;

  // The coarse clock, or the latest kernel stamp when that is later.
  Timespec Now();
  // The fine clock: an upper bound of every time the kernel has stamped.
  Timespec FineNow();
  // A ctime the kernel sent (a reading of its clock).
  void SawKernelTime(const Timespec& t);

 private:
  Env* const env_;
  std::atomic<int64_t> kernel_time_ns_{0};  // the latest ctime the kernel sent
};

}  // namespace tierfs
