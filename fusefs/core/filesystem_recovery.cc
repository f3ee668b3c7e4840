// Filesystem: mount-time recovery, run by Open on a writable store before
// anything is served (the migrator and the reclaimer's thread are not
// running yet, so nothing else touches the store meanwhile).
//
// What a crash can leave, and what is done with it:
//  - inodes with nlink 0 (unlinked while open, or queued for the reclaimer):
//    freed, objects then rows (Reclaimer::FreeNow);
//  - objects of inodes above the last committed inode number: written
//    after a create that group commit had not committed yet. The number
//    would be handed out again, and its next owner would read them, so
//    they are removed;
//  - object bytes past a file's recorded size: writes whose new size was
//    lost. Trimmed, so that they cannot reappear when the file grows; the
//    same for an inline file's bytes (MetadataStore::TrimInline);
//  - objects of an inline file: a spill the crash cut short (the object is
//    written before the inline bytes are dropped), so the row's bytes are
//    the file and the objects go.
// Objects of other inodes that have no row are left to fsck, which reports
// them (they cannot come from a crash: rows go only after their objects).
#include <spdlog/spdlog.h>

#include "fusefs/core/filesystem.h"
#include "fusefs/core/store_settings.h"

namespace tierfs {

Status Filesystem::Recover() {
  TIERFS_ASSIGN_OR_RETURN(auto orphans, meta_->ListOrphans());
  TIERFS_RETURN_IF_ERROR(reclaimer_->FreeNow(orphans));
  TIERFS_ASSIGN_OR_RETURN(const uint64_t last_ino, meta_->LastIno());
  TIERFS_ASSIGN_OR_RETURN(uint64_t trimmed, meta_->TrimInline());
  // Object by object, each file's row read as needed: the work and memory
  // grow with the objects, not with the namespace (a table of every inode's
  // size would hold a million entries for a million empty files).
  uint64_t uncreated = 0;
  for (const ObjectInfo& o : store_->List()) {
    if (o.key.group > last_ino) {
      TIERFS_RETURN_IF_ERROR(store_->Remove(o.key));
      ++uncreated;
      continue;
    }
    auto a = meta_->GetAttr(o.key.group);
    if (a.status().IsNotFound()) continue;  // belongs to no inode: fsck's business
    TIERFS_RETURN_IF_ERROR(a.status());
    if (!S_ISREG(a->mode)) continue;  // fsck's business too
    // An inline file's objects are all removed (as if its size were 0).
    const uint64_t size = a->inline_data ? 0 : a->size;
    const uint64_t start = o.key.index * chunk_size_;
    // An object that starts at or past the end is garbage even when empty
    // (a file whose create and name were durable but whose size and data
    // were not): fsck's beyond_eof rule, so that fsck is clean after this.
    if (ReservationOnly(o) || (start < size && start + o.logical_size <= size)) continue;
    TIERFS_RETURN_IF_ERROR(start >= size ? store_->Remove(o.key)
                                         : store_->Truncate(o.key, size - start));
    ++trimmed;
  }
  if (uncreated > 0) {
    spdlog::warn("removed {} objects of files whose creation the crash took back", uncreated);
  }
  if (trimmed > 0) spdlog::warn("trimmed {} files' data past their ends", trimmed);
  return Status::OK();
}

}  // namespace tierfs
