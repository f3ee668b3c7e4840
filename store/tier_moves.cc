// TierMover: demotion, promotion and the removal of copies. Each move
// writes the new copy and makes it durable (a hot temp file fsynced, or a
// finished cold write), then publishes it (a rename and a directory fsync,
// or the cold backend's commit), then removes the source: copying with no
// lock held and publishing under the object's exclusive lock only if the
// object did not change meanwhile. CopyObject is in object_copy.cc.
#include "store/object_store.h"
#include "store/tier_mover.h"

namespace tierfs {

TierMover::TierMover(Env* env, const StoreOptions& opts, BufferPool* pool, ColdBackend* cold,
                     ObjectTable* table, HandleCache* handles, ColdReader* reader)
    : env_(env),
      opts_(opts),
      pool_(pool),
      cold_(cold),
      table_(table),
      handles_(handles),
      reader_(reader) {}

std::string TierMover::HotPath(const ObjectKey& key) const {
  return HotObjectPath(opts_.hot_dir, key);
}

std::string TierMover::TempPath(const std::string& final_path) {
  return final_path + std::string(kTempMarker) + std::to_string(temp_counter_.fetch_add(1));
}

Result<std::unique_ptr<ColdWrite>> TierMover::WriteColdCopy(const ObjectKey& key, File* hot,
                                                            uint64_t size) {
  TIERFS_ASSIGN_OR_RETURN(std::unique_ptr<ColdWrite> out, cold_->Begin(key));
  TIERFS_ASSIGN_OR_RETURN(
      auto writer, ColdObjectWriter::Create(out.get(), size, opts_.frame_size, opts_.compression));
  TIERFS_ASSIGN_OR_RETURN(BufferLease buf, pool_->Lease(opts_.frame_size));
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

Status TierMover::CommitCold(const ObjectKey& key, SharedMutex& lock, ColdWrite& w) {
  Status st = w.Commit();
  // The commit may have been taken (a rename not yet durable, a timed-out
  // RADOS op): the source stays authoritative and the new copy is withdrawn.
  // After a crash either may be there; both are complete, hot wins.
  if (!st.ok()) WithdrawCold(key, lock);
  return st;
}

Status TierMover::Demote(const ObjectKey& key, SharedMutex& lock, MoveReason why) {
  std::shared_ptr<File> hot;
  uint64_t version = 0, size = 0;
  {
    ReaderLock object_lock(&lock);
    bool cold = false;
    TIERFS_RETURN_IF_ERROR(table_->With(key, [&](const ObjectEntry* e) {
      if (!e) return Status::NotFound("no such object");
      cold = e->tier == Tier::kCold;
      version = e->version;
      size = e->logical_size;
      return Status::OK();
    }));
    if (cold) return Status::OK();
    TIERFS_ASSIGN_OR_RETURN(hot, handles_->Hot(key));
  }
  // Compress with no lock held: foreground I/O on this object goes on.
  TIERFS_ASSIGN_OR_RETURN(std::unique_ptr<ColdWrite> copy, WriteColdCopy(key, hot.get(), size));
  hot.reset();
  WriterLock object_lock(&lock);
  TIERFS_RETURN_IF_ERROR(AbandonIfChanged(
      key, lock, [&] { copy.reset(); },
      [&](const ObjectEntry& e) { return e.tier == Tier::kHot && e.version == version; }));
  TIERFS_RETURN_IF_ERROR(CommitCold(key, lock, *copy));
  const uint64_t stored = copy->written();
  Status st = UnlinkObjectFile(HotPath(key));
  if (!st.ok()) {
    // Without the unlink the hot copy stays authoritative: drop the cold one.
    WithdrawCold(key, lock);
    return st;
  }
  handles_->Drop(key);
  table_->Demoted(key, stored, why, env_->NowNanos());
  return Status::OK();
}

Status TierMover::CopyColdToHot(const ColdHandle& h, uint64_t gen, const std::string& tmp) {
  Status st = WriteHotCopy(h, gen, tmp);
  if (!st.ok()) (void)env_->Unlink(tmp);
  return st;
}

Status TierMover::WriteHotCopy(const ColdHandle& h, uint64_t gen, const std::string& tmp) {
  TIERFS_ASSIGN_OR_RETURN(
      auto out, env_->Open(tmp, OpenOptions{.write = true, .create = true, .exclusive = true}));
  const ColdObjectReader& r = *h.reader;
  for (size_t i = 0; i < r.frame_count(); ++i) {
    TIERFS_ASSIGN_OR_RETURN(auto frame, reader_->Frame(h, gen, i, /*use_cache=*/false));
    // All-zero frames stay holes, so sparse files stay sparse.
    if (AllZero(frame->buffer.contents())) continue;
    TIERFS_RETURN_IF_ERROR(out->PWrite(uint64_t{i} * r.frame_size(), frame->buffer.contents()));
  }
  TIERFS_RETURN_IF_ERROR(out->Truncate(r.logical_size()));
  return out->Sync();
}

Status TierMover::SwapInHot(const ObjectKey& key, SharedMutex& lock, const std::string& tmp,
                            MoveReason why) {
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
    WithdrawCopy(key, lock, final_path);
    return st;
  }
  // From here the hot copy wins at recovery even if the removal fails.
  Status unlinked = cold_->Remove(key);
  handles_->Drop(key);
  table_->Promoted(key, /*stray=*/!unlinked.ok(), why, env_->NowNanos());
  return unlinked;
}

void TierMover::WithdrawCopy(const ObjectKey& key, SharedMutex& lock, const std::string& path) {
  Status st = UnlinkObjectFile(path);
  if (!st.ok() && !st.IsNotFound()) MarkStray(key, lock);
}

void TierMover::WithdrawCold(const ObjectKey& key, SharedMutex& lock) {
  if (!cold_->Remove(key).ok()) MarkStray(key, lock);
}

void TierMover::MarkStray(const ObjectKey& key, SharedMutex&) {
  table_->With(key, [](ObjectEntry* e) {
    if (e) e->stray_copy = true;
  });
}

Result<std::optional<uint64_t>> TierMover::ColdGeneration(const ObjectKey& key, SharedMutex&) {
  return table_->With(key, [&](const ObjectEntry* e) -> Result<std::optional<uint64_t>> {
    if (!e) return Status::NotFound("no such object");
    if (e->tier == Tier::kHot) return std::optional<uint64_t>();
    if (e->damaged) return Status::Corruption("damaged cold object " + cold_->NameOf(key));
    return std::optional<uint64_t>(e->generation);
  });
}

Status TierMover::PromoteLocked(const ObjectKey& key, SharedMutex& lock) {
  TIERFS_ASSIGN_OR_RETURN(std::optional<uint64_t> cold_gen, ColdGeneration(key, lock));
  if (!cold_gen) return Status::OK();  // already hot
  const uint64_t gen = *cold_gen;
  TIERFS_ASSIGN_OR_RETURN(auto h, handles_->Cold(key));
  const std::string tmp = TempPath(HotPath(key));
  TIERFS_RETURN_IF_ERROR(CopyColdToHot(*h, gen, tmp));
  return SwapInHot(key, lock, tmp, MoveReason::kWrite);
}

Status TierMover::AbandonIfChanged(const ObjectKey& key, SharedMutex&,
                                   const std::function<void()>& discard,
                                   const std::function<bool(const ObjectEntry&)>& unchanged) {
  if (table_->Unchanged(key, unchanged)) return Status::OK();
  discard();  // (I/O: a cold write's clean-up, an unlink; not under the table's lock)
  return Status::Busy("object changed while it was being moved; left where it was");
}

Status TierMover::Promote(const ObjectKey& key, SharedMutex& lock, MoveReason why) {
  std::shared_ptr<ColdHandle> h;
  uint64_t gen;
  {
    ReaderLock object_lock(&lock);
    TIERFS_ASSIGN_OR_RETURN(std::optional<uint64_t> cold_gen, ColdGeneration(key, lock));
    if (!cold_gen) return Status::OK();  // already hot
    gen = *cold_gen;
    TIERFS_ASSIGN_OR_RETURN(h, handles_->Cold(key));
  }
  // Decompress with no lock held.
  const std::string tmp = TempPath(HotPath(key));
  TIERFS_RETURN_IF_ERROR(CopyColdToHot(*h, gen, tmp));
  h.reset();
  WriterLock object_lock(&lock);
  TIERFS_RETURN_IF_ERROR(AbandonIfChanged(
      key, lock, [&] { (void)env_->Unlink(tmp); },
      [&](const ObjectEntry& e) { return e.tier == Tier::kCold && e.generation == gen; }));
  return SwapInHot(key, lock, tmp, why);
}

Status TierMover::RemoveCopy(const ObjectKey& key, SharedMutex&, Tier tier) {
  if (tier == Tier::kCold) return cold_->Remove(key);
  Status st = UnlinkObjectFile(HotPath(key));
  return st.IsNotFound() ? Status::OK() : st;
}

Status TierMover::UnlinkObjectFile(const std::string& path) {
  Status st = env_->Unlink(path);
  if (st.ok()) unsynced_unlink_dirs_.Add(DirName(path));
  return st;
}

Status TierMover::SyncUnlinks() {
  TIERFS_RETURN_IF_ERROR(unsynced_unlink_dirs_.Sync(env_));
  return cold_->SyncRemovals();
}

}  // namespace tierfs
