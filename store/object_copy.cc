// TierMover::CopyObject: a whole-object copy within the tier of the
// source (the store half of copy_file_range). Hot objects are copied byte by
// byte through a pooled buffer, keeping holes; cold objects are copied as
// stored, still compressed, never decoded. Like a tier move, the copy is
// written to a temp name, fsynced, renamed and its directory fsynced before a
// dst copy in the other tier is unlinked, so a crash leaves dst old or new.
// Thread-safety: see tier_mover.h.
#include "store/object_store.h"
#include "store/tier_mover.h"

namespace tierfs {

namespace {

// CopyObject's two object locks: src shared and dst exclusive, taken in
// address order (every other path holds one object lock at a time), and
// only dst's when the two keys share a stripe (it is then held exclusive).
// Callers see both held. The constructor and destructor are not analysed:
// they lock and unlock conditionally, by address, and in the one-stripe
// case hold one lock for both names, none of which the analysis can follow.
class SCOPED_CAPABILITY CopyLocks {
 public:
  CopyLocks(SharedMutex* src, SharedMutex* dst) ACQUIRE_SHARED(src) ACQUIRE(dst)
      NO_THREAD_SAFETY_ANALYSIS : src_(src),
                                  dst_(dst) {
    if (src_ == dst_) {
      dst_->Lock();
    } else if (src_ < dst_) {
      src_->LockShared();
      dst_->Lock();
    } else {
      dst_->Lock();
      src_->LockShared();
    }
  }
  ~CopyLocks() RELEASE() NO_THREAD_SAFETY_ANALYSIS {
    dst_->Unlock();
    if (src_ != dst_) src_->UnlockShared();
  }
  CopyLocks(const CopyLocks&) = delete;
  CopyLocks& operator=(const CopyLocks&) = delete;

 private:
  SharedMutex* const src_;
  SharedMutex* const dst_;
};

}  // namespace

Status TierMover::WriteFileCopy(File* from, uint64_t size, const std::string& tmp) {
  Status st = [&]() -> Status {
    TIERFS_ASSIGN_OR_RETURN(
        auto out, env_->Open(tmp, OpenOptions{.write = true, .create = true, .exclusive = true}));
    TIERFS_ASSIGN_OR_RETURN(BufferLease buf, pool_->Lease(opts_.io_size));
    const uint64_t step = buf.capacity();
    for (uint64_t off = 0; off < size; off += step) {
      size_t want = std::min<uint64_t>(step, size - off);
      TIERFS_ASSIGN_OR_RETURN(size_t got, from->PRead(off, buf.span().first(want)));
      if (got != want) return Status::Corruption("object shrank while copied: " + from->path());
      std::span<const std::byte> chunk = buf.span().first(got);
      if (AllZero(chunk)) continue;  // sparse stays sparse
      TIERFS_RETURN_IF_ERROR(out->PWrite(off, chunk));
    }
    TIERFS_RETURN_IF_ERROR(out->Truncate(size));
    return out->Sync();
  }();
  if (!st.ok()) (void)env_->Unlink(tmp);
  return st;
}

Status TierMover::CopyObject(const ObjectKey& src, const ObjectKey& dst, SharedMutex& src_lock,
                             SharedMutex& dst_lock) {
  CopyLocks object_locks(&src_lock, &dst_lock);  // src shared, dst exclusive
  Tier tier = Tier::kHot;
  uint64_t size = 0, stored = 0;
  TIERFS_RETURN_IF_ERROR(table_->With(src, [&](const ObjectEntry* e) {
    if (!e) return Status::NotFound("no such object to copy");
    if (e->damaged) return Status::Corruption("damaged cold object " + cold_->NameOf(src));
    tier = e->tier;
    size = e->logical_size;
    stored = e->stored;
    return Status::OK();
  }));
  if (src == dst) return Status::OK();
  if (tier == Tier::kHot) {
    const std::string tmp = TempPath(HotPath(dst));
    TIERFS_ASSIGN_OR_RETURN(auto from, handles_->Hot(src));
    TIERFS_RETURN_IF_ERROR(WriteFileCopy(from.get(), size, tmp));
    auto st = env_->Stat(tmp);
    stored = st.ok() ? st->allocated : size;
    return SwapInCopy(dst, dst_lock, tier, size, stored, [&](bool* maybe) -> Status {
      Status renamed = env_->Rename(tmp, HotPath(dst));
      if (!renamed.ok()) {
        *maybe = false;
        (void)env_->Unlink(tmp);
        return renamed;
      }
      return env_->SyncDir(DirName(HotPath(dst)));
    });
  }
  // As stored: the compressed object, byte for byte (its frames keep their
  // checksums; nothing is decoded).
  TIERFS_ASSIGN_OR_RETURN(auto copy, CopyColdAsStored(src, src_lock, dst));
  return SwapInCopy(dst, dst_lock, tier, size, copy->written(), [&](bool* maybe) {
    Status st = copy->Commit();
    *maybe = copy->maybe_committed();
    return st;
  });
}

Result<std::unique_ptr<ColdWrite>> TierMover::CopyColdAsStored(const ObjectKey& src, SharedMutex&,
                                                               const ObjectKey& dst) {
  TIERFS_ASSIGN_OR_RETURN(auto from, cold_->Open(src));
  TIERFS_ASSIGN_OR_RETURN(auto out, cold_->Begin(dst));
  TIERFS_ASSIGN_OR_RETURN(BufferLease buf, pool_->Lease(opts_.io_size));
  const uint64_t step = buf.capacity();
  for (uint64_t off = 0; off < from->size(); off += step) {
    std::span<std::byte> chunk = buf.span().first(std::min<uint64_t>(step, from->size() - off));
    TIERFS_RETURN_IF_ERROR(from->ReadExactAt(off, chunk));
    TIERFS_RETURN_IF_ERROR(out->Append(chunk));
  }
  TIERFS_RETURN_IF_ERROR(out->Finish());
  return out;
}

Status TierMover::SwapInCopy(const ObjectKey& dst, SharedMutex& lock, Tier tier,
                             uint64_t logical_size, uint64_t stored,
                             const std::function<Status(bool* maybe)>& publish) {
  const Tier other = tier == Tier::kHot ? Tier::kCold : Tier::kHot;
  // Is there a dst copy in the other tier (the old dst, or a stray)?
  const bool old_in_other = table_->With(
      dst, [&](const ObjectEntry* e) { return e && (e->tier == other || e->stray_copy); });
  // Makes the table say: dst is the new copy (a new version, and when cold
  // a new generation: no old frames).
  auto install = [&](bool stray) {
    handles_->Drop(dst);  // its open file is the old one
    ObjectEntry e;
    e.tier = tier;
    e.logical_size = logical_size;
    e.stored = stored;
    e.last_access = e.window_start = env_->NowNanos();
    e.stray_copy = stray;
    table_->Install(dst, e);
  };
  bool maybe = true;
  Status st = publish(&maybe);
  if (!st.ok()) {
    if (!maybe) return st;
    // Published maybe, and not durably. A dst in the same tier was
    // replaced by it (gone), so dst is now the new copy. An old dst in the
    // other tier is still complete: withdraw the new copy and keep it.
    if (!old_in_other) {
      install(false);
      // A cold dst holds the old copy or the new one: ask it which.
      if (tier == Tier::kCold) ReloadCold(dst, lock);
      return st;
    }
    Status u = RemoveCopy(dst, lock, tier);
    if (u.ok()) return st;
    if (tier == Tier::kHot) {
      install(true);  // the new hot copy would win at recovery anyway
    } else {
      MarkStray(dst, lock);
    }
    return st;
  }
  if (!old_in_other) {
    install(false);
    return Status::OK();
  }
  // The new copy is durable: now the old one in the other tier goes.
  // (An old hot copy whose unlink is not yet durable would win a recovery:
  // a crash then leaves dst as it was. Either state is complete.)
  Status removed = RemoveCopy(dst, lock, other);
  install(/*stray=*/!removed.ok());
  if (!removed.ok()) return removed;
  return SyncUnlinks();
}

void TierMover::ReloadCold(const ObjectKey& key, SharedMutex&) {
  auto h = reader_->Open(key);
  table_->With(key, [&](ObjectEntry* e) {
    if (!e) return;
    if (!h.ok()) {
      e->damaged = true;  // reads fail until the next open lists it again
      return;
    }
    e->logical_size = (*h)->reader->logical_size();
    e->stored = (*h)->object->size();
  });
}

}  // namespace tierfs
