// ObjectStore: tier moves. Each writes the new copy and makes it durable
// (a hot temp file fsynced, or a finished cold write), then publishes it (a
// rename and a directory fsync, or the cold backend's commit), then removes
// the source: copying with no lock held and publishing under the object's
// exclusive lock only if the object did not change meanwhile.
#include "store/object_store.h"
#include "store/object_store_internal.h"

namespace tierfs {

Result<std::unique_ptr<ColdWrite>> ObjectStore::WriteColdCopy(ObjectKey key, File* hot,
                                                              uint64_t size) {
  TIERFS_ASSIGN_OR_RETURN(std::unique_ptr<ColdWrite> out, cold_->Begin(key));
  TIERFS_ASSIGN_OR_RETURN(
      auto writer, ColdObjectWriter::Create(out.get(), size, opts_.frame_size, opts_.compression));
  TIERFS_ASSIGN_OR_RETURN(BufferLease buf, pool_.Lease(opts_.frame_size));
  for (uint64_t off = 0; off < size; off += opts_.frame_size) {
    size_t n = std::min<uint64_t>(opts_.frame_size, size - off);
    TIERFS_ASSIGN_OR_RETURN(size_t got, hot->PRead(off, buf.span().first(n)));
    if (got != n) return Status::Busy("hot object shrank during demotion");
    TIERFS_RETURN_IF_ERROR(writer->AddFrame(buf.span().first(n)));
  }
  TIERFS_RETURN_IF_ERROR(writer->Finish());
  TIERFS_RETURN_IF_ERROR(out->Finish());
  return out;
}

Status ObjectStore::CommitCold(const ObjectKey& key, ColdWrite& w) {
  Status st = w.Commit();
  // The commit may have been taken (a rename not yet durable, a timed-out
  // RADOS op): the source stays authoritative and the new copy is withdrawn.
  // After a crash either may be there; both are complete, hot wins.
  if (!st.ok()) WithdrawCold(key);
  return st;
}

Status ObjectStore::Demote(ObjectKey key, MoveReason why) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  std::shared_ptr<File> hot;
  uint64_t version, size;
  {
    ReaderLock object_lock(&LockFor(key));
    {
      MutexLock lock(&mu_);
      auto it = table_->find(key);
      if (it == table_->end()) return Status::NotFound("no such object");
      if (it->second.tier == Tier::kCold) return Status::OK();
      version = it->second.version;
      size = it->second.logical_size;
    }
    TIERFS_ASSIGN_OR_RETURN(hot, HotFileLocked(key));
  }
  // Compress with no lock held: foreground I/O on this object goes on.
  TIERFS_ASSIGN_OR_RETURN(std::unique_ptr<ColdWrite> copy, WriteColdCopy(key, hot.get(), size));
  hot.reset();
  WriterLock object_lock(&LockFor(key));
  TIERFS_RETURN_IF_ERROR(AbandonIfChanged(
      key, [&] { copy.reset(); },
      [&](const Entry& e) { return e.tier == Tier::kHot && e.version == version; }));
  TIERFS_RETURN_IF_ERROR(CommitCold(key, *copy));
  const uint64_t stored = copy->written();
  Status st = UnlinkObjectFile(HotPath(key));
  if (!st.ok()) {
    // Without the unlink the hot copy stays authoritative: drop the cold one.
    WithdrawCold(key);
    return st;
  }
  MutexLock lock(&mu_);
  Entry& e = (*table_)[key];
  e.tier = Tier::kCold;
  e.stray_copy = false;  // the commit replaced any stray cold copy
  e.stored = stored;
  e.reserved = false;  // the cold object holds logical bytes only
  e.generation = next_generation_++;
  e.hot.reset();
  e.cold.reset();
  e.dir_dirty = false;
  e.reads = 0;
  e.last_move = why;
  e.last_move_ns = env_->NowNanos();
  ++demotions_;
  return Status::OK();
}

Status ObjectStore::CopyColdToHot(const ColdHandle& h, uint64_t gen, const std::string& tmp) {
  Status st = WriteHotCopy(h, gen, tmp);
  if (!st.ok()) (void)env_->Unlink(tmp);
  return st;
}

Status ObjectStore::WriteHotCopy(const ColdHandle& h, uint64_t gen, const std::string& tmp) {
  TIERFS_ASSIGN_OR_RETURN(
      auto out, env_->Open(tmp, OpenOptions{.write = true, .create = true, .exclusive = true}));
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

Status ObjectStore::SwapInHot(const ObjectKey& key, const std::string& tmp, MoveReason why) {
  const std::string final_path = HotPath(key);
  Status st = env_->Rename(tmp, final_path);
  if (!st.ok()) {
    (void)env_->Unlink(tmp);
    return st;
  }
  st = env_->SyncDir(DirName(final_path));
  if (!st.ok()) {
    // The rename happened but is not durable, so the cold copy must stay:
    // it remains authoritative and the identical hot copy is withdrawn.
    // After a crash either may be on disk; both are complete, hot wins.
    WithdrawCopy(key, final_path);
    return st;
  }
  // From here the hot copy wins at recovery even if the removal fails.
  Status unlinked = cold_->Remove(key);
  MutexLock lock(&mu_);
  Entry& e = (*table_)[key];
  e.tier = Tier::kHot;
  e.stray_copy = !unlinked.ok();
  e.stored = e.logical_size;
  e.reserved = false;
  e.cold.reset();
  e.hot.reset();
  e.version = ++next_version_;
  e.last_move = why;
  e.last_move_ns = env_->NowNanos();
  ++promotions_;
  promote_hints_.erase(key);
  return unlinked;
}

void ObjectStore::WithdrawCopy(const ObjectKey& key, const std::string& path) {
  Status st = UnlinkObjectFile(path);
  if (!st.ok() && !st.IsNotFound()) MarkStray(key);
}

void ObjectStore::WithdrawCold(const ObjectKey& key) {
  if (!cold_->Remove(key).ok()) MarkStray(key);
}

void ObjectStore::MarkStray(const ObjectKey& key) {
  MutexLock lock(&mu_);
  auto it = table_->find(key);
  if (it != table_->end()) it->second.stray_copy = true;
}

Result<std::optional<uint64_t>> ObjectStore::ColdGeneration(const ObjectKey& key) {
  MutexLock lock(&mu_);
  auto it = table_->find(key);
  if (it == table_->end()) return Status::NotFound("no such object");
  if (it->second.tier == Tier::kHot) return std::optional<uint64_t>();
  if (it->second.damaged) return Status::Corruption("damaged cold object " + ColdName(key));
  return std::optional<uint64_t>(it->second.generation);
}

Status ObjectStore::PromoteWithLockHeld(const ObjectKey& key) {
  TIERFS_ASSIGN_OR_RETURN(std::optional<uint64_t> cold_gen, ColdGeneration(key));
  if (!cold_gen) return Status::OK();  // already hot
  const uint64_t gen = *cold_gen;
  TIERFS_ASSIGN_OR_RETURN(auto h, ColdHandleFor(key));
  const std::string tmp = TempPath(HotPath(key));
  TIERFS_RETURN_IF_ERROR(CopyColdToHot(*h, gen, tmp));
  return SwapInHot(key, tmp, MoveReason::kWrite);
}

Status ObjectStore::AbandonIfChanged(const ObjectKey& key, const std::function<void()>& discard,
                                     const std::function<bool(const Entry&)>& unchanged) {
  {
    MutexLock lock(&mu_);
    auto it = table_->find(key);
    if (it != table_->end() && unchanged(it->second)) return Status::OK();
    ++abandoned_;
  }
  discard();  // (I/O: a cold write's clean-up, an unlink; not under mu_)
  return Status::Busy("object changed while it was being moved; left where it was");
}

Status ObjectStore::Promote(ObjectKey key, MoveReason why) {
  TIERFS_RETURN_IF_ERROR(CheckWritable());
  std::shared_ptr<ColdHandle> h;
  uint64_t gen;
  {
    ReaderLock object_lock(&LockFor(key));
    TIERFS_ASSIGN_OR_RETURN(std::optional<uint64_t> cold_gen, ColdGeneration(key));
    if (!cold_gen) return Status::OK();  // already hot
    gen = *cold_gen;
    TIERFS_ASSIGN_OR_RETURN(h, ColdHandleFor(key));
  }
  // Decompress with no lock held.
  const std::string tmp = TempPath(HotPath(key));
  TIERFS_RETURN_IF_ERROR(CopyColdToHot(*h, gen, tmp));
  h.reset();
  WriterLock object_lock(&LockFor(key));
  TIERFS_RETURN_IF_ERROR(AbandonIfChanged(
      key, [&] { (void)env_->Unlink(tmp); },
      [&](const Entry& e) { return e.tier == Tier::kCold && e.generation == gen; }));
  return SwapInHot(key, tmp, why);
}

Status ObjectStore::Verify(ObjectKey key) {
  ReaderLock object_lock(&LockFor(key));
  uint64_t gen;
  {
    MutexLock lock(&mu_);
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

}  // namespace tierfs
