// ObjectStore implementation. See object_store.h for the contract and
// store/STORE.md for the on-disk layout and the crash-recovery rules.
#include "store/object_store.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>

namespace tierfs {

namespace {

constexpr size_t kShards = 256;
constexpr size_t kObjectLockStripes = 1024;
constexpr std::string_view kTempMarker = ".tmp.";

// Appends to a File at a running offset (the cold object writer's sink).
class FileSink final : public ByteSink {
 public:
  explicit FileSink(File* f) : f_(f) {}
  Status Append(std::span<const std::byte> data) override {
    TIERFS_RETURN_IF_ERROR(f_->PWrite(offset_, data));
    offset_ += data.size();
    return Status::OK();
  }

 private:
  File* const f_;
  uint64_t offset_ = 0;
};

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

size_t ShardOf(ObjectKey key) { return (ObjectKeyHash()(key) >> 24) % kShards; }

std::string DirName(const std::string& path) { return path.substr(0, path.rfind('/')); }

bool AllZero(std::span<const std::byte> s) {
  return std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

// An open cold object: its file and validated reader.
struct ObjectStore::ColdHandle final : public ByteSource {
  std::unique_ptr<File> file;
  uint64_t file_size = 0;
  std::unique_ptr<ColdObjectReader> reader;

  uint64_t size() const override { return file_size; }
  Status ReadExactAt(uint64_t offset, std::span<std::byte> dst) override {
    TIERFS_ASSIGN_OR_RETURN(size_t n, file->PRead(offset, dst));
    if (n != dst.size()) return Status::Corruption("cold object truncated: " + file->path());
    return Status::OK();
  }
};

struct ObjectStore::Entry {
  Tier tier = Tier::kHot;
  uint64_t logical_size = 0;
  uint64_t stored = 0;
  int64_t last_access = 0;
  int64_t window_start = 0;
  uint32_t reads = 0;
  uint64_t version = 0;     // bumped by every change of content
  uint64_t generation = 0;  // cold: frame cache generation
  bool damaged = false;
  bool dir_dirty = false;  // hot file created since its directory was synced
  std::shared_ptr<File> hot;
  std::shared_ptr<ColdHandle> cold;
  bool in_lru = false;
  std::list<ObjectKey>::iterator lru_it;
};

// Ordered, so that all objects of a group are one range.
struct ObjectStore::Table : std::map<ObjectKey, Entry> {};

namespace {
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
      table_(std::make_unique<Table>()) {}

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
  TIERFS_RETURN_IF_ERROR(env->MkDir(dir));
  std::unique_ptr<ObjectStore> store(new ObjectStore(env, dir, opts));
  if (opts.take_lock) {
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

Status ObjectStore::Recover() {
  for (const std::string& tier_dir : {opts_.hot_dir, opts_.cold_dir}) {
    TIERFS_RETURN_IF_ERROR(env_->MkDir(tier_dir));
    for (size_t s = 0; s < kShards; ++s) {
      TIERFS_RETURN_IF_ERROR(env_->MkDir(tier_dir + "/" + ShardName(s)));
    }
  }
  // Hot first, so that a cold duplicate of a hot object is recognised.
  TIERFS_RETURN_IF_ERROR(ScanTier(Tier::kHot));
  return ScanTier(Tier::kCold);
}

Status ObjectStore::ScanTier(Tier tier) {
  const std::string& tier_dir = tier == Tier::kHot ? opts_.hot_dir : opts_.cold_dir;
  for (size_t s = 0; s < kShards; ++s) {
    std::string shard_dir = tier_dir + "/" + ShardName(s);
    TIERFS_ASSIGN_OR_RETURN(auto names, env_->ListDir(shard_dir));
    for (const std::string& name : names) {
      std::string path = shard_dir + "/" + name;
      ObjectKey key;
      if (name.find(kTempMarker) != std::string::npos) {
        // An interrupted tier move: the source copy is still in place.
        TIERFS_RETURN_IF_ERROR(env_->Unlink(path));
        continue;
      }
      if (!ParseObjectName(name, &key)) continue;  // not ours; fsck reports it
      if (tier == Tier::kCold && table_->count(key)) {
        // Crash between rename and unlink of a move: both copies are
        // complete, and the hot one may be newer. Hot wins.
        TIERFS_RETURN_IF_ERROR(env_->Unlink(path));
        continue;
      }
      TIERFS_ASSIGN_OR_RETURN(FileStat st, env_->Stat(path));
      Entry e;
      e.tier = tier;
      e.last_access = st.mtime_ns;
      e.window_start = st.mtime_ns;
      if (tier == Tier::kHot) {
        e.logical_size = st.size;
        e.stored = st.allocated;
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
  TIERFS_ASSIGN_OR_RETURN(auto f, env_->Open(HotPath(key), OpenOptions{.write = true}));
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
  std::lock_guard lock(mu_);
  auto it = table_->find(key);
  if (it == table_->end()) return Status::NotFound("object vanished");
  if (!it->second.cold) it->second.cold = h;
  TouchOpenFileLocked(key, it->second);
  EvictOpenFilesLocked();
  return it->second.cold;
}

// ---- reads -----------------------------------------------------------------

Result<std::shared_ptr<const CachedFrame>> ObjectStore::GetFrame(const ColdHandle& h,
                                                                 uint64_t gen, size_t i,
                                                                 bool use_cache) {
  if (use_cache) {
    if (auto hit = cache_.Lookup(gen, static_cast<uint32_t>(i))) return hit;
  }
  const ColdObjectReader& r = *h.reader;
  auto frame = std::make_shared<CachedFrame>();
  frame->buffer = pool_.Lease(r.frame_size());
  BufferLease scratch = pool_.Lease(r.frame_size());
  Status st = r.ReadFrame(i, scratch.span(), frame->buffer.span());
  if (!st.ok()) return st.WithContext(h.file->path() + " frame " + std::to_string(i));
  frame->buffer.set_size(r.frame_logical_size(i));
  if (use_cache) cache_.Insert(gen, static_cast<uint32_t>(i), frame);
  return std::shared_ptr<const CachedFrame>(std::move(frame));
}

Result<size_t> ObjectStore::ReadCold(const ColdHandle& h, uint64_t gen, uint64_t offset,
                                     std::span<std::byte> dst) {
  const uint64_t fs = h.reader->frame_size();
  size_t done = 0;
  while (done < dst.size()) {
    uint64_t pos = offset + done;
    size_t i = pos / fs;
    TIERFS_ASSIGN_OR_RETURN(auto frame, GetFrame(h, gen, i, cache_.enabled()));
    size_t within = pos % fs;
    size_t take = std::min<size_t>(frame->buffer.size() - within, dst.size() - done);
    std::memcpy(dst.data() + done, frame->buffer.data() + within, take);
    done += take;
  }
  return done;
}

Result<size_t> ObjectStore::Read(ObjectKey key, uint64_t offset, std::span<std::byte> dst) {
  std::shared_lock object_lock(LockFor(key));
  Tier tier;
  uint64_t size, gen;
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("no such object");
    Entry& e = it->second;
    if (e.damaged) return Status::Corruption("damaged cold object " + ColdPath(key));
    int64_t now = env_->NowNanos();
    if (now - e.window_start > opts_.promote_window_ns) {
      e.window_start = now;
      e.reads = 0;
    }
    ++e.reads;
    e.last_access = now;
    tier = e.tier;
    size = e.logical_size;
    gen = e.generation;
    uint32_t pr = promote_reads_.load();
    if (tier == Tier::kCold && pr > 0 && e.reads >= pr) promote_hints_.insert(key);
  }
  if (offset >= size) return size_t{0};
  std::span<std::byte> want = dst.first(std::min<uint64_t>(dst.size(), size - offset));
  if (tier == Tier::kHot) {
    TIERFS_ASSIGN_OR_RETURN(auto f, HotFileLocked(key));
    return f->PRead(offset, want);
  }
  TIERFS_ASSIGN_OR_RETURN(auto h, ColdHandleFor(key));
  return ReadCold(*h, gen, offset, want);
}

Result<BufferLease> ObjectStore::ReadLease(ObjectKey key, uint64_t offset, size_t len) {
  BufferLease lease = pool_.Lease(std::max<size_t>(len, 1));
  TIERFS_ASSIGN_OR_RETURN(size_t n, Read(key, offset, lease.span().first(len)));
  lease.set_size(n);
  return lease;
}

Result<std::shared_ptr<File>> ObjectStore::HotFile(ObjectKey key) {
  std::shared_lock object_lock(LockFor(key));
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("no such object");
    if (it->second.tier == Tier::kCold) return std::shared_ptr<File>();
    it->second.last_access = env_->NowNanos();
  }
  return HotFileLocked(key);
}

// ---- writes ----------------------------------------------------------------

Status ObjectStore::WithHotFile(ObjectKey key,
                                const std::function<Result<uint64_t>(File&, uint64_t)>& fn) {
  for (;;) {
    {
      std::shared_lock object_lock(LockFor(key));
      bool present, cold = false;
      uint64_t size = 0;
      {
        std::lock_guard lock(mu_);
        auto it = table_->find(key);
        present = it != table_->end();
        if (present) {
          cold = it->second.tier == Tier::kCold;
          size = it->second.logical_size;
        }
      }
      if (present && !cold) {
        TIERFS_ASSIGN_OR_RETURN(auto f, HotFileLocked(key));
        TIERFS_ASSIGN_OR_RETURN(uint64_t new_size, fn(*f, size));
        std::lock_guard lock(mu_);
        Entry& e = (*table_)[key];
        e.logical_size = std::max(e.logical_size, new_size);
        e.stored = std::max(e.stored, e.logical_size);
        e.last_access = env_->NowNanos();
        ++e.version;
        return Status::OK();
      }
    }
    // Missing or cold: fix that under the exclusive lock, then retry.
    std::unique_lock object_lock(LockFor(key));
    bool present, cold = false;
    {
      std::lock_guard lock(mu_);
      auto it = table_->find(key);
      present = it != table_->end();
      if (present) cold = it->second.tier == Tier::kCold;
    }
    if (cold) {
      TIERFS_RETURN_IF_ERROR(PromoteWithLockHeld(key));
    } else if (!present) {
      TIERFS_ASSIGN_OR_RETURN(auto f, env_->Open(HotPath(key), OpenOptions{.write = true,
                                                                            .create = true}));
      std::lock_guard lock(mu_);
      Entry& e = (*table_)[key];
      e = Entry{};
      e.tier = Tier::kHot;
      e.hot = std::move(f);
      e.dir_dirty = true;
      e.last_access = e.window_start = env_->NowNanos();
      TouchOpenFileLocked(key, e);
      EvictOpenFilesLocked();
    }
  }
}

Status ObjectStore::Write(ObjectKey key, uint64_t offset, std::span<const std::byte> src) {
  return WithHotFile(key, [&](File& f, uint64_t) -> Result<uint64_t> {
    TIERFS_RETURN_IF_ERROR(f.PWrite(offset, src));
    return offset + src.size();
  });
}

Status ObjectStore::PunchHole(ObjectKey key, uint64_t offset, uint64_t len) {
  {
    std::lock_guard lock(mu_);
    if (!table_->count(key)) return Status::OK();  // already a hole
  }
  return WithHotFile(key, [&](File& f, uint64_t size) -> Result<uint64_t> {
    TIERFS_RETURN_IF_ERROR(f.PunchHole(offset, len));
    return size;
  });
}

Status ObjectStore::Truncate(ObjectKey key, uint64_t size) {
  std::unique_lock object_lock(LockFor(key));
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::OK();  // a hole stays a hole
    if (it->second.logical_size == size) return Status::OK();
  }
  TIERFS_RETURN_IF_ERROR(PromoteWithLockHeld(key));
  TIERFS_ASSIGN_OR_RETURN(auto f, HotFileLocked(key));
  TIERFS_RETURN_IF_ERROR(f->Truncate(size));
  std::lock_guard lock(mu_);
  Entry& e = (*table_)[key];
  e.logical_size = size;
  e.stored = std::min(e.stored, size);
  ++e.version;
  return Status::OK();
}

Status ObjectStore::Remove(ObjectKey key) {
  std::unique_lock object_lock(LockFor(key));
  Tier tier;
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::OK();
    tier = it->second.tier;
  }
  Status st = env_->Unlink(tier == Tier::kHot ? HotPath(key) : ColdPath(key));
  if (!st.ok() && !st.IsNotFound()) return st;
  std::lock_guard lock(mu_);
  auto it = table_->find(key);
  if (it->second.in_lru) open_lru_.erase(it->second.lru_it);
  table_->erase(it);
  promote_hints_.erase(key);
  return Status::OK();
}

Result<uint64_t> ObjectStore::RemoveGroup(uint64_t group) {
  std::vector<ObjectInfo> objects = ListGroup(group);
  for (const ObjectInfo& o : objects) TIERFS_RETURN_IF_ERROR(Remove(o.key));
  return static_cast<uint64_t>(objects.size());
}

Status ObjectStore::Sync(ObjectKey key) {
  std::shared_lock object_lock(LockFor(key));
  bool dir_dirty;
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::OK();
    if (it->second.tier == Tier::kCold) return Status::OK();  // synced when written
    dir_dirty = it->second.dir_dirty;
  }
  TIERFS_ASSIGN_OR_RETURN(auto f, HotFileLocked(key));
  TIERFS_RETURN_IF_ERROR(f->Sync());
  if (dir_dirty) {
    TIERFS_RETURN_IF_ERROR(env_->SyncDir(DirName(HotPath(key))));
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it != table_->end()) it->second.dir_dirty = false;
  }
  return Status::OK();
}

// ---- tier moves ------------------------------------------------------------

Status ObjectStore::CopyHotToCold(File* hot, uint64_t size, const std::string& tmp,
                                  uint64_t* stored) {
  TIERFS_ASSIGN_OR_RETURN(auto out, env_->Open(tmp, OpenOptions{.write = true, .create = true,
                                                                .exclusive = true}));
  FileSink sink(out.get());
  TIERFS_ASSIGN_OR_RETURN(auto writer, ColdObjectWriter::Create(&sink, size, opts_.frame_size,
                                                                opts_.compression));
  BufferLease buf = pool_.Lease(opts_.frame_size);
  for (uint64_t off = 0; off < size; off += opts_.frame_size) {
    size_t n = std::min<uint64_t>(opts_.frame_size, size - off);
    TIERFS_ASSIGN_OR_RETURN(size_t got, hot->PRead(off, buf.span().first(n)));
    if (got != n) return Status::Busy("hot object shrank during demotion");
    TIERFS_RETURN_IF_ERROR(writer->AddFrame(buf.span().first(n)));
  }
  TIERFS_RETURN_IF_ERROR(writer->Finish());
  TIERFS_RETURN_IF_ERROR(out->Sync());
  *stored = writer->stored_bytes();
  return Status::OK();
}

Status ObjectStore::Demote(ObjectKey key) {
  std::shared_ptr<File> hot;
  uint64_t version, size;
  {
    std::shared_lock object_lock(LockFor(key));
    {
      std::lock_guard lock(mu_);
      auto it = table_->find(key);
      if (it == table_->end()) return Status::NotFound("no such object");
      if (it->second.tier == Tier::kCold) return Status::OK();
      version = it->second.version;
      size = it->second.logical_size;
    }
    TIERFS_ASSIGN_OR_RETURN(hot, HotFileLocked(key));
  }
  // Compress with no lock held: foreground I/O on this object goes on.
  const std::string final_path = ColdPath(key);
  const std::string tmp = TempPath(final_path);
  uint64_t stored = 0;
  Status st = CopyHotToCold(hot.get(), size, tmp, &stored);
  hot.reset();
  if (!st.ok()) {
    (void)env_->Unlink(tmp);
    return st;
  }
  std::unique_lock object_lock(LockFor(key));
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end() || it->second.tier != Tier::kHot || it->second.version != version) {
      ++abandoned_;
      (void)env_->Unlink(tmp);
      return Status::Busy("object changed during demotion; left hot");
    }
  }
  st = env_->Rename(tmp, final_path);
  if (st.ok()) st = env_->SyncDir(DirName(final_path));
  if (st.ok()) {
    st = env_->Unlink(HotPath(key));
    // Without the unlink the hot copy stays authoritative: drop the cold one.
    if (!st.ok()) (void)env_->Unlink(final_path);
  } else {
    (void)env_->Unlink(tmp);
  }
  TIERFS_RETURN_IF_ERROR(st);
  std::lock_guard lock(mu_);
  Entry& e = (*table_)[key];
  e.tier = Tier::kCold;
  e.stored = stored;
  e.generation = next_generation_++;
  e.hot.reset();
  e.cold.reset();
  e.dir_dirty = false;
  e.reads = 0;
  ++demotions_;
  return Status::OK();
}

Status ObjectStore::CopyColdToHot(const ColdHandle& h, uint64_t gen, const std::string& tmp) {
  TIERFS_ASSIGN_OR_RETURN(auto out, env_->Open(tmp, OpenOptions{.write = true, .create = true,
                                                                .exclusive = true}));
  const ColdObjectReader& r = *h.reader;
  for (size_t i = 0; i < r.frame_count(); ++i) {
    TIERFS_ASSIGN_OR_RETURN(auto frame, GetFrame(h, gen, i, /*use_cache=*/false));
    // All-zero frames stay holes, so sparse files stay sparse.
    if (AllZero(frame->buffer.contents())) continue;
    TIERFS_RETURN_IF_ERROR(out->PWrite(uint64_t{i} * r.frame_size(), frame->buffer.contents()));
  }
  TIERFS_RETURN_IF_ERROR(out->Truncate(r.logical_size()));
  return out->Sync();
}

Status ObjectStore::SwapInHot(ObjectKey key, const std::string& tmp) {
  const std::string final_path = HotPath(key);
  Status st = env_->Rename(tmp, final_path);
  if (st.ok()) st = env_->SyncDir(DirName(final_path));
  if (!st.ok()) {
    (void)env_->Unlink(tmp);
    return st;
  }
  // From here the hot copy wins at recovery even if the unlink fails.
  Status unlinked = env_->Unlink(ColdPath(key));
  std::lock_guard lock(mu_);
  Entry& e = (*table_)[key];
  e.tier = Tier::kHot;
  e.stored = e.logical_size;
  e.cold.reset();
  e.hot.reset();
  ++e.version;
  ++promotions_;
  promote_hints_.erase(key);
  if (!unlinked.ok() && !unlinked.IsNotFound()) return unlinked;
  return Status::OK();
}

Status ObjectStore::PromoteWithLockHeld(ObjectKey key) {
  uint64_t gen;
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("no such object");
    if (it->second.tier == Tier::kHot) return Status::OK();
    if (it->second.damaged) return Status::Corruption("damaged cold object " + ColdPath(key));
    gen = it->second.generation;
  }
  TIERFS_ASSIGN_OR_RETURN(auto h, ColdHandleFor(key));
  const std::string tmp = TempPath(HotPath(key));
  Status st = CopyColdToHot(*h, gen, tmp);
  if (!st.ok()) {
    (void)env_->Unlink(tmp);
    return st;
  }
  return SwapInHot(key, tmp);
}

Status ObjectStore::Promote(ObjectKey key) {
  std::shared_ptr<ColdHandle> h;
  uint64_t gen;
  {
    std::shared_lock object_lock(LockFor(key));
    {
      std::lock_guard lock(mu_);
      auto it = table_->find(key);
      if (it == table_->end()) return Status::NotFound("no such object");
      if (it->second.tier == Tier::kHot) return Status::OK();
      if (it->second.damaged) return Status::Corruption("damaged cold object " + ColdPath(key));
      gen = it->second.generation;
    }
    TIERFS_ASSIGN_OR_RETURN(h, ColdHandleFor(key));
  }
  // Decompress with no lock held.
  const std::string tmp = TempPath(HotPath(key));
  Status st = CopyColdToHot(*h, gen, tmp);
  h.reset();
  if (!st.ok()) {
    (void)env_->Unlink(tmp);
    return st;
  }
  std::unique_lock object_lock(LockFor(key));
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end() || it->second.tier != Tier::kCold || it->second.generation != gen) {
      ++abandoned_;
      (void)env_->Unlink(tmp);
      return Status::Busy("object changed during promotion");
    }
  }
  return SwapInHot(key, tmp);
}

Status ObjectStore::Verify(ObjectKey key) {
  std::shared_lock object_lock(LockFor(key));
  uint64_t gen;
  {
    std::lock_guard lock(mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("no such object");
    if (it->second.tier == Tier::kHot) return Status::OK();
    gen = it->second.generation;
  }
  TIERFS_ASSIGN_OR_RETURN(auto h, ColdHandleFor(key));
  for (size_t i = 0; i < h->reader->frame_count(); ++i) {
    TIERFS_ASSIGN_OR_RETURN(auto frame, GetFrame(*h, gen, i, /*use_cache=*/false));
  }
  return Status::OK();
}

// ---- bookkeeping -----------------------------------------------------------

namespace {
ObjectInfo InfoOf(ObjectKey key, Tier tier, uint64_t logical, uint64_t stored, int64_t access,
                  uint32_t reads, bool damaged) {
  return ObjectInfo{key, tier, logical, stored, access, reads, damaged};
}
}  // namespace

Result<ObjectInfo> ObjectStore::Stat(ObjectKey key) const {
  std::lock_guard lock(mu_);
  auto it = table_->find(key);
  if (it == table_->end()) return Status::NotFound("no such object");
  const Entry& e = it->second;
  return InfoOf(key, e.tier, e.logical_size, e.stored, e.last_access, e.reads, e.damaged);
}

std::vector<ObjectInfo> ObjectStore::List() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectInfo> out;
  out.reserve(table_->size());
  for (const auto& [k, e] : *table_) {
    out.push_back(InfoOf(k, e.tier, e.logical_size, e.stored, e.last_access, e.reads, e.damaged));
  }
  return out;
}

std::vector<ObjectInfo> ObjectStore::ListGroup(uint64_t group) const {
  std::lock_guard lock(mu_);
  std::vector<ObjectInfo> out;
  for (auto it = table_->lower_bound(ObjectKey{group, 0});
       it != table_->end() && it->first.group == group; ++it) {
    const Entry& e = it->second;
    out.push_back(InfoOf(it->first, e.tier, e.logical_size, e.stored, e.last_access, e.reads,
                         e.damaged));
  }
  return out;
}

GroupUsage ObjectStore::UsageOf(uint64_t group) const {
  GroupUsage u;
  for (const ObjectInfo& o : ListGroup(group)) {
    (o.tier == Tier::kHot ? u.hot_bytes : u.cold_bytes) += o.logical_size;
    u.stored_bytes += o.stored_bytes;
  }
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
  return s;
}

}  // namespace tierfs
