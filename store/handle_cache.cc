// HandleCache: see handle_cache.h.
#include "store/handle_cache.h"

namespace tierfs {

HandleCache::HandleCache(size_t capacity, Opener<File> open_hot, Opener<ColdHandle> open_cold)
    : capacity_(capacity), open_hot_(std::move(open_hot)), open_cold_(std::move(open_cold)) {}

HandleCache::Slot& HandleCache::TouchLocked(const ObjectKey& key) {
  auto [it, added] = slots_.try_emplace(key);
  if (added) {
    lru_.push_front(key);
    it->second.lru_it = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru_it);
  }
  return it->second;
}

void HandleCache::EvictLocked() {
  while (lru_.size() > capacity_) {
    slots_.erase(lru_.back());  // in-flight users keep their shared_ptr
    lru_.pop_back();
  }
}

template <class Handle>
Result<std::shared_ptr<Handle>> HandleCache::Get(const ObjectKey& key,
                                                 std::shared_ptr<Handle> Slot::*field,
                                                 const Opener<Handle>& open) {
  {
    MutexLock lock(&mu_);
    auto it = slots_.find(key);
    if (it != slots_.end() && it->second.*field) {
      lru_.splice(lru_.begin(), lru_, it->second.lru_it);
      return it->second.*field;
    }
  }
  TIERFS_ASSIGN_OR_RETURN(std::shared_ptr<Handle> h, open(key));  // no lock held: it does I/O
  MutexLock lock(&mu_);
  Slot& slot = TouchLocked(key);
  if (!(slot.*field)) slot.*field = std::move(h);
  std::shared_ptr<Handle> out = slot.*field;
  EvictLocked();
  return out;
}

Result<std::shared_ptr<File>> HandleCache::Hot(const ObjectKey& key) {
  return Get<File>(key, &Slot::hot, open_hot_);
}

Result<std::shared_ptr<ColdHandle>> HandleCache::Cold(const ObjectKey& key) {
  return Get<ColdHandle>(key, &Slot::cold, open_cold_);
}

void HandleCache::PutHot(const ObjectKey& key, std::shared_ptr<File> f) {
  MutexLock lock(&mu_);
  Slot& slot = TouchLocked(key);
  slot.hot = std::move(f);
  slot.cold.reset();
  EvictLocked();
}

void HandleCache::Drop(const ObjectKey& key) {
  MutexLock lock(&mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  lru_.erase(it->second.lru_it);
  slots_.erase(it);
}

}  // namespace tierfs
