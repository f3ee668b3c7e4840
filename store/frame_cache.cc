// FrameCache implementation.
#include "store/frame_cache.h"

namespace tierfs {

std::shared_ptr<const CachedFrame> FrameCache::Begin(uint64_t generation, uint32_t frame) {
  const Key key{generation, frame};
  MutexLock lock(&mu_);
  while (decoding_.count(key)) decoded_.Wait(&mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    if (enabled()) decoding_.insert(key);
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

bool FrameCache::TryBegin(uint64_t generation, uint32_t frame) {
  const Key key{generation, frame};
  MutexLock lock(&mu_);
  if (!enabled() || map_.count(key) || decoding_.count(key)) return false;
  decoding_.insert(key);
  return true;
}

void FrameCache::End(uint64_t generation, uint32_t frame,
                     std::shared_ptr<const CachedFrame> value) {
  const Key key{generation, frame};
  {
    MutexLock lock(&mu_);
    decoding_.erase(key);
    if (value) InsertLocked(key, std::move(value));
  }
  decoded_.NotifyAll();
}

void FrameCache::InsertLocked(const Key& key, std::shared_ptr<const CachedFrame> value) {
  const uint64_t size = value->buffer.capacity();
  if (size > capacity_ || map_.count(key)) return;
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
  MutexLock lock(&mu_);
  return FrameCacheStats{hits_, misses_, evictions_, bytes_, capacity_};
}

}  // namespace tierfs
