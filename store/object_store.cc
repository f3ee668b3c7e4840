// ObjectStore: opening a store, recovery, the open-file cache and
// bookkeeping. Reads and writes are in object_io.cc, tier moves in
// tier_moves.cc. See object_store.h for the contract and store/STORE.md for
// the on-disk layout and the crash-recovery rules.
#include "store/object_store.h"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <set>

#include "store/object_store_internal.h"

namespace tierfs {

namespace {

constexpr size_t kShards = 256;
constexpr size_t kObjectLockStripes = 1024;
constexpr std::string_view kTempMarker = ".tmp.";

bool ParseHex(std::string_view s, uint64_t* out) {
  if (s.size() != 16) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

// "<group:016x>.<index:016x>"
bool ParseObjectName(std::string_view name, ObjectKey* key) {
  return name.size() == 33 && name[16] == '.' && ParseHex(name.substr(0, 16), &key->group) &&
         ParseHex(name.substr(17), &key->index);
}

std::string ShardName(size_t shard) {
  char buf[3];
  std::snprintf(buf, sizeof(buf), "%02zx", shard);
  return buf;
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_not_of('/');
  slash = slash == std::string::npos ? std::string::npos : path.rfind('/', slash);
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

size_t ShardOf(ObjectKey key) { return (ObjectKeyHash()(key) >> 24) % kShards; }

std::vector<BufferClass> PoolClasses(const StoreOptions& o) {
  auto classes = BufferPool::SplitBudget(o.buffer_pool_bytes, {o.io_size, o.frame_size, o.max_io});
  for (BufferClass& c : classes) {
    if (c.buffer_size == o.frame_size) c.count += o.frame_cache_bytes / o.frame_size;
  }
  return classes;
}
}  // namespace

ObjectStore::ObjectStore(Env* env, std::string dir, const StoreOptions& opts)
    : env_(env),
      dir_(std::move(dir)),
      opts_(opts),
      pool_(PoolClasses(opts)),
      cache_(opts.frame_cache_bytes),
      object_locks_(kObjectLockStripes),
      table_(std::make_unique<Table>()) {
  decode_ahead_depth_ = std::min<int64_t>(opts.decode_ahead_frames,
                                          opts.frame_cache_bytes / opts.frame_size / 8);
  const size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  read_ahead_ = std::make_unique<WorkerPool<AheadJob>>(
      threads, [this](AheadJob& job) { RunAheadJob(job); });
}

ObjectStore::~ObjectStore() = default;

Result<std::unique_ptr<ObjectStore>> ObjectStore::Open(Env* env, const std::string& dir,
                                                       const StoreOptions& options) {
  StoreOptions opts = options;
  if (opts.hot_dir.empty()) opts.hot_dir = dir + "/hot";
  if (opts.cold_dir.empty()) opts.cold_dir = dir + "/cold";
  if (opts.frame_size < kMinFrameSize || opts.frame_size > kMaxFrameSize ||
      opts.frame_size % 4096 != 0) {
    return Status::InvalidArgument("frame size must be a multiple of 4 KiB in [4 KiB, 16 MiB]");
  }
  if (opts.io_size == 0 || opts.max_io < opts.io_size) {
    return Status::InvalidArgument("io_size must be > 0 and <= max_io");
  }
  if (opts.read_only) {
    TIERFS_ASSIGN_OR_RETURN(FileStat st, env->Stat(dir));
    if (!st.is_dir) return Status::InvalidArgument("not a store directory: " + dir);
  } else {
    const bool created = !env->Stat(dir).ok();
    TIERFS_RETURN_IF_ERROR(env->MkDir(dir));
    // A new store's own directory entry must be durable too, or a power
    // cut can take the store with everything synced in it.
    if (created) TIERFS_RETURN_IF_ERROR(env->SyncDir(ParentDir(dir)));
  }
  std::unique_ptr<ObjectStore> store(new ObjectStore(env, dir, opts));
  TIERFS_RETURN_IF_ERROR(store->pool_.status());
  if (opts.take_lock && opts.read_only) {
    // Lock out writers if there is a LOCK to take; never create it.
    auto lock = env->LockExistingFile(dir + "/LOCK");
    if (lock.ok()) {
      store->lock_ = std::move(lock).value();
    } else if (!lock.status().IsNotFound()) {
      return lock.status();
    }
  } else if (opts.take_lock) {
    TIERFS_ASSIGN_OR_RETURN(store->lock_, env->LockFile(dir + "/LOCK"));
  }
  TIERFS_RETURN_IF_ERROR(store->Recover());
  return store;
}

std::string ObjectStore::HotPath(ObjectKey key) const {
  char name[40];
  std::snprintf(name, sizeof(name), "/%016llx.%016llx", static_cast<unsigned long long>(key.group),
                static_cast<unsigned long long>(key.index));
  return opts_.hot_dir + "/" + ShardName(ShardOf(key)) + name;
}

std::string ObjectStore::ColdPath(ObjectKey key) const {
  std::string hot = HotPath(key);
  return opts_.cold_dir + hot.substr(opts_.hot_dir.size());
}

std::string ObjectStore::TempPath(const std::string& final_path) {
  return final_path + std::string(kTempMarker) + std::to_string(temp_counter_.fetch_add(1));
}

std::shared_mutex& ObjectStore::LockFor(ObjectKey key) const {
  return object_locks_[ObjectKeyHash()(key) % kObjectLockStripes];
}

Status ObjectStore::CheckWritable() const {
  if (opts_.read_only) return Status::Posix(EROFS, "store " + dir_ + " is open read-only");
  return Status::OK();
}

Status ObjectStore::Recover() {
  for (const std::string& tier_dir : {opts_.hot_dir, opts_.cold_dir}) {
    if (opts_.read_only) break;
    TIERFS_RETURN_IF_ERROR(env_->MkDir(tier_dir));
    for (size_t s = 0; s < kShards; ++s) {
      TIERFS_RETURN_IF_ERROR(env_->MkDir(tier_dir + "/" + ShardName(s)));
    }
  }
  if (!opts_.read_only) {
    // Directories made above are durable only once their parents are
    // synced; an object's Sync() syncs only its shard directory. (Cheap when
    // nothing was created.)
    std::set<std::string> parents = {opts_.hot_dir, opts_.cold_dir, ParentDir(opts_.hot_dir),
                                     ParentDir(opts_.cold_dir)};
    for (const std::string& d : parents) TIERFS_RETURN_IF_ERROR(env_->SyncDir(d));
  }
  // Hot first, so that a cold duplicate of a hot object is recognised.
  TIERFS_RETURN_IF_ERROR(ScanTier(Tier::kHot));
  return ScanTier(Tier::kCold);
}

Status ObjectStore::ScanTier(Tier tier) {
  const std::string& tier_dir = tier == Tier::kHot ? opts_.hot_dir : opts_.cold_dir;
  for (size_t s = 0; s < kShards; ++s) {
    std::string shard_dir = tier_dir + "/" + ShardName(s);
    auto listed = env_->ListDir(shard_dir);
    // Read-only: a shard directory not created yet simply holds nothing.
    if (opts_.read_only && listed.status().IsNotFound()) continue;
    TIERFS_ASSIGN_OR_RETURN(auto names, std::move(listed));
    for (const std::string& name : names) {
      std::string path = shard_dir + "/" + name;
      ObjectKey key;
      if (name.find(kTempMarker) != std::string::npos) {
        // An interrupted tier move: the source copy is still in place.
        if (!opts_.read_only) TIERFS_RETURN_IF_ERROR(env_->Unlink(path));
        continue;
      }
      if (!ParseObjectName(name, &key)) continue;  // not ours; fsck reports it
      if (tier == Tier::kCold && table_->count(key)) {
        // Crash between rename and unlink of a move: both copies are
        // complete, and the hot one may be newer. Hot wins (read-only: in
        // memory only, the cold file stays).
        if (!opts_.read_only) TIERFS_RETURN_IF_ERROR(UnlinkObjectFile(path));
        continue;
      }
      TIERFS_ASSIGN_OR_RETURN(FileStat st, env_->Stat(path));
      Entry e;
      e.tier = tier;
      e.version = ++next_version_;
      e.last_access = st.mtime_ns;
      e.window_start = st.mtime_ns;
      if (tier == Tier::kHot) {
        e.logical_size = st.size;
        e.stored = st.allocated;
        e.reserved = st.allocated > (st.size + 4095) / 4096 * 4096;
      } else {
        e.stored = st.size;
        e.generation = next_generation_++;
        auto h = OpenColdHandle(path);
        if (h.ok()) {
          e.logical_size = (*h)->reader->logical_size();
        } else {
          e.damaged = true;
        }
      }
      (*table_)[key] = std::move(e);
    }
  }
  return Status::OK();
}

// ---- open-file cache -------------------------------------------------------

void ObjectStore::TouchOpenFileLocked(ObjectKey key, Entry& e) {
  if (e.in_lru) {
    open_lru_.splice(open_lru_.begin(), open_lru_, e.lru_it);
  } else {
    open_lru_.push_front(key);
    e.lru_it = open_lru_.begin();
    e.in_lru = true;
  }
}

void ObjectStore::EvictOpenFilesLocked() {
  while (open_lru_.size() > opts_.open_files) {
    auto it = table_->find(open_lru_.back());
    if (it != table_->end()) {
      it->second.hot.reset();  // in-flight users keep their shared_ptr
      it->second.cold.reset();
      it->second.in_lru = false;
    }
    open_lru_.pop_back();
  }
}

Result<std::shared_ptr<File>> ObjectStore::HotFileLocked(ObjectKey key) {
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("object vanished");
    if (it->second.hot) {
      TouchOpenFileLocked(key, it->second);
      return it->second.hot;
    }
  }
  TIERFS_ASSIGN_OR_RETURN(auto f,
                          env_->Open(HotPath(key), OpenOptions{.write = !opts_.read_only}));
  std::shared_ptr<File> file(std::move(f));
  std::lock_guard lock(mu_);
  auto it = table_->find(key);
  if (it == table_->end()) return Status::NotFound("object vanished");
  if (!it->second.hot) it->second.hot = file;
  TouchOpenFileLocked(key, it->second);
  EvictOpenFilesLocked();
  return it->second.hot;
}

Result<std::shared_ptr<ObjectStore::ColdHandle>> ObjectStore::OpenColdHandle(
    const std::string& path) {
  auto h = std::make_shared<ColdHandle>();
  TIERFS_ASSIGN_OR_RETURN(h->file, env_->Open(path, OpenOptions{}));
  TIERFS_ASSIGN_OR_RETURN(h->file_size, h->file->Size());
  auto reader = ColdObjectReader::Open(h.get());
  if (!reader.ok()) return reader.status().WithContext(path);
  h->reader = std::move(reader).value();
  return h;
}

Result<std::shared_ptr<ObjectStore::ColdHandle>> ObjectStore::ColdHandleFor(ObjectKey key) {
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("object vanished");
    if (it->second.cold) {
      TouchOpenFileLocked(key, it->second);
      return it->second.cold;
    }
  }
  TIERFS_ASSIGN_OR_RETURN(auto h, OpenColdHandle(ColdPath(key)));
  // Opened to be read: cold objects are small next to their chunk and read
  // frame after frame, so have the kernel fetch the whole file while the
  // first frames decode.
  h->file->WillNeed();
  std::lock_guard lock(mu_);
  auto it = table_->find(key);
  if (it == table_->end()) return Status::NotFound("object vanished");
  if (!it->second.cold) it->second.cold = h;
  TouchOpenFileLocked(key, it->second);
  EvictOpenFilesLocked();
  return it->second.cold;
}

// ---- bookkeeping -----------------------------------------------------------

const char* MoveReasonName(MoveReason r) {
  switch (r) {
    case MoveReason::kNone: return "none";
    case MoveReason::kIdle: return "idle";
    case MoveReason::kWatermark: return "watermark";
    case MoveReason::kReads: return "reads";
    case MoveReason::kWrite: return "write";
    case MoveReason::kRequest: return "request";
  }
  return "none";
}

ObjectInfo ObjectStore::InfoOf(ObjectKey key, const Entry& e) {
  return ObjectInfo{key,     e.tier,    e.logical_size, e.stored,       e.last_access,
                    e.reads, e.damaged, e.last_move,    e.last_move_ns, e.window_start};
}

Result<ObjectInfo> ObjectStore::Stat(ObjectKey key) const {
  std::lock_guard lock(mu_);
  auto it = table_->find(key);
  if (it == table_->end()) return Status::NotFound("no such object");
  const Entry& e = it->second;
  return InfoOf(key, e);
}

std::vector<ObjectInfo> ObjectStore::List() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectInfo> out;
  out.reserve(table_->size());
  for (const auto& [k, e] : *table_) {
    out.push_back(InfoOf(k, e));
  }
  return out;
}

std::vector<ObjectInfo> ObjectStore::ListGroup(uint64_t group) const {
  std::lock_guard lock(mu_);
  std::vector<ObjectInfo> out;
  ForEachInGroup(*table_, group, [&](ObjectKey k, const Entry& e) { out.push_back(InfoOf(k, e)); });
  return out;
}

GroupUsage ObjectStore::UsageOf(uint64_t group) const {
  GroupUsage u;  // (no ListGroup: a getattr asks, and must not allocate)
  std::lock_guard lock(mu_);
  ForEachInGroup(*table_, group, [&](ObjectKey, const Entry& e) {
    (e.tier == Tier::kHot ? u.hot_bytes : u.cold_bytes) += e.logical_size;
    u.stored_bytes += e.stored;
  });
  return u;
}

void ObjectStore::SetPinned(uint64_t group, bool pinned) {
  std::lock_guard lock(mu_);
  if (pinned) {
    pinned_.insert(group);
  } else {
    pinned_.erase(group);
  }
}

bool ObjectStore::IsPinned(uint64_t group) const {
  std::lock_guard lock(mu_);
  return pinned_.count(group) > 0;
}

std::set<uint64_t> ObjectStore::PinnedGroups() const {
  std::lock_guard lock(mu_);
  return pinned_;
}

std::vector<ObjectKey> ObjectStore::TakePromoteHints() {
  std::lock_guard lock(mu_);
  std::vector<ObjectKey> out(promote_hints_.begin(), promote_hints_.end());
  promote_hints_.clear();
  return out;
}

std::vector<ObjectKey> ObjectStore::PromoteHints() const {
  std::lock_guard lock(mu_);
  return {promote_hints_.begin(), promote_hints_.end()};
}

StoreStats ObjectStore::stats() const {
  StoreStats s;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, e] : *table_) {
      if (e.tier == Tier::kHot) {
        ++s.hot_objects;
        s.hot_bytes += e.logical_size;
        s.hot_stored_bytes += e.stored;
      } else {
        ++s.cold_objects;
        s.cold_bytes += e.logical_size;
        s.cold_stored_bytes += e.stored;
        s.damaged_objects += e.damaged ? 1 : 0;
      }
    }
    s.promotions = promotions_;
    s.demotions = demotions_;
    s.moves_abandoned = abandoned_;
  }
  s.pool = pool_.stats();
  s.cache = cache_.stats();
  s.frames_decoded = frames_decoded_.load(std::memory_order_relaxed);
  s.frames_decoded_ahead = frames_decoded_ahead_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tierfs
