// FaultInjectionEnv implementation; see fault_env.h for the crash model.
#include "store/testing/fault_env.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>
#include <system_error>
#include <vector>

namespace tierfs {

namespace {

// Reads a whole file through the base Env (test-sized files only).
Result<std::string> ReadAll(Env* env, const std::string& path) {
  TIERFS_ASSIGN_OR_RETURN(auto f, env->Open(path, OpenOptions{}));
  TIERFS_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  std::string data(size, '\0');
  TIERFS_ASSIGN_OR_RETURN(size_t n, f->PRead(0, std::as_writable_bytes(std::span(data))));
  data.resize(n);
  return data;
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

Status WriteAll(Env* env, const std::string& path, const std::string& data) {
  TIERFS_ASSIGN_OR_RETURN(auto f, env->Open(path, OpenOptions{.write = true, .create = true}));
  TIERFS_RETURN_IF_ERROR(f->Truncate(0));
  TIERFS_RETURN_IF_ERROR(f->PWrite(0, std::as_bytes(std::span(data))));
  return f->Sync();
}

}  // namespace

// A File whose operations pass through the Env's fault checks.
class FaultFile final : public File {
 public:
  FaultFile(FaultInjectionEnv* env, std::unique_ptr<File> base)
      : env_(env), base_(std::move(base)) {}

  Result<size_t> PRead(uint64_t offset, std::span<std::byte> dst) override {
    TIERFS_RETURN_IF_ERROR(env_->Check(FaultOp::kRead, false));
    return base_->PRead(offset, dst);
  }
  Status PWrite(uint64_t offset, std::span<const std::byte> src) override {
    TIERFS_RETURN_IF_ERROR(env_->Check(FaultOp::kWrite, true));
    env_->NoteWrite(path());
    if (env_->short_writes() && !src.empty()) {
      TIERFS_RETURN_IF_ERROR(base_->PWrite(offset, src.first(src.size() / 2)));
      return Status::NoSpace("injected short write to " + path());
    }
    return base_->PWrite(offset, src);
  }
  Status Sync() override {
    TIERFS_RETURN_IF_ERROR(env_->Check(FaultOp::kSync, true));
    TIERFS_RETURN_IF_ERROR(base_->Sync());
    return env_->NoteSync(path());
  }
  Status Truncate(uint64_t size) override {
    TIERFS_RETURN_IF_ERROR(env_->Check(FaultOp::kTruncate, true));
    env_->NoteWrite(path());
    return base_->Truncate(size);
  }
  Result<uint64_t> Size() override { return base_->Size(); }
  Status PunchHole(uint64_t offset, uint64_t len) override {
    TIERFS_RETURN_IF_ERROR(env_->Check(FaultOp::kWrite, true));
    env_->NoteWrite(path());
    return base_->PunchHole(offset, len);
  }
  Status Allocate(uint64_t offset, uint64_t len) override {
    TIERFS_RETURN_IF_ERROR(env_->Check(FaultOp::kAllocate, true));
    env_->NoteWrite(path());
    return base_->Allocate(offset, len);
  }
  void WillNeed() override {
    (void)env_->Check(FaultOp::kWillNeed, false);
    base_->WillNeed();
  }
  int fd() const override { return base_->fd(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionEnv* const env_;
  std::unique_ptr<File> base_;
};

void FaultInjectionEnv::FailOp(FaultOp op, Status status, int count, int skip) {
  MutexLock lock(&mu_);
  rules_[op] = Rule{std::move(status), count, skip};
}

void FaultInjectionEnv::RunBefore(FaultOp op, std::function<void()> fn, int skip) {
  MutexLock lock(&mu_);
  hooks_.push_back(Hook{op, skip, std::move(fn)});
}

void FaultInjectionEnv::SetShortWrites(bool on) {
  MutexLock lock(&mu_);
  short_writes_ = on;
}

bool FaultInjectionEnv::short_writes() const {
  MutexLock lock(&mu_);
  return short_writes_;
}

int64_t FaultInjectionEnv::NowNanos() {
  {
    MutexLock lock(&mu_);
    if (now_ns_ != 0) return now_ns_;
  }
  return base_->NowNanos();
}

int64_t FaultInjectionEnv::CoarseNowNanos() {
  {
    MutexLock lock(&mu_);
    if (now_ns_ != 0) return now_ns_;
  }
  return base_->CoarseNowNanos();
}

void FaultInjectionEnv::SetNowNanos(int64_t ns) {
  MutexLock lock(&mu_);
  now_ns_ = ns;
}

void FaultInjectionEnv::CrashAfter(int n) {
  MutexLock lock(&mu_);
  crash_countdown_ = n;
  crashed_ = n == 0;
}

bool FaultInjectionEnv::crashed() const {
  MutexLock lock(&mu_);
  return crashed_;
}

int FaultInjectionEnv::mutating_ops() const {
  MutexLock lock(&mu_);
  return mutating_ops_;
}

int FaultInjectionEnv::ops(FaultOp op) const {
  MutexLock lock(&mu_);
  auto it = ops_.find(op);
  return it == ops_.end() ? 0 : it->second;
}

void FaultInjectionEnv::ClearFaults() {
  MutexLock lock(&mu_);
  rules_.clear();
  hooks_.clear();
  short_writes_ = false;
  crash_countdown_ = -1;
  crashed_ = false;
}

Status FaultInjectionEnv::Check(FaultOp op, bool mutating) {
  std::function<void()> hook;
  {
    MutexLock lock(&mu_);
    for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
      if (it->op != op) continue;
      if (it->skip > 0) {
        --it->skip;
        continue;
      }
      hook = std::move(it->fn);
      hooks_.erase(it);
      break;
    }
  }
  if (hook) hook();
  MutexLock lock(&mu_);
  ++ops_[op];
  if (crashed_) return Status::IOError("injected crash", EIO);
  if (mutating) {
    if (crash_countdown_ == 0) {
      crashed_ = true;
      return Status::IOError("injected crash", EIO);
    }
    if (crash_countdown_ > 0) --crash_countdown_;
    ++mutating_ops_;
  }
  auto it = rules_.find(op);
  if (it == rules_.end()) return Status::OK();
  Rule& r = it->second;
  if (r.skip > 0) {
    --r.skip;
    return Status::OK();
  }
  if (r.count == 0) return Status::OK();
  if (r.count > 0) --r.count;
  return r.status;
}

void FaultInjectionEnv::NoteWrite(const std::string& path) {
  MutexLock lock(&mu_);
  if (synced_.count(path)) return;
  // First write seen: what is on disk now counts as durable.
  auto content = ReadAll(base_, path);
  synced_[path] =
      content.ok() ? std::optional<std::string>(std::move(content).value()) : std::nullopt;
}

Status FaultInjectionEnv::NoteSync(const std::string& path) {
  TIERFS_ASSIGN_OR_RETURN(std::string content, ReadAll(base_, path));
  MutexLock lock(&mu_);
  synced_[path] = std::move(content);
  return Status::OK();
}

FaultInjectionEnv::DirOp FaultInjectionEnv::MakeOp(DirOp::Kind kind, std::string path,
                                                   std::string from, std::set<std::string> dirs) {
  DirOp op;
  op.kind = kind;
  op.path = std::move(path);
  op.from = std::move(from);
  op.unsynced_dirs = std::move(dirs);
  return op;
}

std::string FaultInjectionEnv::DurableContentLocked(const std::string& path) {
  auto it = synced_.find(path);
  if (it != synced_.end()) return it->second.value_or(std::string());
  // Not written through this Env: what is on disk is durable.
  auto content = ReadAll(base_, path);
  return content.ok() ? std::move(content).value() : std::string();
}

Result<std::unique_ptr<File>> FaultInjectionEnv::Open(const std::string& path,
                                                      const OpenOptions& opts) {
  bool mutating = opts.write || opts.create;
  TIERFS_RETURN_IF_ERROR(Check(FaultOp::kOpen, mutating));
  bool existed = base_->Stat(path).ok();
  // Emptying an existing file changes its content: remember what was durable.
  if (existed && opts.write && opts.truncate) NoteWrite(path);
  TIERFS_ASSIGN_OR_RETURN(auto f, base_->Open(path, opts));
  if (!existed) {
    MutexLock lock(&mu_);
    synced_[path] = std::nullopt;
    pending_.push_back(MakeOp(DirOp::kCreate, path, "", {DirOf(path)}));
  }
  return std::unique_ptr<File>(std::make_unique<FaultFile>(this, std::move(f)));
}

Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  TIERFS_RETURN_IF_ERROR(Check(FaultOp::kRename, true));
  DirOp op = MakeOp(DirOp::kRename, to, from, {DirOf(from), DirOf(to)});
  {
    MutexLock lock(&mu_);
    if (base_->Stat(to).ok()) {
      op.restore = true;
      op.content = DurableContentLocked(to);
    }
  }
  TIERFS_RETURN_IF_ERROR(base_->Rename(from, to));
  MutexLock lock(&mu_);
  synced_.erase(to);
  auto it = synced_.find(from);
  if (it != synced_.end()) {
    synced_[to] = std::move(it->second);
    synced_.erase(from);
  }
  pending_.push_back(std::move(op));
  return Status::OK();
}

Status FaultInjectionEnv::Unlink(const std::string& path) {
  TIERFS_RETURN_IF_ERROR(Check(FaultOp::kUnlink, true));
  DirOp op = MakeOp(DirOp::kUnlink, path, "", {DirOf(path)});
  op.restore = true;
  {
    MutexLock lock(&mu_);
    op.content = DurableContentLocked(path);
  }
  TIERFS_RETURN_IF_ERROR(base_->Unlink(path));
  MutexLock lock(&mu_);
  synced_.erase(path);
  pending_.push_back(std::move(op));
  return Status::OK();
}

Status FaultInjectionEnv::MkDir(const std::string& path) {
  TIERFS_RETURN_IF_ERROR(Check(FaultOp::kSyncDir, true));
  bool existed = base_->Stat(path).ok();
  TIERFS_RETURN_IF_ERROR(base_->MkDir(path));
  if (!existed) {
    MutexLock lock(&mu_);
    pending_.push_back(MakeOp(DirOp::kMkDir, path, "", {DirOf(path)}));
  }
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& path) {
  TIERFS_RETURN_IF_ERROR(Check(FaultOp::kSyncDir, true));
  TIERFS_RETURN_IF_ERROR(base_->SyncDir(path));
  MutexLock lock(&mu_);
  for (DirOp& op : pending_) op.unsynced_dirs.erase(path);
  std::erase_if(pending_, [](const DirOp& op) { return op.unsynced_dirs.empty(); });
  return Status::OK();
}

Result<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& path) {
  TIERFS_RETURN_IF_ERROR(Check(FaultOp::kRead, false));
  return base_->ListDir(path);
}

Result<FileStat> FaultInjectionEnv::Stat(const std::string& path) {
  TIERFS_RETURN_IF_ERROR(Check(FaultOp::kRead, false));
  return base_->Stat(path);
}

Result<FsSpace> FaultInjectionEnv::StatFs(const std::string& path) { return base_->StatFs(path); }

Result<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path) {
  return base_->LockFile(path);
}

Result<std::unique_ptr<FileLock>> FaultInjectionEnv::LockExistingFile(const std::string& path) {
  return base_->LockExistingFile(path);
}

Status FaultInjectionEnv::DropUnsyncedData() {
  return Cut([](size_t) { return size_t{0}; }, [](const std::string&) { return false; });
}

Status FaultInjectionEnv::DropUnsyncedData(const PowerCut& cut) {
  // Drawn in a fixed order (the prefix, then the files in path order) from
  // a generator with a fixed algorithm, so that a seed replays.
  std::mt19937_64 rng(cut.seed);
  return Cut([&rng](size_t pending) { return static_cast<size_t>(rng() % (pending + 1)); },
             [&rng](const std::string&) { return (rng() & 1) != 0; });
}

Status FaultInjectionEnv::Cut(const std::function<size_t(size_t pending)>& kept_ops,
                              const std::function<bool(const std::string& path)>& keep_content) {
  std::map<std::string, std::optional<std::string>> files;
  std::vector<DirOp> pending;
  {
    MutexLock lock(&mu_);
    files.swap(synced_);
    pending.swap(pending_);
    crashed_ = false;
    crash_countdown_ = -1;
  }
  // The journal's prefix stays as it is.
  const size_t kept = std::min(kept_ops(pending.size()), pending.size());
  // The rest of the entry changes first, newest first, so each undo finds
  // the state its change left.
  for (auto op = pending.rbegin(); op != pending.rend() - kept; ++op) {
    switch (op->kind) {
      case DirOp::kCreate:
        (void)base_->Unlink(op->path);
        files.erase(op->path);
        break;
      case DirOp::kMkDir: {
        std::error_code ec;
        std::filesystem::remove_all(op->path, ec);
        const std::string prefix = op->path + "/";
        std::erase_if(files, [&](const auto& f) { return f.first.starts_with(prefix); });
        break;
      }
      case DirOp::kRename:
        if (base_->Stat(op->path).ok()) {
          TIERFS_RETURN_IF_ERROR(base_->Rename(op->path, op->from));
          auto it = files.find(op->path);
          if (it != files.end()) {
            files[op->from] = std::move(it->second);
            files.erase(op->path);
          }
        }
        if (op->restore) {
          TIERFS_RETURN_IF_ERROR(WriteAll(base_, op->path, op->content));
          files.erase(op->path);
        }
        break;
      case DirOp::kUnlink:
        TIERFS_RETURN_IF_ERROR(WriteAll(base_, op->path, op->content));
        files.erase(op->path);
        break;
    }
  }
  for (const auto& [path, content] : files) {
    const bool keep = keep_content(path);           // drawn for every file: a seed replays
    if (keep || !base_->Stat(path).ok()) continue;  // (unlinked since: nothing to restore)
    TIERFS_RETURN_IF_ERROR(WriteAll(base_, path, content.value_or(std::string())));
  }
  return Status::OK();
}

}  // namespace tierfs
