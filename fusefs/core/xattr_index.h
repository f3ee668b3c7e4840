// XattrIndex: the inodes that have xattrs. The kernel asks for
// security.capability before every write (and getxattr/listxattr come
// often), and a miss is answered from here without SQLite.
//
// Thread-safety: every method is thread-safe; mu_ is a leaf.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>

#include "store/mutex.h"

namespace tierfs {

class XattrIndex {
 public:
  XattrIndex() = default;
  XattrIndex(const XattrIndex&) = delete;
  XattrIndex& operator=(const XattrIndex&) = delete;

  bool Has(uint64_t ino) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return inos_.count(ino) > 0;
  }
  void Add(uint64_t ino) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    inos_.insert(ino);
  }
  void Add(std::span<const uint64_t> inos) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    inos_.insert(inos.begin(), inos.end());
  }
  // The inode lost its last xattr, or was freed.
  void Remove(std::span<const uint64_t> inos) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    for (uint64_t ino : inos) inos_.erase(ino);
  }

 private:
  Mutex mu_;
  std::unordered_set<uint64_t> inos_ GUARDED_BY(mu_);
};

}  // namespace tierfs
