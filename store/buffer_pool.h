// BufferPool: preallocated, 4 KiB-aligned I/O buffers in a few size classes,
// leased RAII-style. Reads are served into these buffers so that no read ever
// grows a buffer while it fills it, and steady-state reads allocate nothing.
//
// Each class is one slab allocated and pre-faulted at construction (so the
// first read does not pay page faults). Lease(n) hands out a buffer of the
// smallest class that holds n bytes and has one free, trying larger classes
// next; when all are taken it falls back to a fresh aligned heap allocation,
// counted in stats().overflow_allocations — it never blocks. A fallback the
// heap cannot give (or larger than max_heap_lease) is Status NoMemory, never
// an exception: nothing here throws across the store boundary.
//
// Thread-safety: thread-safe. A BufferLease is owned by one thread at a time
// and must not outlive its pool.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "compress/status.h"
#include "store/mutex.h"

namespace tierfs {

inline constexpr size_t kBufferAlign = 4096;

class BufferPool;

class BufferLease {
 public:
  BufferLease() = default;
  ~BufferLease() { Release(); }
  BufferLease(BufferLease&& other) noexcept { *this = std::move(other); }
  BufferLease& operator=(BufferLease&& other) noexcept;
  BufferLease(const BufferLease&) = delete;
  BufferLease& operator=(const BufferLease&) = delete;

  std::byte* data() const { return data_; }
  // Usable bytes (>= the size asked for; the class size for pooled buffers).
  size_t capacity() const { return capacity_; }
  std::span<std::byte> span() const { return {data_, capacity_}; }
  // Bytes of valid content, set by whoever fills the lease.
  size_t size() const { return size_; }
  void set_size(size_t n) { size_ = n; }
  std::span<const std::byte> contents() const { return {data_, size_}; }
  bool pooled() const { return class_index_ >= 0; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  friend class BufferPool;
  BufferLease(BufferPool* pool, std::byte* data, size_t capacity, int class_index)
      : pool_(pool), data_(data), capacity_(capacity), class_index_(class_index) {}
  void Release();

  BufferPool* pool_ = nullptr;
  std::byte* data_ = nullptr;
  size_t capacity_ = 0;
  size_t size_ = 0;
  int class_index_ = -1;  // -1: heap overflow allocation
};

struct BufferClass {
  size_t buffer_size = 0;  // rounded up to a multiple of 4 KiB
  size_t count = 0;
};

struct BufferPoolStats {
  uint64_t leases = 0;
  uint64_t pool_hits = 0;
  uint64_t overflow_allocations = 0;
  uint64_t bytes_preallocated = 0;
  uint64_t in_use = 0;              // pooled buffers currently leased
  uint64_t failed_allocations = 0;  // heap fallbacks refused (NoMemory)
};

class BufferPool {
 public:
  // No single heap fallback is larger than this by default (a bigger
  // request is a bug or hostile, and is refused as NoMemory).
  static constexpr size_t kDefaultMaxHeapLease = size_t{1} << 30;
  // A class whose slab cannot be allocated is left out and status() says
  // NoMemory. max_heap_lease bounds each heap fallback (tests lower it).
  explicit BufferPool(std::vector<BufferClass> classes,
                      size_t max_heap_lease = kDefaultMaxHeapLease);
  // Splits `budget` bytes over the given buffer sizes (equal bytes per class,
  // at least one buffer each).
  static std::vector<BufferClass> SplitBudget(size_t budget, const std::vector<size_t>& sizes);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of at least n bytes (n > 0): pooled, else from the heap;
  // NoMemory when the heap fallback cannot be satisfied.
  Result<BufferLease> Lease(size_t n) EXCLUDES(mu_);
  // OK, or NoMemory when a class's slab could not be preallocated.
  Status status() const { return status_; }
  BufferPoolStats stats() const EXCLUDES(mu_);
  size_t largest_class() const;

 private:
  friend class BufferLease;
  void Return(std::byte* data, int class_index) EXCLUDES(mu_);

  struct Class {
    size_t buffer_size;
    std::byte* slab = nullptr;
  };
  // Set by the constructor, then read-only.
  std::vector<Class> classes_;  // ascending buffer_size
  const size_t max_heap_lease_;
  Status status_;
  uint64_t bytes_preallocated_ = 0;
  std::atomic<uint64_t> leases_{0}, hits_{0}, overflow_{0}, failed_{0};
  mutable Mutex mu_;
  std::vector<std::vector<std::byte*>> free_ GUARDED_BY(mu_);  // free buffers of classes_[i]
  uint64_t in_use_ GUARDED_BY(mu_) = 0;
};

}  // namespace tierfs
