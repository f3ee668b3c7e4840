// Metrics: the daemon's request-path counters for the Prometheus exposition
// (fusefs/control/metrics_text.h) — requests, errors and expected negative
// answers (ENOENT, ENODATA, ...: see fusefs/fuse/request.h) per FUSE operation, bytes
// read by where they came from, bytes written, and latency histograms of
// read, write and fsync. What the store and the migrator count themselves
// (frame cache, buffer pool, moves) is read from their stats when the
// exposition is rendered, not kept twice.
//
// Thread-safety: every counter is a relaxed atomic in a fixed array:
// recording takes no lock and allocates nothing, from any thread. A reader
// sees each counter exactly, not all of them at one instant (a histogram's
// count may be a request ahead of its buckets).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tierfs {

// The FUSE operations tierfs serves (fusefs/fuse/fuse_ops.cc).
enum class FuseOp : uint8_t {
  kLookup,
  kForget,
  kForgetMulti,
  kGetattr,
  kSetattr,
  kReadlink,
  kMknod,
  kMkdir,
  kSymlink,
  kUnlink,
  kRmdir,
  kRename,
  kLink,
  kOpen,
  kCreate,
  kRead,
  kWrite,
  kRelease,
  kFsync,
  kOpendir,
  kReaddir,
  kReaddirplus,
  kReleasedir,
  kFsyncdir,
  kStatfs,
  kSetxattr,
  kGetxattr,
  kListxattr,
  kRemovexattr,
  kFallocate,
  kLseek,
  kCopyFileRange,
  kCount
};
inline constexpr size_t kFuseOpCount = static_cast<size_t>(FuseOp::kCount);
// The libfuse name of the operation ("lookup", "copy_file_range", ...).
const char* FuseOpName(FuseOp op);

// Upper bounds (seconds) of the latency buckets; +Inf follows.
inline constexpr std::array<double, 14> kLatencyBounds = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0};

class LatencyHistogram {
 public:
  struct Snapshot {
    std::array<uint64_t, kLatencyBounds.size() + 1> buckets{};  // per bucket, last = +Inf
    uint64_t sum_ns = 0;
  };
  void Record(int64_t ns);
  Snapshot snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// Where the bytes of a read reply came from.
enum class ReadSource : uint8_t { kHot, kCold, kHole, kInline, kCount };
const char* ReadSourceName(ReadSource s);  // "hot", "cold", "hole", "inline"

class Metrics {
 public:
  // The operations whose latency is kept: read, write, fsync.
  static bool Timed(FuseOp op);

  void CountRequest(FuseOp op) { Add(requests_[Index(op)], 1); }
  void CountError(FuseOp op) { Add(errors_[Index(op)], 1); }
  // An error reply that is the answer asked for (a missing xattr, ...),
  // counted apart from the errors.
  void CountNegative(FuseOp op) { Add(negatives_[Index(op)], 1); }
  // ns: how long the request took; only Timed(op) operations keep it.
  void RecordLatency(FuseOp op, int64_t ns);
  void CountRead(ReadSource s, uint64_t bytes) { Add(read_bytes_[static_cast<size_t>(s)], bytes); }
  void CountWrite(uint64_t bytes) { Add(written_bytes_, bytes); }

  uint64_t requests(FuseOp op) const { return Load(requests_[Index(op)]); }
  uint64_t errors(FuseOp op) const { return Load(errors_[Index(op)]); }
  uint64_t negatives(FuseOp op) const { return Load(negatives_[Index(op)]); }
  uint64_t read_bytes(ReadSource s) const { return Load(read_bytes_[static_cast<size_t>(s)]); }
  uint64_t written_bytes() const { return Load(written_bytes_); }
  // Timed(op) only.
  LatencyHistogram::Snapshot latency(FuseOp op) const;

 private:
  static size_t Index(FuseOp op) { return static_cast<size_t>(op); }
  static void Add(std::atomic<uint64_t>& c, uint64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
  static uint64_t Load(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }
  // Index into latency_ of a Timed(op) operation.
  static size_t TimedIndex(FuseOp op) {
    return op == FuseOp::kRead ? 0 : op == FuseOp::kWrite ? 1 : 2;
  }

  std::array<std::atomic<uint64_t>, kFuseOpCount> requests_{}, errors_{}, negatives_{};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(ReadSource::kCount)> read_bytes_{};
  std::atomic<uint64_t> written_bytes_{0};
  std::array<LatencyHistogram, 3> latency_;  // read, write, fsync
};

}  // namespace tierfs
