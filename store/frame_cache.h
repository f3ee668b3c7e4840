// FrameCache: a bounded LRU of decompressed cold frames, each held in a
// pooled buffer, so that a sequential read of a cold object decompresses each
// frame once and small random reads of a hot frame do not decompress at all.
//
// Keys are (cold generation, frame index). Every time an object becomes cold
// it gets a new generation number that is never reused, so entries of a
// promoted or removed object can never be returned for another one; they
// simply age out. Entries are shared_ptrs: a reader may keep using a frame
// after it was evicted, and its buffer returns to the pool when the last
// user drops it. Capacity 0 disables caching.
//
// Each frame is decoded once even when a reader and the read-ahead workers
// want it at the same time: whoever finds it neither cached nor being
// decoded claims it (Begin / TryBegin), decodes it and hands it over with
// End; a reader that finds it claimed waits for that End instead of
// decoding it again.
//
// No allocation in steady state: the LRU's and the index's nodes come from a
// pool resource that keeps what evictions free for the next insert, and
// NewFrame() places a frame and its shared_ptr control block in blocks of a
// second, thread-safe pool (a frame may be dropped on any thread).
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <memory_resource>
#include <unordered_map>
#include <unordered_set>

#include "store/buffer_pool.h"
#include "store/mutex.h"

namespace tierfs {

struct CachedFrame {
  BufferLease buffer;  // buffer.size() = the frame's logical bytes
};

struct FrameCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t bytes = 0;
  uint64_t capacity = 0;
};

class FrameCache {
 public:
  explicit FrameCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}
  FrameCache(const FrameCache&) = delete;
  FrameCache& operator=(const FrameCache&) = delete;

  bool enabled() const { return capacity_ > 0; }
  // An empty frame to fill and Insert (or use uncached).
  std::shared_ptr<CachedFrame> NewFrame() {
    return std::allocate_shared<CachedFrame>(
        std::pmr::polymorphic_allocator<CachedFrame>(&frame_blocks_));
  }
  // The cached frame (a hit), waiting first while another thread decodes
  // it; or nullptr (a miss), and the caller has claimed the frame: it
  // decodes it and must call End.
  std::shared_ptr<const CachedFrame> Begin(uint64_t generation, uint32_t frame) EXCLUDES(mu_);
  // Claims the frame when it is neither cached nor being decoded (then the
  // caller must call End); counts neither a hit nor a miss.
  bool TryBegin(uint64_t generation, uint32_t frame) EXCLUDES(mu_);
  // Ends a claim: caches `value` (nullptr: the decode failed) and wakes the
  // readers waiting for the frame.
  void End(uint64_t generation, uint32_t frame, std::shared_ptr<const CachedFrame> value)
      EXCLUDES(mu_);
  FrameCacheStats stats() const EXCLUDES(mu_);

 private:
  struct Key {
    uint64_t generation;
    uint32_t frame;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()(k.generation * 0x9E3779B97F4A7C15ULL ^ k.frame);
    }
  };
  using Lru = std::pmr::list<std::pair<Key, std::shared_ptr<const CachedFrame>>>;
  void InsertLocked(const Key& key, std::shared_ptr<const CachedFrame> value) REQUIRES(mu_);

  const uint64_t capacity_;
  // Declared first: destroyed after every frame and node placed in them.
  std::pmr::synchronized_pool_resource frame_blocks_;
  mutable Mutex mu_;
  // The node pool of the three containers below (through their allocators).
  std::pmr::unsynchronized_pool_resource nodes_ GUARDED_BY(mu_);
  Lru lru_ GUARDED_BY(mu_){&nodes_};  // front = most recent
  std::pmr::unordered_map<Key, Lru::iterator, KeyHash> map_ GUARDED_BY(mu_){&nodes_};
  // Frames claimed by a decoder (Begin, TryBegin); End signals decoded_.
  std::pmr::unordered_set<Key, KeyHash> decoding_ GUARDED_BY(mu_){&nodes_};
  CondVar decoded_;
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
  uint64_t hits_ GUARDED_BY(mu_) = 0;
  uint64_t misses_ GUARDED_BY(mu_) = 0;
  uint64_t evictions_ GUARDED_BY(mu_) = 0;
};

}  // namespace tierfs
