// PendingDirSyncs: directories whose entries changed (unlinks) but are not
// durable yet. Sync() fsyncs them; those it could not sync stay for the next
// call. Used for the hot tier's unlinks (ObjectStore) and the cold
// directory's (DirColdBackend).
// Thread-safety: thread-safe (one mutex).
#pragma once

#include <set>
#include <string>

#include "store/env.h"
#include "store/mutex.h"

namespace tierfs {

class PendingDirSyncs {
 public:
  void Add(std::string dir) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    dirs_.insert(std::move(dir));
  }
  Status Sync(Env* env) EXCLUDES(mu_) {
    std::set<std::string> dirs;
    {
      MutexLock lock(&mu_);
      dirs.swap(dirs_);
    }
    for (auto it = dirs.begin(); it != dirs.end(); ++it) {
      Status st = env->SyncDir(*it);
      if (!st.ok()) {
        MutexLock lock(&mu_);
        dirs_.insert(it, dirs.end());
        return st;
      }
    }
    return Status::OK();
  }

 private:
  Mutex mu_;
  std::set<std::string> dirs_ GUARDED_BY(mu_);
};

}  // namespace tierfs
