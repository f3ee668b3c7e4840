// ObjectStore: opening a store, recovery, the open-file cache and
// bookkeeping. Reads and writes are in object_io.cc, tier moves in
// tier_moves.cc. See object_store.h for the contract and store/STORE.md for
// the on-disk layout and the crash-recovery rules.
#include "store/object_store.h"

#include <algorithm>
#include <cerrno>
#include <set>

#include "store/cold_dir.h"
#include "store/cold_owner.h"
#include "store/object_store_internal.h"

namespace tierfs {

namespace {

constexpr size_t kObjectLockStripes = 1024;

std::vector<BufferClass> PoolClasses(const StoreOptions& o) {
  auto classes = BufferPool::SplitBudget(o.buffer_pool_bytes, {o.io_size, o.frame_size, o.max_io});
  for (BufferClass& c : classes) {
    if (c.buffer_size == o.frame_size) c.count += o.frame_cache_bytes / o.frame_size;
  }
  return classes;
}
// A cold tier whose reads mostly wait on the network: more of them ahead
// (see StoreOptions::decode_ahead_frames).
bool Remote(const StoreOptions& o) { return !o.rados.pool.empty(); }
}  // namespace

ObjectStore::ObjectStore(Env* env, std::string dir, const StoreOptions& opts)
    : env_(env),
      dir_(std::move(dir)),
      opts_(opts),
      pool_(PoolClasses(opts)),
      cache_(opts.frame_cache_bytes),
      decode_ahead_depth_(
          std::min<int64_t>(int64_t{opts.decode_ahead_frames} * (Remote(opts) ? 4 : 1),
                            opts.frame_cache_bytes / opts.frame_size / 8)),
      object_locks_(kObjectLockStripes),
      table_(std::make_unique<Table>()),
      read_ahead_threads_(
          Remote(opts) ? 8 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4)) {}

WorkerPool<ObjectStore::AheadJob>& ObjectStore::ReadAhead() {
  std::call_once(read_ahead_started_, [this] {
    read_ahead_ = std::make_unique<WorkerPool<AheadJob>>(
        read_ahead_threads_, [this](AheadJob& job) { RunAheadJob(job); });
  });
  return *read_ahead_;
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
  if (opts.rados.pool.empty()) {
    store->cold_ = std::make_unique<DirColdBackend>(env, opts.cold_dir, opts.read_only);
  } else {
    RadosOptions ro = opts.rados;
    ro.read_only = opts.read_only;
    TIERFS_ASSIGN_OR_RETURN(store->cold_, OpenRadosColdBackend(ro));
  }
  if (opts.wrap_cold_backend) store->cold_ = opts.wrap_cold_backend(std::move(store->cold_));
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
  // Before anything recovers or writes the cold tier: it must be ours. A
  // read-only open changes nothing there and may look at any tier.
  if (!opts.read_only && !opts.owner_id.empty()) {
    TIERFS_RETURN_IF_ERROR(ClaimColdTier(env, dir, *store->cold_, opts.owner_id, opts.take_over));
  }
  TIERFS_RETURN_IF_ERROR(store->Recover());
  return store;
}

std::string ObjectStore::HotPath(ObjectKey key) const {
  return opts_.hot_dir + "/" + ShardName(ShardOf(key)) + "/" + ObjectName(key);
}

std::string ObjectStore::ColdName(ObjectKey key) const { return cold_->NameOf(key); }

std::string ObjectStore::ColdTier() const { return cold_->Describe(); }

std::string ObjectStore::TempPath(const std::string& final_path) {
  return final_path + std::string(kTempMarker) + std::to_string(temp_counter_.fetch_add(1));
}

SharedMutex& ObjectStore::LockFor(const ObjectKey& key) const {
  return object_locks_[ObjectKeyHash()(key) % kObjectLockStripes];
}

Status ObjectStore::CheckWritable() const {
  if (opts_.read_only) return Status::Posix(EROFS, "store " + dir_ + " is open read-only");
  return Status::OK();
}

Status ObjectStore::Recover() {
  if (!opts_.read_only) {
    TIERFS_RETURN_IF_ERROR(env_->MkDir(opts_.hot_dir));
    for (size_t s = 0; s < kShards; ++s) {
      TIERFS_RETURN_IF_ERROR(env_->MkDir(opts_.hot_dir + "/" + ShardName(s)));
    }
    // Directories made above are durable only once their parents are
    // synced; an object's Sync() syncs only its shard directory. (Cheap when
    // nothing was created.)
    TIERFS_RETURN_IF_ERROR(env_->SyncDir(opts_.hot_dir));
    TIERFS_RETURN_IF_ERROR(env_->SyncDir(ParentDir(opts_.hot_dir)));
  }
  // Nobody else has the store yet; the lock is for the analysis (and free).
  MutexLock lock(&mu_);
  // Hot first, so that a cold duplicate of a hot object is recognised.
  TIERFS_RETURN_IF_ERROR(ScanHot());
  TIERFS_ASSIGN_OR_RETURN(std::vector<ColdListing> cold, cold_->Recover());
  for (const ColdListing& c : cold) TIERFS_RETURN_IF_ERROR(AddCold(c));
  return Status::OK();
}

ObjectStore::Entry ObjectStore::Listed(Tier tier, int64_t mtime_ns, uint64_t stored) {
  Entry e;
  e.tier = tier;
  e.version = ++next_version_;
  e.last_access = e.window_start = mtime_ns;
  e.stored = stored;
  return e;
}

Status ObjectStore::ScanHot() {
  for (size_t s = 0; s < kShards; ++s) {
    std::string shard_dir = opts_.hot_dir + "/" + ShardName(s);
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
      TIERFS_ASSIGN_OR_RETURN(FileStat st, env_->Stat(path));
      Entry e = Listed(Tier::kHot, st.mtime_ns, st.allocated);
      e.logical_size = st.size;
      e.reserved = st.allocated > (st.size + 4095) / 4096 * 4096;
      (*table_)[key] = std::move(e);
    }
  }
  return Status::OK();
}

Status ObjectStore::AddCold(const ColdListing& c) {
  const ObjectKey key{c.group, c.index};
  if (table_->count(key)) {
    // Crash between the commit of a move and the removal of its source:
    // both copies are complete, and the hot one may be newer. Hot wins
    // (read-only: in memory only, the cold copy stays).
    return opts_.read_only ? Status::OK() : cold_->Remove(key);
  }
  Entry e = Listed(Tier::kCold, c.mtime_ns, c.stored_bytes);
  e.generation = next_generation_++;
  auto h = OpenColdHandle(key);
  if (h.ok()) {
    e.logical_size = (*h)->reader->logical_size();
  } else if (h.status().IsCorruption()) {
    e.damaged = true;
  } else {
    return h.status();  // an I/O error is no verdict on the object
  }
  (*table_)[key] = std::move(e);
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

template <class Handle>
Result<std::shared_ptr<Handle>> ObjectStore::CachedHandle(
    const ObjectKey& key, std::shared_ptr<Handle> Entry::*slot,
    const std::function<Result<std::shared_ptr<Handle>>()>& open) {
  {
    MutexLock lock(&mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("object vanished");
    if (it->second.*slot) {
      TouchOpenFileLocked(key, it->second);
      return it->second.*slot;
    }
  }
  TIERFS_ASSIGN_OR_RETURN(std::shared_ptr<Handle> h, open());  // no lock held: it does I/O
  MutexLock lock(&mu_);
  auto it = table_->find(key);
  if (it == table_->end()) return Status::NotFound("object vanished");
  if (!(it->second.*slot)) it->second.*slot = std::move(h);
  TouchOpenFileLocked(key, it->second);
  EvictOpenFilesLocked();
  return it->second.*slot;
}

Result<std::shared_ptr<File>> ObjectStore::HotFileLocked(const ObjectKey& key) {
  return CachedHandle<File>(key, &Entry::hot, [&]() -> Result<std::shared_ptr<File>> {
    TIERFS_ASSIGN_OR_RETURN(auto f,
                            env_->Open(HotPath(key), OpenOptions{.write = !opts_.read_only}));
    return std::shared_ptr<File>(std::move(f));
  });
}

Result<std::shared_ptr<ObjectStore::ColdHandle>> ObjectStore::OpenColdHandle(ObjectKey key) {
  auto h = std::make_shared<ColdHandle>();
  h->name = ColdName(key);
  TIERFS_ASSIGN_OR_RETURN(h->object, cold_->Open(key));
  auto reader = ColdObjectReader::Open(h->object.get());
  if (!reader.ok()) return reader.status().WithContext(h->name);
  h->reader = std::move(reader).value();
  return h;
}

Result<std::shared_ptr<ObjectStore::ColdHandle>> ObjectStore::ColdHandleFor(const ObjectKey& key) {
  return CachedHandle<ColdHandle>(key, &Entry::cold, [&]() -> Result<std::shared_ptr<ColdHandle>> {
    TIERFS_ASSIGN_OR_RETURN(auto h, OpenColdHandle(key));
    // Opened to be read: cold objects are small next to their chunk and
    // read frame after frame, so have the backend fetch the whole object
    // while the first frames decode.
    h->object->WillNeed();
    return h;
  });
}

// ---- bookkeeping -----------------------------------------------------------

const char* MoveReasonName(MoveReason r) {
  switch (r) {
    case MoveReason::kNone:
      return "none";
    case MoveReason::kIdle:
      return "idle";
    case MoveReason::kWatermark:
      return "watermark";
    case MoveReason::kReads:
      return "reads";
    case MoveReason::kWrite:
      return "write";
    case MoveReason::kRequest:
      return "request";
  }
  return "none";
}

ObjectInfo ObjectStore::InfoOf(ObjectKey key, const Entry& e) {
  return ObjectInfo{key,     e.tier,    e.logical_size, e.stored,       e.last_access,
                    e.reads, e.damaged, e.last_move,    e.last_move_ns, e.window_start};
}

Result<ObjectInfo> ObjectStore::Stat(ObjectKey key) const {
  MutexLock lock(&mu_);
  auto it = table_->find(key);
  if (it == table_->end()) return Status::NotFound("no such object");
  const Entry& e = it->second;
  return InfoOf(key, e);
}

std::vector<ObjectInfo> ObjectStore::List() const {
  MutexLock lock(&mu_);
  std::vector<ObjectInfo> out;
  out.reserve(table_->size());
  for (const auto& [k, e] : *table_) {
    out.push_back(InfoOf(k, e));
  }
  return out;
}

std::vector<ObjectInfo> ObjectStore::ListGroup(uint64_t group) const {
  MutexLock lock(&mu_);
  std::vector<ObjectInfo> out;
  ForEachInGroup(*table_, group, [&](ObjectKey k, const Entry& e) { out.push_back(InfoOf(k, e)); });
  return out;
}

GroupUsage ObjectStore::UsageOf(uint64_t group) const {
  GroupUsage u;  // (no ListGroup: a getattr asks, and must not allocate)
  MutexLock lock(&mu_);
  ForEachInGroup(*table_, group, [&](ObjectKey, const Entry& e) {
    (e.tier == Tier::kHot ? u.hot_bytes : u.cold_bytes) += e.logical_size;
    u.stored_bytes += e.stored;
  });
  return u;
}

void ObjectStore::SetPinned(uint64_t group, bool pinned) {
  MutexLock lock(&mu_);
  if (pinned) {
    pinned_.insert(group);
  } else {
    pinned_.erase(group);
  }
}

bool ObjectStore::IsPinned(uint64_t group) const {
  MutexLock lock(&mu_);
  return pinned_.count(group) > 0;
}

std::set<uint64_t> ObjectStore::PinnedGroups() const {
  MutexLock lock(&mu_);
  return pinned_;
}

std::vector<ObjectKey> ObjectStore::TakePromoteHints() {
  MutexLock lock(&mu_);
  std::vector<ObjectKey> out(promote_hints_.begin(), promote_hints_.end());
  promote_hints_.clear();
  return out;
}

std::vector<ObjectKey> ObjectStore::PromoteHints() const {
  MutexLock lock(&mu_);
  return {promote_hints_.begin(), promote_hints_.end()};
}

StoreStats ObjectStore::stats() const {
  StoreStats s;
  {
    MutexLock lock(&mu_);
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
