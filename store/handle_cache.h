// HandleCache: the object store's open objects. For each object at most one
// open hot File and one open ColdHandle, opened on first use by the functions
// the store gives it and kept in one LRU of at most `capacity` objects (the
// least recently used object's handles are closed first; a user still
// holding one keeps it open until it lets go).
//
// The cache does not know which tier an object is in: the store asks for
// the handle of the tier the table names, and drops an object's handles
// (Drop) whenever its copy changes (a tier move, a copy over it, a removal),
// all under the object's exclusive lock, while every Hot/Cold call is made
// under the object's lock at least shared. So a handle in the cache is
// always one of the object's current copy.
//
// Thread-safety: thread-safe. Its mutex is a leaf, taken after an object
// lock and never together with the table's; opening a handle (I/O) happens
// with it released.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <unordered_map>

#include "compress/status.h"
#include "store/cold_reader.h"
#include "store/env.h"
#include "store/mutex.h"
#include "store/object_key.h"

namespace tierfs {

class HandleCache {
 public:
  template <class Handle>
  using Opener = std::function<Result<std::shared_ptr<Handle>>(const ObjectKey&)>;
  HandleCache(size_t capacity, Opener<File> open_hot, Opener<ColdHandle> open_cold);
  HandleCache(const HandleCache&) = delete;
  HandleCache& operator=(const HandleCache&) = delete;

  // The object's open hot file / cold handle, opened when there is none.
  Result<std::shared_ptr<File>> Hot(const ObjectKey& key) EXCLUDES(mu_);
  Result<std::shared_ptr<ColdHandle>> Cold(const ObjectKey& key) EXCLUDES(mu_);
  // Caches f as the object's hot file (a file just created), replacing any.
  void PutHot(const ObjectKey& key, std::shared_ptr<File> f) EXCLUDES(mu_);
  // Forgets the object's handles.
  void Drop(const ObjectKey& key) EXCLUDES(mu_);

 private:
  struct Slot {
    std::shared_ptr<File> hot;
    std::shared_ptr<ColdHandle> cold;
    std::list<ObjectKey>::iterator lru_it;
  };
  // The handle in `field` of the key's slot, opened with open() when there
  // is none, the slot made most recent.
  template <class Handle>
  Result<std::shared_ptr<Handle>> Get(const ObjectKey& key, std::shared_ptr<Handle> Slot::*field,
                                      const Opener<Handle>& open) EXCLUDES(mu_);
  // The key's slot, created when missing, made most recent.
  Slot& TouchLocked(const ObjectKey& key) REQUIRES(mu_);
  void EvictLocked() REQUIRES(mu_);

  const size_t capacity_;
  const Opener<File> open_hot_;
  const Opener<ColdHandle> open_cold_;
  Mutex mu_;
  std::unordered_map<ObjectKey, Slot, ObjectKeyHash> slots_ GUARDED_BY(mu_);
  std::list<ObjectKey> lru_ GUARDED_BY(mu_);  // front = most recent
};

}  // namespace tierfs
