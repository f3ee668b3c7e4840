// BufferPool implementation.
#include "store/buffer_pool.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace tierfs {

namespace {
size_t RoundUp(size_t n) { return (n + kBufferAlign - 1) / kBufferAlign * kBufferAlign; }

// nullptr when the heap cannot give n bytes (never throws).
std::byte* AlignedAlloc(size_t n) {
  if (n > SIZE_MAX - kBufferAlign) return nullptr;  // RoundUp would wrap
  return static_cast<std::byte*>(std::aligned_alloc(kBufferAlign, RoundUp(n)));
}
}  // namespace

BufferLease& BufferLease::operator=(BufferLease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::exchange(other.pool_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    size_ = std::exchange(other.size_, 0);
    class_index_ = std::exchange(other.class_index_, -1);
  }
  return *this;
}

void BufferLease::Release() {
  if (data_ == nullptr) return;
  if (class_index_ >= 0) {
    pool_->Return(data_, class_index_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
  capacity_ = size_ = 0;
  class_index_ = -1;
}

std::vector<BufferClass> BufferPool::SplitBudget(size_t budget, const std::vector<size_t>& sizes) {
  std::vector<size_t> uniq(sizes);
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  std::vector<BufferClass> out;
  if (uniq.empty()) return out;
  size_t per_class = budget / uniq.size();
  for (size_t s : uniq) {
    size_t rs = RoundUp(s);
    out.push_back({rs, std::max<size_t>(1, per_class / rs)});
  }
  return out;
}

BufferPool::BufferPool(std::vector<BufferClass> classes, size_t max_heap_lease)
    : max_heap_lease_(max_heap_lease) {
  std::sort(classes.begin(), classes.end(), [](const BufferClass& a, const BufferClass& b) {
    return a.buffer_size < b.buffer_size;
  });
  for (const BufferClass& bc : classes) {
    if (bc.buffer_size == 0 || bc.count == 0) continue;
    Class c;
    c.buffer_size = RoundUp(bc.buffer_size);
    size_t bytes = c.buffer_size * bc.count;
    if (bc.count > SIZE_MAX / c.buffer_size || (c.slab = AlignedAlloc(bytes)) == nullptr) {
      status_ = Status::NoMemory("buffer pool: cannot preallocate " + std::to_string(bc.count) +
                                 " buffers of " + std::to_string(c.buffer_size) + " bytes");
      continue;
    }
    std::memset(c.slab, 0, bytes);  // pre-fault every page now, not on first read
    std::vector<std::byte*> free;
    free.reserve(bc.count);
    for (size_t i = bc.count; i-- > 0;) free.push_back(c.slab + i * c.buffer_size);
    bytes_preallocated_ += bytes;
    classes_.push_back(c);
    free_.push_back(std::move(free));
  }
}

BufferPool::~BufferPool() {
  for (Class& c : classes_) std::free(c.slab);
}

Result<BufferLease> BufferPool::Lease(size_t n) {
  leases_.fetch_add(1, std::memory_order_relaxed);
  {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < classes_.size(); ++i) {
      std::vector<std::byte*>& free = free_[i];
      if (classes_[i].buffer_size < n || free.empty()) continue;
      std::byte* p = free.back();
      free.pop_back();
      ++in_use_;
      hits_.fetch_add(1, std::memory_order_relaxed);
      return BufferLease(this, p, classes_[i].buffer_size, static_cast<int>(i));
    }
  }
  n = std::max<size_t>(n, 1);
  std::byte* p = n <= max_heap_lease_ ? AlignedAlloc(n) : nullptr;
  if (p == nullptr) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    return Status::NoMemory("buffer pool: no pooled buffer and no heap memory for " +
                            std::to_string(n) + " bytes");
  }
  overflow_.fetch_add(1, std::memory_order_relaxed);
  return BufferLease(this, p, n, -1);
}

void BufferPool::Return(std::byte* data, int class_index) {
  MutexLock lock(&mu_);
  free_[class_index].push_back(data);
  --in_use_;
}

BufferPoolStats BufferPool::stats() const {
  BufferPoolStats s;
  s.leases = leases_.load(std::memory_order_relaxed);
  s.pool_hits = hits_.load(std::memory_order_relaxed);
  s.overflow_allocations = overflow_.load(std::memory_order_relaxed);
  s.failed_allocations = failed_.load(std::memory_order_relaxed);
  s.bytes_preallocated = bytes_preallocated_;
  MutexLock lock(&mu_);
  s.in_use = in_use_;
  return s;
}

size_t BufferPool::largest_class() const {
  return classes_.empty() ? 0 : classes_.back().buffer_size;
}

}  // namespace tierfs
