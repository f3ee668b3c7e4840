// ObjectStore: reads (hot files through the handle cache, cold ones through
// the cold reader), writes (in place on hot objects; cold ones are promoted
// first), removal and sync.
#include <algorithm>
#include <map>

#include "store/object_store.h"

namespace tierfs {

Result<size_t> ObjectStore::Read(ObjectKey key, uint64_t offset, std::span<std::byte> dst) {
  ReaderLock object_lock(&LockFor(key));
  auto view = table_.NoteRead(key, offset, ReadKind::kRead, env_->NowNanos());
  if (view.status().IsCorruption()) return Damaged(key);
  TIERFS_RETURN_IF_ERROR(view.status());
  if (offset >= view->logical_size) return size_t{0};
  std::span<std::byte> want =
      dst.first(std::min<uint64_t>(dst.size(), view->logical_size - offset));
  if (view->tier == Tier::kHot) {
    TIERFS_ASSIGN_OR_RETURN(auto f, handles_.Hot(key));
    return f->PRead(offset, want);
  }
  TIERFS_ASSIGN_OR_RETURN(auto h, handles_.Cold(key));
  return reader_.Read(h, view->generation, offset, want);
}

Result<BufferLease> ObjectStore::ReadLease(ObjectKey key, uint64_t offset, size_t len) {
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, pool_.Lease(std::max<size_t>(len, 1)));
  TIERFS_ASSIGN_OR_RETURN(size_t n, Read(key, offset, lease.span().first(len)));
  lease.set_size(n);
  return lease;
}

Result<ChunkRead> ObjectStore::ReadChunk(ObjectKey key, uint64_t offset, size_t len) {
  ReaderLock object_lock(&LockFor(key));
  auto view = table_.NoteRead(key, offset, ReadKind::kChunk, env_->NowNanos());
  if (view.status().IsNotFound()) return ChunkRead{};  // a hole
  if (view.status().IsCorruption()) return Damaged(key);
  TIERFS_RETURN_IF_ERROR(view.status());
  ChunkRead out;
  if (offset >= view->logical_size) return out;
  out.length = static_cast<size_t>(std::min<uint64_t>(len, view->logical_size - offset));
  if (view->tier == Tier::kHot) {
    TIERFS_ASSIGN_OR_RETURN(out.file, handles_.Hot(key));
    return out;
  }
  TIERFS_ASSIGN_OR_RETURN(out.data, pool_.Lease(out.length));
  TIERFS_ASSIGN_OR_RETURN(auto h, handles_.Cold(key));
  TIERFS_ASSIGN_OR_RETURN(
      size_t n, reader_.Read(h, view->generation, offset, out.data.span().first(out.length)));
  out.data.set_size(n);
  out.length = n;
  return out;
}

void ObjectStore::WillNeed(ObjectKey key) { reader_.HotWillNeed(key); }

void ObjectStore::HotWillNeed(const ObjectKey& key) {
  ReaderLock object_lock(&LockFor(key));
  const bool hot =
      table_.With(key, [](const ObjectEntry* e) { return e && e->tier == Tier::kHot; });
  if (!hot) return;
  auto f = handles_.Hot(key);
  if (f.ok()) (*f)->WillNeed();
}

Status ObjectStore::Verify(ObjectKey key) {
  ReaderLock object_lock(&LockFor(key));
  uint64_t gen = 0;
  bool hot = false;
  TIERFS_RETURN_IF_ERROR(table_.With(key, [&](const ObjectEntry* e) {
    if (!e) return Status::NotFound("no such object");
    hot = e->tier == Tier::kHot;
    gen = e->generation;
    return Status::OK();
  }));
  if (hot) return Status::OK();
  TIERFS_ASSIGN_OR_RETURN(auto h, handles_.Cold(key));
  for (size_t i = 0; i < h->reader->frame_count(); ++i) {
    TIERFS_ASSIGN_OR_RETURN(auto frame, reader_.Frame(*h, gen, i, /*use_cache=*/false));
  }
  return Status::OK();
}

// ---- tier moves (the mover's, under the locks the facade owns) -------------

Status ObjectStore::Demote(ObjectKey key, MoveReason why) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  return mover_.Demote(key, LockFor(key), why);
}

Status ObjectStore::Promote(ObjectKey key, MoveReason why) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  return mover_.Promote(key, LockFor(key), why);
}

Status ObjectStore::CopyObject(ObjectKey src, ObjectKey dst) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  return mover_.CopyObject(src, dst, LockFor(src), LockFor(dst));
}

// ---- writes ----------------------------------------------------------------

Status ObjectStore::WithHotFile(const ObjectKey& key,
                                const std::function<Result<uint64_t>(File&, uint64_t)>& fn) {
  for (;;) {
    {
      ReaderLock object_lock(&LockFor(key));
      bool present = false, cold = false;
      uint64_t size = 0;
      table_.With(key, [&](const ObjectEntry* e) {
        present = e != nullptr;
        if (present) {
          cold = e->tier == Tier::kCold;
          size = e->logical_size;
        }
      });
      if (present && !cold) {
        TIERFS_ASSIGN_OR_RETURN(auto f, handles_.Hot(key));
        TIERFS_ASSIGN_OR_RETURN(uint64_t new_size, fn(*f, size));
        const int64_t now = env_->NowNanos();
        table_.With(key, [&](ObjectEntry* e) {
          e->logical_size = std::max(e->logical_size, new_size);
          e->stored = std::max(e->stored, e->logical_size);
          e->last_access = now;
          e->version = table_.NewVersion();
        });
        return Status::OK();
      }
    }
    // Missing or cold: fix that under the exclusive lock, then retry.
    WriterLock object_lock(&LockFor(key));
    TIERFS_RETURN_IF_ERROR(MakeHotWithLockHeld(key).status());
  }
}

Result<bool> ObjectStore::MakeHotWithLockHeld(const ObjectKey& key) {
  bool present = false, cold = false;
  table_.With(key, [&](const ObjectEntry* e) {
    present = e != nullptr;
    cold = present && e->tier == Tier::kCold;
  });
  if (!present) {
    TIERFS_RETURN_IF_ERROR(CreateHotWithLockHeld(key));
  } else if (cold) {
    TIERFS_RETURN_IF_ERROR(mover_.PromoteLocked(key, LockFor(key)));
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
  ObjectEntry e;
  e.tier = Tier::kHot;
  e.dir_dirty = true;
  e.last_access = e.window_start = env_->NowNanos();
  table_.Install(key, e);
  handles_.PutHot(key, std::move(f));
  return Status::OK();
}

void ObjectStore::RefreshStoredBytes(const ObjectKey& key) {
  // One stat per reservation change; Stat()/List() never touch the disk.
  auto st = env_->Stat(HotPath(key));
  if (!st.ok()) return;
  table_.With(key, [&](ObjectEntry* e) {
    if (!e || e->tier != Tier::kHot) return;
    e->stored = st->allocated;
    // Blocks past the last logical 4 KiB block are a reservation.
    const uint64_t data_blocks = (st->size + 4095) / 4096 * 4096;
    e->reserved = st->allocated > data_blocks;
  });
}

Status ObjectStore::Allocate(ObjectKey key, uint64_t offset, uint64_t len) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  if (len == 0) return Status::InvalidArgument("allocate of zero bytes");
  // Exclusive: creation, promotion and the reservation are one step for
  // readers (fallocate only maps extents; it writes no data).
  WriterLock object_lock(&LockFor(key));
  TIERFS_ASSIGN_OR_RETURN(bool present, MakeHotWithLockHeld(key));
  auto f = handles_.Hot(key);
  Status st = f.ok() ? (*f)->Allocate(offset, len) : f.status();
  if (!st.ok()) {
    if (!present) {
      (void)RemoveWithLockHeld(key);  // leave no object this call created
    } else {
      RefreshStoredBytes(key);  // a failed fallocate may keep part of the range
    }
    return st;
  }
  const int64_t now = env_->NowNanos();
  table_.With(key, [&](ObjectEntry* e) {
    e->reserved = true;
    e->stored = std::max(e->stored, offset + len);  // until the stat below
    e->last_access = now;
    // The blocks are the hot file's: a demotion in flight must not drop them.
    e->version = table_.NewVersion();
  });
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
  if (!table_.Contains(key)) return Status::OK();  // already a hole
  return WithHotFile(key, [&](File& f, uint64_t size) -> Result<uint64_t> {
    TIERFS_RETURN_IF_ERROR(f.PunchHole(offset, len));
    return size;
  });
}

Status ObjectStore::Truncate(ObjectKey key, uint64_t size) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  WriterLock object_lock(&LockFor(key));
  // A hole stays a hole; the same size changes nothing.
  const bool same =
      table_.With(key, [&](const ObjectEntry* e) { return !e || e->logical_size == size; });
  if (same) return Status::OK();
  TIERFS_RETURN_IF_ERROR(mover_.PromoteLocked(key, LockFor(key)));
  TIERFS_ASSIGN_OR_RETURN(auto f, handles_.Hot(key));
  TIERFS_RETURN_IF_ERROR(f->Truncate(size));
  const bool reserved = table_.With(key, [&](ObjectEntry* e) {
    e->logical_size = size;
    e->stored = std::min(e->stored, size);
    e->version = table_.NewVersion();
    return e->reserved;
  });
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
  bool present = false, stray = false;
  Tier tier = Tier::kHot;
  table_.With(key, [&](const ObjectEntry* e) {
    present = e != nullptr;
    if (present) {
      tier = e->tier;
      stray = e->stray_copy;
    }
  });
  if (!present) return Status::OK();
  if (stray) {
    // First the copy in the other tier, so that a failure leaves the entry
    // (and its flag) in place for a retry.
    TIERFS_RETURN_IF_ERROR(
        mover_.RemoveCopy(key, LockFor(key), tier == Tier::kHot ? Tier::kCold : Tier::kHot));
  }
  TIERFS_RETURN_IF_ERROR(mover_.RemoveCopy(key, LockFor(key), tier));
  handles_.Drop(key);
  table_.Erase(key);
  return Status::OK();
}

Result<uint64_t> ObjectStore::RemoveGroup(uint64_t group) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  std::vector<ObjectInfo> objects = ListGroup(group);
  for (const ObjectInfo& o : objects) TIERFS_RETURN_IF_ERROR(Remove(o.key));
  return static_cast<uint64_t>(objects.size());
}

// ---- sync ------------------------------------------------------------------

Status ObjectStore::Sync(ObjectKey key) { return SyncKeys({key}); }

Status ObjectStore::SyncGroup(uint64_t group) { return SyncKeys(table_.GroupKeys(group)); }

Status ObjectStore::SyncAll() { return SyncKeys(table_.UnsyncedKeys()); }

Status ObjectStore::SyncKeys(const std::vector<ObjectKey>& keys) {
  // Removals first: an unlink that a crash could undo would bring back
  // bytes the caller's namespace no longer covers.
  TIERFS_RETURN_IF_ERROR(mover_.SyncUnlinks());
  struct Owed {
    ObjectKey key;
    uint64_t version;  // what the fsync covers: every change up to it
    std::shared_ptr<File> file;
  };
  std::vector<Owed> owed;
  // Directories to sync, each with the objects whose entries it holds (and
  // their versions then: a later change may have re-created one).
  std::map<std::string, std::vector<std::pair<ObjectKey, uint64_t>>> dirs;
  for (const ObjectKey& key : keys) {
    // (The object lock keeps a tier move from swapping the file meanwhile.)
    ReaderLock object_lock(&LockFor(key));
    bool hot = false, dir_dirty = false, synced = false;
    uint64_t version = 0;
    table_.With(key, [&](const ObjectEntry* e) {
      hot = e && e->tier == Tier::kHot;  // cold: synced when written
      if (!hot) return;
      dir_dirty = e->dir_dirty;
      synced = e->synced_version == e->version;
      version = e->version;
    });
    if (!hot) continue;
    if (dir_dirty) dirs[DirName(HotPath(key))].emplace_back(key, version);
    if (synced) continue;
    TIERFS_ASSIGN_OR_RETURN(auto f, handles_.Hot(key));
    f->StartWriteback();
    owed.push_back(Owed{key, version, std::move(f)});
  }
  for (const Owed& o : owed) {
    TIERFS_RETURN_IF_ERROR(o.file->Sync());
    table_.With(o.key, [&](ObjectEntry* e) {
      if (e) e->synced_version = std::max(e->synced_version, o.version);
    });
  }
  for (const auto& [dir, entries] : dirs) {
    TIERFS_RETURN_IF_ERROR(env_->SyncDir(dir));
    for (const auto& [key, version] : entries) {
      const uint64_t seen = version;  // (a lambda cannot capture a binding)
      table_.With(key, [&](ObjectEntry* e) {
        if (e && e->version == seen) e->dir_dirty = false;
      });
    }
  }
  return Status::OK();
}

}  // namespace tierfs
