// ObjectStore: reads (hot files, cold frames through the frame cache) and
// writes (in place on hot objects; cold ones are promoted first).
#include <algorithm>
#include <cstring>
#include <map>

#include "store/object_store.h"
#include "store/object_store_internal.h"

namespace tierfs {

Result<std::shared_ptr<const CachedFrame>> ObjectStore::GetFrame(const ColdHandle& h, uint64_t gen,
                                                                 size_t i, bool use_cache) {
  const auto index = static_cast<uint32_t>(i);
  if (use_cache) {
    if (auto hit = cache_.Begin(gen, index)) return hit;  // else: ours to decode
  }
  auto frame = DecodeFrame(h, i);
  if (use_cache) cache_.End(gen, index, frame.ok() ? *frame : nullptr);
  return frame;
}

Result<std::shared_ptr<const CachedFrame>> ObjectStore::DecodeFrame(const ColdHandle& h, size_t i) {
  const ColdObjectReader& r = *h.reader;
  std::shared_ptr<CachedFrame> frame = cache_.NewFrame();
  TIERFS_ASSIGN_OR_RETURN(frame->buffer, pool_.Lease(r.frame_size()));
  TIERFS_ASSIGN_OR_RETURN(BufferLease scratch, pool_.Lease(r.frame_size()));
  Status st = r.ReadFrame(i, scratch.span(), frame->buffer.span());
  if (!st.ok()) return st.WithContext(h.name + " frame " + std::to_string(i));
  frame->buffer.set_size(r.frame_logical_size(i));
  frames_decoded_.fetch_add(1, std::memory_order_relaxed);
  return std::shared_ptr<const CachedFrame>(std::move(frame));
}

void ObjectStore::DecodeAhead(const std::shared_ptr<ColdHandle>& h, uint64_t gen, uint64_t offset,
                              size_t len) {
  if (decode_ahead_depth_ == 0 || len == 0) return;
  const uint64_t fs = h->reader->frame_size();
  const int64_t first = static_cast<int64_t>(offset / fs);
  const int64_t last = static_cast<int64_t>((offset + len - 1) / fs);
  const int64_t before = h->last_frame.exchange(last);
  // A sequential reader entering a new frame: decode the next ones now, on
  // the workers, so that they are in the cache when it gets there.
  if (last == before || (first != before && first != before + 1)) return;
  const auto frames = static_cast<int64_t>(h->reader->frame_count());
  for (int64_t i = last + 1; i <= last + decode_ahead_depth_ && i < frames; ++i) {
    ReadAhead().Submit(AheadJob{h, gen, static_cast<uint32_t>(i), ObjectKey{}});
  }
}

void ObjectStore::RunAheadJob(AheadJob& job) {
  if (!job.handle) return HotWillNeed(job.key);
  if (!cache_.TryBegin(job.gen, job.frame)) return;  // cached, or being decoded
  auto frame = DecodeFrame(*job.handle, job.frame);
  cache_.End(job.gen, job.frame, frame.ok() ? *frame : nullptr);
  if (frame.ok()) frames_decoded_ahead_.fetch_add(1, std::memory_order_relaxed);
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
  ReaderLock object_lock(&LockFor(key));
  Tier tier;
  uint64_t size, gen;
  {
    MutexLock lock(&mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("no such object");
    Entry& e = it->second;
    if (e.damaged) return Status::Corruption("damaged cold object " + ColdName(key));
    int64_t now = env_->NowNanos();
    if (now - e.window_start > opts_.promote_window_ns) {
      e.window_start = now;
      e.reads = 0;
    }
    // A burst of reads (a sequential scan) is one access.
    if (e.reads == 0 || now - e.last_read >= opts_.read_gap_ns) ++e.reads;
    e.last_read = now;
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
  TIERFS_ASSIGN_OR_RETURN(size_t n, ReadCold(*h, gen, offset, want));
  DecodeAhead(h, gen, offset, n);
  return n;
}

Result<BufferLease> ObjectStore::ReadLease(ObjectKey key, uint64_t offset, size_t len) {
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, pool_.Lease(std::max<size_t>(len, 1)));
  TIERFS_ASSIGN_OR_RETURN(size_t n, Read(key, offset, lease.span().first(len)));
  lease.set_size(n);
  return lease;
}

Result<std::shared_ptr<File>> ObjectStore::HotFile(ObjectKey key) {
  ReaderLock object_lock(&LockFor(key));
  {
    MutexLock lock(&mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::NotFound("no such object");
    if (it->second.tier == Tier::kCold) return std::shared_ptr<File>();
    it->second.last_access = env_->NowNanos();
  }
  return HotFileLocked(key);
}

void ObjectStore::WillNeed(ObjectKey key) {
  AheadJob job;
  job.key = key;
  ReadAhead().Submit(std::move(job));  // dropped when the queue is full: a hint
}

void ObjectStore::HotWillNeed(const ObjectKey& key) {
  ReaderLock object_lock(&LockFor(key));
  {
    MutexLock lock(&mu_);
    auto it = table_->find(key);
    if (it == table_->end() || it->second.tier != Tier::kHot) return;
  }
  auto f = HotFileLocked(key);
  if (f.ok()) (*f)->WillNeed();
}

// ---- writes ----------------------------------------------------------------

Status ObjectStore::WithHotFile(const ObjectKey& key,
                                const std::function<Result<uint64_t>(File&, uint64_t)>& fn) {
  for (;;) {
    {
      ReaderLock object_lock(&LockFor(key));
      bool present, cold = false;
      uint64_t size = 0;
      {
        MutexLock lock(&mu_);
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
        MutexLock lock(&mu_);
        Entry& e = (*table_)[key];
        e.logical_size = std::max(e.logical_size, new_size);
        e.stored = std::max(e.stored, e.logical_size);
        e.last_access = env_->NowNanos();
        e.version = ++next_version_;
        return Status::OK();
      }
    }
    // Missing or cold: fix that under the exclusive lock, then retry.
    WriterLock object_lock(&LockFor(key));
    TIERFS_RETURN_IF_ERROR(MakeHotWithLockHeld(key).status());
  }
}

Result<bool> ObjectStore::MakeHotWithLockHeld(const ObjectKey& key) {
  bool present, cold = false;
  {
    MutexLock lock(&mu_);
    auto it = table_->find(key);
    present = it != table_->end();
    if (present) cold = it->second.tier == Tier::kCold;
  }
  if (!present) {
    TIERFS_RETURN_IF_ERROR(CreateHotWithLockHeld(key));
  } else if (cold) {
    TIERFS_RETURN_IF_ERROR(PromoteWithLockHeld(key));
  }
  return present;
}

Status ObjectStore::CreateHotWithLockHeld(const ObjectKey& key) {
  // The table says there is no object, so a file at this path is a
  // leftover (a failed unlink, a stray copy): start from an empty file so
  // none of its bytes show through the new object's holes.
  TIERFS_ASSIGN_OR_RETURN(
      auto f,
      env_->Open(HotPath(key), OpenOptions{.write = true, .create = true, .truncate = true}));
  MutexLock lock(&mu_);
  Entry& e = (*table_)[key];
  e = Entry{};
  e.tier = Tier::kHot;
  e.version = ++next_version_;
  e.hot = std::move(f);
  e.dir_dirty = true;
  e.last_access = e.window_start = env_->NowNanos();
  TouchOpenFileLocked(key, e);
  EvictOpenFilesLocked();
  return Status::OK();
}

void ObjectStore::RefreshStoredBytes(const ObjectKey& key) {
  // One stat per reservation change; Stat()/List() never touch the disk.
  auto st = env_->Stat(HotPath(key));
  if (!st.ok()) return;
  MutexLock lock(&mu_);
  auto it = table_->find(key);
  if (it == table_->end() || it->second.tier != Tier::kHot) return;
  it->second.stored = st->allocated;
  // Blocks past the last logical 4 KiB block are a reservation.
  const uint64_t data_blocks = (st->size + 4095) / 4096 * 4096;
  it->second.reserved = st->allocated > data_blocks;
}

Status ObjectStore::Allocate(ObjectKey key, uint64_t offset, uint64_t len) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  if (len == 0) return Status::InvalidArgument("allocate of zero bytes");
  // Exclusive: creation, promotion and the reservation are one step for
  // readers (fallocate only maps extents; it writes no data).
  WriterLock object_lock(&LockFor(key));
  TIERFS_ASSIGN_OR_RETURN(bool present, MakeHotWithLockHeld(key));
  auto f = HotFileLocked(key);
  Status st = f.ok() ? (*f)->Allocate(offset, len) : f.status();
  if (!st.ok()) {
    if (!present) {
      (void)RemoveWithLockHeld(key);  // leave no object this call created
    } else {
      RefreshStoredBytes(key);  // a failed fallocate may keep part of the range
    }
    return st;
  }
  {
    MutexLock lock(&mu_);
    Entry& e = (*table_)[key];
    e.reserved = true;
    e.stored = std::max(e.stored, offset + len);  // until the stat below
    e.last_access = env_->NowNanos();
    // The blocks are the hot file's: a demotion in flight must not drop them.
    e.version = ++next_version_;
  }
  RefreshStoredBytes(key);
  return Status::OK();
}

Status ObjectStore::Write(ObjectKey key, uint64_t offset, std::span<const std::byte> src) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  // Nothing to write changes nothing: the object's logical size must never
  // pass its file's end (a hot read splices that many bytes).
  if (src.empty()) return Status::OK();
  return WithHotFile(key, [&](File& f, uint64_t) -> Result<uint64_t> {
    TIERFS_RETURN_IF_ERROR(f.PWrite(offset, src));
    return offset + src.size();
  });
}

Status ObjectStore::PunchHole(ObjectKey key, uint64_t offset, uint64_t len) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  {
    MutexLock lock(&mu_);
    if (!table_->count(key)) return Status::OK();  // already a hole
  }
  return WithHotFile(key, [&](File& f, uint64_t size) -> Result<uint64_t> {
    TIERFS_RETURN_IF_ERROR(f.PunchHole(offset, len));
    return size;
  });
}

Status ObjectStore::Truncate(ObjectKey key, uint64_t size) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  WriterLock object_lock(&LockFor(key));
  {
    MutexLock lock(&mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::OK();  // a hole stays a hole
    if (it->second.logical_size == size) return Status::OK();
  }
  TIERFS_RETURN_IF_ERROR(PromoteWithLockHeld(key));
  TIERFS_ASSIGN_OR_RETURN(auto f, HotFileLocked(key));
  TIERFS_RETURN_IF_ERROR(f->Truncate(size));
  bool reserved;
  {
    MutexLock lock(&mu_);
    Entry& e = (*table_)[key];
    e.logical_size = size;
    e.stored = std::min(e.stored, size);
    e.version = ++next_version_;
    reserved = e.reserved;
  }
  // Shrinking frees reserved blocks past the new size (growing keeps those
  // past it, as on a native file): count what is left.
  if (reserved) RefreshStoredBytes(key);
  return Status::OK();
}

Status ObjectStore::Remove(ObjectKey key) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  WriterLock object_lock(&LockFor(key));
  return RemoveWithLockHeld(key);
}

Status ObjectStore::RemoveWithLockHeld(const ObjectKey& key) {
  Tier tier;
  bool stray;
  {
    MutexLock lock(&mu_);
    auto it = table_->find(key);
    if (it == table_->end()) return Status::OK();
    tier = it->second.tier;
    stray = it->second.stray_copy;
  }
  if (stray) {
    // First the copy in the other tier, so that a failure leaves the entry
    // (and its flag) in place for a retry.
    TIERFS_RETURN_IF_ERROR(RemoveCopy(key, tier == Tier::kHot ? Tier::kCold : Tier::kHot));
  }
  TIERFS_RETURN_IF_ERROR(RemoveCopy(key, tier));
  MutexLock lock(&mu_);
  auto it = table_->find(key);
  if (it->second.in_lru) open_lru_.erase(it->second.lru_it);
  table_->erase(it);
  promote_hints_.erase(key);
  return Status::OK();
}

Result<uint64_t> ObjectStore::RemoveGroup(uint64_t group) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  std::vector<ObjectInfo> objects = ListGroup(group);
  for (const ObjectInfo& o : objects) TIERFS_RETURN_IF_ERROR(Remove(o.key));
  return static_cast<uint64_t>(objects.size());
}

Status ObjectStore::RemoveCopy(const ObjectKey& key, Tier tier) {
  if (tier == Tier::kCold) return cold_->Remove(key);
  Status st = UnlinkObjectFile(HotPath(key));
  return st.IsNotFound() ? Status::OK() : st;
}

Status ObjectStore::UnlinkObjectFile(const std::string& path) {
  Status st = env_->Unlink(path);
  if (st.ok()) unsynced_unlink_dirs_.Add(DirName(path));
  return st;
}

Status ObjectStore::SyncUnlinks() {
  TIERFS_RETURN_IF_ERROR(unsynced_unlink_dirs_.Sync(env_));
  return cold_->SyncRemovals();
}

Status ObjectStore::Sync(ObjectKey key) { return SyncKeys({key}); }

Status ObjectStore::SyncGroup(uint64_t group) {
  std::vector<ObjectKey> keys;
  {
    MutexLock lock(&mu_);
    ForEachInGroup(*table_, group, [&](ObjectKey k, const Entry&) { keys.push_back(k); });
  }
  return SyncKeys(keys);
}

Status ObjectStore::SyncAll() {
  std::vector<ObjectKey> keys;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, e] : *table_) {
      if (e.tier == Tier::kHot && (e.dir_dirty || e.synced_version != e.version)) {
        keys.push_back(key);
      }
    }
  }
  return SyncKeys(keys);
}

Status ObjectStore::SyncKeys(const std::vector<ObjectKey>& keys) {
  // Removals first: an unlink that a crash could undo would bring back
  // bytes the caller's namespace no longer covers.
  TIERFS_RETURN_IF_ERROR(SyncUnlinks());
  struct Owed {
    ObjectKey key;
    uint64_t version;  // what the fsync covers: every change up to it
    std::shared_ptr<File> file;
  };
  std::vector<Owed> owed;
  // Directories to sync, each with the objects whose entries it holds (and
  // their versions then: a later change may have re-created one).
  std::map<std::string, std::vector<std::pair<ObjectKey, uint64_t>>> dirs;
  for (ObjectKey key : keys) {
    // (The object lock keeps a tier move from swapping the file meanwhile.)
    ReaderLock object_lock(&LockFor(key));
    uint64_t version;
    {
      MutexLock lock(&mu_);
      auto it = table_->find(key);
      if (it == table_->end() || it->second.tier == Tier::kCold)
        continue;  // cold: synced when written
      if (it->second.dir_dirty) dirs[DirName(HotPath(key))].emplace_back(key, it->second.version);
      if (it->second.synced_version == it->second.version) continue;
      version = it->second.version;
    }
    TIERFS_ASSIGN_OR_RETURN(auto f, HotFileLocked(key));
    f->StartWriteback();
    owed.push_back(Owed{key, version, std::move(f)});
  }
  for (const Owed& o : owed) {
    TIERFS_RETURN_IF_ERROR(o.file->Sync());
    MutexLock lock(&mu_);
    auto it = table_->find(o.key);
    if (it != table_->end())
      it->second.synced_version = std::max(it->second.synced_version, o.version);
  }
  for (const auto& [dir, entries] : dirs) {
    TIERFS_RETURN_IF_ERROR(env_->SyncDir(dir));
    MutexLock lock(&mu_);
    for (const auto& [key, version] : entries) {
      auto it = table_->find(key);
      if (it != table_->end() && it->second.version == version) it->second.dir_dirty = false;
    }
  }
  return Status::OK();
}

}  // namespace tierfs
