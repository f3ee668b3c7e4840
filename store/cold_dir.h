// DirColdBackend: the cold tier as files in a directory (cold_dir), through
// the Env: DIR/<shard>/<group:016x>.<index:016x>, 256 shards as in hot/.
// A write goes to <name>.tmp.<n> in the object's shard; Finish() fsyncs it;
// Commit() renames it over the name and fsyncs the shard directory. Recover()
// deletes leftover temp files. Removals are unlinks whose directories are
// fsynced by the next SyncRemovals(). The owner record is DIR/OWNER,
// replaced (temp file, fsync, rename, directory fsync) while DIR/OWNER.lock
// is flock()ed. store/STORE.md has the layout.
// Thread-safety: thread-safe (Env calls and a PendingDirSyncs).
#pragma once

#include <atomic>
#include <string>

#include "store/cold_backend.h"
#include "store/dir_syncs.h"
#include "store/env.h"

namespace tierfs {

class DirColdBackend final : public ColdBackend {
 public:
  DirColdBackend(Env* env, std::string dir, bool read_only);

  std::string Describe() const override { return "dir:" + dir_; }
  std::string NameOf(ObjectKey key) const override;
  Result<std::vector<ColdListing>> Recover() override;
  Result<std::unique_ptr<ColdWrite>> Begin(ObjectKey key) override;
  Result<std::unique_ptr<ColdObject>> Open(ObjectKey key) override;
  Status Remove(ObjectKey key) override;
  Status SyncRemovals() override;
  Result<std::string> ReadOwner() override;
  Status SwapOwner(const std::optional<std::string>& expected, const std::string& record) override;

 private:
  class Write;
  Env* const env_;
  const std::string dir_;
  const bool read_only_;
  std::atomic<uint64_t> temp_counter_{0};
  PendingDirSyncs unsynced_dirs_;
};

}  // namespace tierfs
