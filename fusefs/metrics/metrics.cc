// Metrics: see metrics.h.
#include "fusefs/metrics/metrics.h"

#include <algorithm>

namespace tierfs {

const char* FuseOpName(FuseOp op) {
  static constexpr std::array<const char*, kFuseOpCount> kNames = {
      "lookup", "forget",         "forget_multi", "getattr",     "setattr",     "readlink",
      "mknod",  "mkdir",          "symlink",      "unlink",      "rmdir",       "rename",
      "link",   "open",           "create",       "read",        "write",       "release",
      "fsync",  "opendir",        "readdir",      "readdirplus", "releasedir",  "fsyncdir",
      "statfs", "setxattr",       "getxattr",     "listxattr",   "removexattr", "fallocate",
      "lseek",  "copy_file_range"};
  return kNames[static_cast<size_t>(op)];
}

const char* ReadSourceName(ReadSource s) {
  switch (s) {
    case ReadSource::kHot:
      return "hot";
    case ReadSource::kCold:
      return "cold";
    case ReadSource::kHole:
      return "hole";
    case ReadSource::kInline:
      return "inline";
    case ReadSource::kCount:
      break;
  }
  return "hole";
}

void LatencyHistogram::Record(int64_t ns) {
  const double seconds = static_cast<double>(std::max<int64_t>(ns, 0)) / 1e9;
  const size_t i =
      static_cast<size_t>(std::lower_bound(kLatencyBounds.begin(), kLatencyBounds.end(), seconds) -
                          kLatencyBounds.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(ns, 0)), std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
  Snapshot s;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return s;
}

bool Metrics::Timed(FuseOp op) {
  return op == FuseOp::kRead || op == FuseOp::kWrite || op == FuseOp::kFsync;
}

void Metrics::RecordLatency(FuseOp op, int64_t ns) {
  if (Timed(op)) latency_[TimedIndex(op)].Record(ns);
}

LatencyHistogram::Snapshot Metrics::latency(FuseOp op) const {
  return latency_[TimedIndex(op)].snapshot();
}

}  // namespace tierfs
