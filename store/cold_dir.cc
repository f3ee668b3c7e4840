#include "store/cold_dir.h"

#include "store/cold_owner.h"

namespace tierfs {

namespace {

class DirColdObject final : public ColdObject {
 public:
  DirColdObject(std::unique_ptr<File> file, uint64_t size) : file_(std::move(file)), size_(size) {}
  uint64_t size() const override { return size_; }
  Status ReadExactAt(uint64_t offset, std::span<std::byte> dst) override {
    TIERFS_ASSIGN_OR_RETURN(size_t n, file_->PRead(offset, dst));
    if (n != dst.size()) return Status::Corruption("cold object truncated: " + file_->path());
    return Status::OK();
  }
  void WillNeed() override { file_->WillNeed(); }

 private:
  const std::unique_ptr<File> file_;
  const uint64_t size_;
};

}  // namespace

class DirColdBackend::Write final : public ColdWrite {
 public:
  Write(Env* env, std::unique_ptr<File> file, std::string tmp, std::string final_path)
      : env_(env), file_(std::move(file)), tmp_(std::move(tmp)), final_(std::move(final_path)) {}
  ~Write() override {
    file_.reset();
    if (!renamed_) (void)env_->Unlink(tmp_);
  }
  Status Append(std::span<const std::byte> data) override {
    TIERFS_RETURN_IF_ERROR(file_->PWrite(written_, data));
    written_ += data.size();
    return Status::OK();
  }
  Status Finish() override { return file_->Sync(); }
  Status Commit() override {
    TIERFS_RETURN_IF_ERROR(env_->Rename(tmp_, final_));
    renamed_ = true;
    // The rename is done; if this fails it may not be durable, and the
    // caller treats the commit as maybe taken (see cold_backend.h).
    return env_->SyncDir(DirName(final_));
  }
  bool maybe_committed() const override { return renamed_; }
  uint64_t written() const override { return written_; }

 private:
  Env* const env_;
  std::unique_ptr<File> file_;
  const std::string tmp_, final_;
  uint64_t written_ = 0;
  bool renamed_ = false;
};

DirColdBackend::DirColdBackend(Env* env, std::string dir, bool read_only)
    : env_(env), dir_(std::move(dir)), read_only_(read_only) {}

std::string DirColdBackend::NameOf(ObjectKey key) const {
  return dir_ + "/" + ShardName(ShardOf(key)) + "/" + ObjectName(key);
}

Result<std::vector<ColdListing>> DirColdBackend::Recover() {
  if (!read_only_) {
    TIERFS_RETURN_IF_ERROR(env_->MkDir(dir_));
    for (size_t s = 0; s < kShards; ++s)
      TIERFS_RETURN_IF_ERROR(env_->MkDir(dir_ + "/" + ShardName(s)));
    // The shard directories are durable once their parents are synced
    // (cheap when nothing was created).
    TIERFS_RETURN_IF_ERROR(env_->SyncDir(dir_));
    TIERFS_RETURN_IF_ERROR(env_->SyncDir(ParentDir(dir_)));
  }
  std::vector<ColdListing> out;
  for (size_t s = 0; s < kShards; ++s) {
    const std::string shard_dir = dir_ + "/" + ShardName(s);
    auto listed = env_->ListDir(shard_dir);
    // Read-only: a shard directory not created yet simply holds nothing.
    if (read_only_ && listed.status().IsNotFound()) continue;
    TIERFS_ASSIGN_OR_RETURN(auto names, std::move(listed));
    for (const std::string& name : names) {
      const std::string path = shard_dir + "/" + name;
      if (name.find(kTempMarker) != std::string::npos) {
        // An interrupted write: whatever it was replacing is still in place.
        if (!read_only_) TIERFS_RETURN_IF_ERROR(env_->Unlink(path));
        continue;
      }
      ObjectKey key;
      if (!ParseObjectName(name, &key)) continue;  // not ours; fsck reports it
      TIERFS_ASSIGN_OR_RETURN(FileStat st, env_->Stat(path));
      out.push_back(ColdListing{key.group, key.index, st.size, st.mtime_ns});
    }
  }
  return out;
}

Result<std::unique_ptr<ColdWrite>> DirColdBackend::Begin(ObjectKey key) {
  if (read_only_) return Status::Posix(EROFS, "cold tier " + dir_ + " is open read-only");
  std::string final_path = NameOf(key);
  std::string tmp =
      final_path + std::string(kTempMarker) + std::to_string(temp_counter_.fetch_add(1));
  TIERFS_ASSIGN_OR_RETURN(
      auto f, env_->Open(tmp, OpenOptions{.write = true, .create = true, .exclusive = true}));
  return std::unique_ptr<ColdWrite>(
      new Write(env_, std::move(f), std::move(tmp), std::move(final_path)));
}

Result<std::unique_ptr<ColdObject>> DirColdBackend::Open(ObjectKey key) {
  TIERFS_ASSIGN_OR_RETURN(auto f, env_->Open(NameOf(key), OpenOptions{}));
  TIERFS_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  return std::unique_ptr<ColdObject>(new DirColdObject(std::move(f), size));
}

Status DirColdBackend::Remove(ObjectKey key) {
  if (read_only_) return Status::Posix(EROFS, "cold tier " + dir_ + " is open read-only");
  const std::string path = NameOf(key);
  Status st = env_->Unlink(path);
  if (st.IsNotFound()) return Status::OK();
  if (st.ok()) unsynced_dirs_.Add(DirName(path));
  return st;
}

Status DirColdBackend::SyncRemovals() { return unsynced_dirs_.Sync(env_); }

Result<std::string> DirColdBackend::ReadOwner() { return ReadRecordFile(env_, dir_ + "/OWNER"); }

Status DirColdBackend::SwapOwner(const std::optional<std::string>& expected,
                                 const std::string& record) {
  if (read_only_) return Status::Posix(EROFS, "cold tier " + dir_ + " is open read-only");
  TIERFS_RETURN_IF_ERROR(env_->MkDir(dir_));
  TIERFS_RETURN_IF_ERROR(env_->SyncDir(ParentDir(dir_)));
  // Two stores claiming at once: the second does not wait, it fails.
  auto lock = env_->LockFile(dir_ + "/OWNER.lock");
  if (lock.status().code() == Code::kBusy) {
    return Status::Busy("another store is claiming cold tier " + dir_);
  }
  TIERFS_RETURN_IF_ERROR(lock.status());
  auto current = ReadOwner();
  if (!current.ok() && !current.status().IsNotFound()) return current.status();
  const std::optional<std::string> now =
      current.ok() ? std::optional<std::string>(*current) : std::nullopt;
  if (now != expected) return Status::Busy("the owner record of cold tier " + dir_ + " changed");
  return ReplaceRecordFile(env_, dir_ + "/OWNER", record);
}

}  // namespace tierfs
