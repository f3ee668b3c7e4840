// ObjectStore: opening a store, recovery, and the queries that gather what
// the parts know. Reads, writes and syncs are in object_io.cc; the parts in
// object_table.cc, handle_cache.cc, cold_reader.cc and tier_moves.cc /
// object_copy.cc. See object_store.h for the contract and store/STORE.md for
// the on-disk layout and the crash-recovery rules.
#include "store/object_store.h"

#include <algorithm>
#include <cerrno>
#include <thread>

#include "store/cold_dir.h"
#include "store/cold_owner.h"

namespace tierfs {

namespace {

constexpr size_t kObjectLockStripes = 1024;

// The frame cache's frames are buffers of the pool's frame-size class,
// preallocated with it on top of buffer_pool_bytes (when frames are whole
// pages, as the default's are; otherwise the cache leases from the heap).
size_t FrameCacheBuffers(const StoreOptions& o) {
  return o.frame_size % kBufferAlign == 0 ? o.frame_cache_bytes / o.frame_size : 0;
}

std::vector<BufferClass> PoolClasses(const StoreOptions& o) {
  auto classes = BufferPool::SplitBudget(o.buffer_pool_bytes, {o.io_size, o.frame_size, o.max_io});
  for (BufferClass& c : classes) {
    if (c.buffer_size == o.frame_size) c.count += FrameCacheBuffers(o);
  }
  return classes;
}
// A cold tier whose reads mostly wait on the network: more of them ahead
// (see StoreOptions::decode_ahead_frames).
bool Remote(const StoreOptions& o) { return !o.rados.pool.empty(); }

ColdReaderOptions ReaderOptions(const StoreOptions& o) {
  ColdReaderOptions r;
  r.frame_cache_bytes = o.frame_cache_bytes;
  r.decode_ahead_depth = std::min<int64_t>(int64_t{o.decode_ahead_frames} * (Remote(o) ? 4 : 1),
                                           o.frame_cache_bytes / o.frame_size / 8);
  r.read_ahead_threads =
      Remote(o) ? 8 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  return r;
}

}  // namespace

ObjectStore::ObjectStore(Env* env, std::string dir, const StoreOptions& opts,
                         std::unique_ptr<ColdBackend> cold)
    : env_(env),
      dir_(std::move(dir)),
      opts_(opts),
      cold_(std::move(cold)),
      pool_(PoolClasses(opts)),
      object_locks_(kObjectLockStripes),
      table_(ReadCounting{opts.promote_window_ns, opts.read_gap_ns, &promote_reads_}),
      handles_(
          opts.open_files, [this](const ObjectKey& key) { return OpenHot(key); },
          [this](const ObjectKey& key) -> Result<std::shared_ptr<ColdHandle>> {
            TIERFS_ASSIGN_OR_RETURN(auto h, reader_.Open(key));
            // Opened to be read: cold objects are small next to their chunk
            // and read frame after frame, so have the backend fetch the
            // whole object while the first frames decode.
            h->object->WillNeed();
            return h;
          }),
      mover_(env, opts_, &pool_, cold_.get(), &table_, &handles_, &reader_),
      reader_(cold_.get(), &pool_, ReaderOptions(opts),
              [this](const ObjectKey& key) { HotWillNeed(key); }) {}

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
  std::unique_ptr<ColdBackend> cold;
  if (opts.rados.pool.empty()) {
    cold = std::make_unique<DirColdBackend>(env, opts.cold_dir, opts.read_only);
  } else {
    RadosOptions ro = opts.rados;
    ro.read_only = opts.read_only;
    TIERFS_ASSIGN_OR_RETURN(cold, OpenRadosColdBackend(ro));
  }
  if (opts.wrap_cold_backend) cold = opts.wrap_cold_backend(std::move(cold));
  std::unique_ptr<ObjectStore> store(new ObjectStore(env, dir, opts, std::move(cold)));
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
  // Before anything recovers or writes the cold tier: it must be ours. A
  // read-only open changes nothing there and may look at any tier.
  if (!opts.read_only && !opts.owner_id.empty()) {
    TIERFS_RETURN_IF_ERROR(ClaimColdTier(env, dir, *store->cold_, opts.owner_id, opts.take_over));
  }
  TIERFS_RETURN_IF_ERROR(store->Recover());
  return store;
}

SharedMutex& ObjectStore::LockFor(const ObjectKey& key) const {
  return object_locks_[ObjectKeyHash()(key) % kObjectLockStripes];
}

Status ObjectStore::CheckWritable() const {
  if (opts_.read_only) return Status::Posix(EROFS, "store " + dir_ + " is open read-only");
  return Status::OK();
}

Status ObjectStore::Damaged(const ObjectKey& key) const {
  return Status::Corruption("damaged cold object " + ColdName(key));
}

Result<std::shared_ptr<File>> ObjectStore::OpenHot(const ObjectKey& key) const {
  TIERFS_ASSIGN_OR_RETURN(auto f, env_->Open(HotPath(key), OpenOptions{.write = !opts_.read_only}));
  return std::shared_ptr<File>(std::move(f));
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
  // Hot first, so that a cold duplicate of a hot object is recognised.
  TIERFS_RETURN_IF_ERROR(ScanHot());
  TIERFS_ASSIGN_OR_RETURN(std::vector<ColdListing> cold, cold_->Recover());
  for (const ColdListing& c : cold) TIERFS_RETURN_IF_ERROR(AddCold(c));
  return Status::OK();
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
      ObjectEntry e;
      e.tier = Tier::kHot;
      e.last_access = e.window_start = st.mtime_ns;
      e.stored = st.allocated;
      e.logical_size = st.size;
      e.reserved = st.allocated > (st.size + 4095) / 4096 * 4096;
      table_.Install(key, e);
    }
  }
  return Status::OK();
}

Status ObjectStore::AddCold(const ColdListing& c) {
  const ObjectKey key{c.group, c.index};
  if (table_.Contains(key)) {
    // Crash between the commit of a move and the removal of its source:
    // both copies are complete, and the hot one may be newer. Hot wins
    // (read-only: in memory only, the cold copy stays).
    return opts_.read_only ? Status::OK() : cold_->Remove(key);
  }
  ObjectEntry e;
  e.tier = Tier::kCold;
  e.last_access = e.window_start = c.mtime_ns;
  e.stored = c.stored_bytes;
  auto h = reader_.Open(key);
  if (h.ok()) {
    e.logical_size = (*h)->reader->logical_size();
  } else if (h.status().IsCorruption()) {
    e.damaged = true;
  } else {
    return h.status();  // an I/O error is no verdict on the object
  }
  table_.Install(key, e);
  return Status::OK();
}

StoreStats ObjectStore::stats() const {
  StoreStats s;
  static_cast<TableStats&>(s) = table_.stats();
  s.pool = pool_.stats();
  s.frame_cache_preallocated = FrameCacheBuffers(opts_) * opts_.frame_size;
  s.cache = reader_.cache_stats();
  s.frames_decoded = reader_.frames_decoded();
  s.frames_decoded_ahead = reader_.frames_decoded_ahead();
  return s;
}

}  // namespace tierfs
