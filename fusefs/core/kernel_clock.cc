// KernelClock: see kernel_clock.h.
#include "fusefs/core/kernel_clock.h"

namespace tierfs {

namespace {
Timespec FromNanos(int64_t ns) { return Timespec{ns / 1000000000, ns % 1000000000}; }
int64_t ToNanos(const Timespec& t) { return t.sec * 1000000000 + t.nsec; }
}  // namespace

Timespec KernelClock::Now() {
  const int64_t coarse = env_->CoarseNowNanos();
  int64_t kernel = kernel_time_ns_.load(std::memory_order_relaxed);
  if (kernel <= coarse) return FromNanos(coarse);
  // No kernel stamp is ahead of the fine clock: one that is was taken
  // before the clock was set back, and is forgotten.
  if (kernel > env_->NowNanos()) {
    kernel_time_ns_.compare_exchange_strong(kernel, 0, std::memory_order_relaxed);
    return FromNanos(coarse);
  }
  return FromNanos(kernel);
}

Timespec KernelClock::FineNow() { return FromNanos(env_->NowNanos()); }

void KernelClock::SawKernelTime(const Timespec& time) {
  const int64_t t = ToNanos(time);
  int64_t seen = kernel_time_ns_.load(std::memory_order_relaxed);
  while (t > seen && !kernel_time_ns_.compare_exchange_weak(seen, t, std::memory_order_relaxed)) {
  }
}

}  // namespace tierfs
