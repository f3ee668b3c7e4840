// Filesystem: the xattrs it stores, statfs, and what the reports read of
// the core: a file's usage by tier, the status report, the running migrator
// (their users: the control channel, fusefs/control/control.h, and the
// metrics exposition).
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <string_view>
#include <tuple>

#include "fusefs/core/filesystem.h"

namespace tierfs {

namespace {
// The namespaces tierfs stores; others (system.* ACLs, unknown prefixes)
// are not supported, as on a filesystem mounted without ACL support.
Status CheckNamespace(const std::string& name) {
  for (std::string_view ns : {"user.", "trusted.", "security."}) {
    if (name.rfind(ns, 0) == 0 && name.size() > ns.size()) return Status::OK();
  }
  return Status::Posix(EOPNOTSUPP, "xattr namespace not supported: " + name);
}
}  // namespace

FsUsage Filesystem::UsageOf(uint64_t ino) {
  GroupUsage g = store_->UsageOf(ino);
  FsUsage u{g.hot_bytes, g.cold_bytes, g.stored_bytes, 0, store_->IsPinned(ino)};
  if (LayoutOf(ino) == Layout::kInline) {
    auto size = FileSize(ino);
    u.inline_bytes = size.ok() ? *size : 0;
    u.stored_bytes = u.inline_bytes;
  }
  return u;
}

StatusReport Filesystem::Report() {
  StatusReport r;
  r.store_dir = config_.store_dir;
  r.mountpoint = config_.mountpoint;
  r.mounted = !config_.inspect;
  r.read_only = read_only_;
  r.chunk_size = chunk_size_;
  // Counted before the pending reclaims are read, so that an inode freed
  // in between is taken out at most once.
  auto files = meta_->InodeCount();
  const StoreStats store = store_->stats();
  r.reclaim = reclaimer_->stats();
  const uint64_t rows = files.ok() ? *files : 0;
  r.inodes = rows - std::min(rows, r.reclaim.pending);
  r.policy = config_.policy;
  r.store = reclaimer_->AfterPending(store);
  if (auto in = meta_->InlineUsage(); in.ok()) std::tie(r.inline_files, r.inline_bytes) = *in;
  MutexLock lock(&migrator_mu_);  // SetReadOnly may replace migrator_
  r.migrator = migrator_->stats();
  return r;
}

void Filesystem::WithMigrator(const std::function<void(const Migrator&)>& fn) {
  MutexLock lock(&migrator_mu_);  // SetReadOnly may replace migrator_
  fn(*migrator_);
}

Status Filesystem::SetXattr(uint64_t ino, const std::string& name, const std::string& value,
                            int flags) {
  TIERFS_RETURN_IF_ERROR(Writable());
  TIERFS_RETURN_IF_ERROR(CheckNamespace(name));
  XattrMode mode = XattrMode::kAny;
  if (flags & XATTR_CREATE) mode = XattrMode::kCreate;
  if (flags & XATTR_REPLACE) mode = XattrMode::kReplace;
  TIERFS_RETURN_IF_ERROR(meta_->SetXattr(ino, name, value, mode));
  xattrs_.Add(ino);
  return Status::OK();
}

Result<std::string> Filesystem::GetXattr(uint64_t ino, const std::string& name) {
  TIERFS_RETURN_IF_ERROR(CheckNamespace(name));
  if (!HasXattrs(ino)) return Status::Posix(ENODATA, "no xattr " + name);
  return meta_->GetXattr(ino, name);
}

Result<std::vector<std::string>> Filesystem::ListXattr(uint64_t ino) {
  if (!HasXattrs(ino)) return std::vector<std::string>{};
  return meta_->ListXattr(ino);
}

bool Filesystem::HasXattrs(uint64_t ino) { return xattrs_.Has(ino); }

Status Filesystem::RemoveXattr(uint64_t ino, const std::string& name) {
  TIERFS_RETURN_IF_ERROR(Writable());
  TIERFS_RETURN_IF_ERROR(CheckNamespace(name));
  if (!HasXattrs(ino)) return Status::Posix(ENODATA, "no xattr " + name);
  TIERFS_RETURN_IF_ERROR(meta_->RemoveXattr(ino, name));
  auto left = meta_->ListXattr(ino);
  if (left.ok() && left->empty()) xattrs_.Remove({&ino, 1});
  return Status::OK();
}

Result<struct statvfs> Filesystem::StatFs() {
  (void)reclaimer_->Drain(kReclaimWait);  // answered with what is freed by then
  // What SQLite's pages take shows once the batch is written (and its
  // free pages are reused).
  (void)journal_->Commit();
  const StoreOptions& so = store_->options();
  TIERFS_ASSIGN_OR_RETURN(FsSpace hot, env_->StatFs(so.hot_dir));
  TIERFS_ASSIGN_OR_RETURN(uint64_t inodes, meta_->InodeCount());
  // df's numbers are tierfs's own (docs/tiers.md, "What df shows"), not
  // its disks': used is what tierfs holds — its objects in both tiers as
  // stored, and the namespace database; available is what a write can
  // take now (writes land hot: the hot disk's free space); the size is the
  // two plus the room a cold directory on another filesystem has left,
  // where data drifts (a RADOS pool's room is not asked: `ceph df`).
  // hot_capacity is the migrator's budget, not a limit on writes, so it
  // is in none of them.
  const StoreStats stats = store_->stats();
  uint64_t used = stats.hot_stored_bytes + stats.cold_stored_bytes;
  for (const char* file : {"/meta.db", "/meta.db-wal"}) {
    auto st = env_->Stat(config_.store_dir + file);
    if (st.ok()) used += st->size;
  }
  uint64_t room = hot.free_bytes;
  if (so.rados.pool.empty()) {
    auto cold = env_->StatFs(so.cold_dir);
    if (cold.ok() && cold->device != hot.device) room += cold->free_bytes;
  }
  const uint64_t block = hot.block_size;
  struct statvfs sv {};
  sv.f_bsize = sv.f_frsize = block;
  sv.f_blocks = (used + block - 1) / block + room / block;
  sv.f_bfree = room / block;
  sv.f_bavail = hot.free_bytes / block;
  sv.f_files = inodes + hot.free_inodes;
  sv.f_ffree = sv.f_favail = hot.free_inodes;
  sv.f_namemax = kMaxNameLen;
  return sv;
}

}  // namespace tierfs
