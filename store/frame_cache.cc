// FrameCache implementation.
#include "store/frame_cache.h"

namespace tierfs {

std::shared_ptr<const CachedFrame> FrameCache::Lookup(uint64_t generation, uint32_t frame) {
  std::lock_guard lock(mu_);
  auto it = map_.find(Key{generation, frame});
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void FrameCache::Insert(uint64_t generation, uint32_t frame,
                        std::shared_ptr<const CachedFrame> value) {
  if (!enabled() || !value) return;
  uint64_t size = value->buffer.capacity();
  if (size > capacity_) return;
  std::lock_guard lock(mu_);
  Key key{generation, frame};
  if (map_.count(key)) return;  // another reader decoded it first
  lru_.emplace_front(key, std::move(value));
  map_[key] = lru_.begin();
  bytes_ += size;
  while (bytes_ > capacity_) {
    auto& victim = lru_.back();
    bytes_ -= victim.second->buffer.capacity();
    map_.erase(victim.first);
    lru_.pop_back();
    ++evictions_;
  }
}

FrameCacheStats FrameCache::stats() const {
  std::lock_guard lock(mu_);
  return FrameCacheStats{hits_, misses_, evictions_, bytes_, capacity_};
}

}  // namespace tierfs
