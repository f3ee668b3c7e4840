// Filesystem: xattrs, including the control channel that the tierfs CLI uses
// on a mounted store (names under "user.tierfs."), statfs and statistics.
//
// Control names (hidden from listxattr), and who may use them:
//   get user.tierfs.where    -> {"hot_bytes":..,"cold_bytes":..,"stored_bytes":..,"pinned":..,
//                                "cold_tier":"dir:PATH"|"rados:POOL/NS"}   anyone who can read
//   get user.tierfs.explain[@N] -> tierfs explain of a file from chunk N   the file
//                                  (explain.h)
//   get user.tierfs.status   -> the status report (any inode)               root
//   set user.tierfs.pin      <- "1" | "0"                                   the file's owner
//   set user.tierfs.migrate  <- "hot" | "cold"                              or root
//   set user.tierfs.readonly <- "1" | "0"  (mount -o remount,ro|rw)        root
// ("root" includes the user the daemon runs as: on a mount made by a user,
// that user owns the store directory and could change it directly.)
// "Anyone who can read the file" is the kernel's check: with
// default_permissions (always on), vfs_getxattr's xattr_permission() asks
// inode_permission(MAY_READ) for every user.* name before FUSE is called (and
// MAY_WRITE for setxattr), so the daemon does not check read access again.
// What the kernel cannot know is that a user.tierfs.* name changes more than
// the file: that is checked here (RootOnly, OwnerOrRoot).
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

#include "fusefs/core/explain.h"
#include "fusefs/core/filesystem.h"
#include "fusefs/core/json.h"

namespace tierfs {

namespace {
constexpr std::string_view kControlPrefix = "user.tierfs.";
bool IsControl(const std::string& name) { return name.rfind(kControlPrefix, 0) == 0; }

// The namespaces tierfs stores; others (system.* ACLs, unknown prefixes)
// are not supported, as on a filesystem mounted without ACL support.
Status CheckNamespace(const std::string& name) {
  for (std::string_view ns : {"user.", "trusted.", "security."}) {
    if (name.rfind(ns, 0) == 0 && name.size() > ns.size()) return Status::OK();
  }
  return Status::Posix(EOPNOTSUPP, "xattr namespace not supported: " + name);
}
}  // namespace

Status Filesystem::RootOnly(const Caller& caller, const std::string& name) const {
  if (caller.uid == 0 || caller.uid == daemon_uid_) return Status::OK();
  return Status::Posix(EPERM, name + " changes or reports the whole mount: root only");
}

Status Filesystem::OwnerOrRoot(uint64_t ino, const Caller& caller, const std::string& name) {
  if (caller.uid == 0 || caller.uid == daemon_uid_) return Status::OK();
  TIERFS_ASSIGN_OR_RETURN(const InodeAttr a, Attr(ino));
  if (a.uid == caller.uid) return Status::OK();
  return Status::Posix(EPERM, name + " changes how the file is stored: its owner or root only");
}

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

Status Filesystem::Migrate(uint64_t ino, Tier to) {
  const std::vector<ObjectInfo> objects = store_->ListGroup(ino);
  // The chunks move on a few threads at once, so that one compresses while
  // another's copy is written (or, on RADOS, waits on the network).
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;  // guarded by mu
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < objects.size();) {
      Status st;
      // Busy: the object changed while it was copied; try again a few times.
      for (int attempt = 0; attempt < 5; ++attempt) {
        st = to == Tier::kCold ? store_->Demote(objects[i].key) : store_->Promote(objects[i].key);
        if (st.code() != Code::kBusy) break;
      }
      if (st.ok() || st.IsNotFound()) continue;
      std::lock_guard lock(mu);
      if (first.ok()) first = st;
      next.store(objects.size());  // the first error ends the move
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t t = 1; t < std::min<size_t>(objects.size(), kMigrateThreads); ++t) {
      helpers.emplace_back(work);
    }
    work();
  }
  return first;
}

Status Filesystem::SetPinned(uint64_t ino, bool pinned) {
  TIERFS_RETURN_IF_ERROR(meta_->SetPinned(ino, pinned));
  store_->SetPinned(ino, pinned);
  return Status::OK();
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

std::string Filesystem::StatusJson() {
  const StatusReport r = Report();
  const StoreStats& s = r.store;
  const MigratorStats& m = r.migrator;
  uint64_t requests = 0, errors = 0;
  for (size_t i = 0; i < kFuseOpCount; ++i) {
    requests += metrics_.requests(static_cast<FuseOp>(i));
    errors += metrics_.errors(static_cast<FuseOp>(i));
  }
  std::ostringstream o;
  o << "{\"store\":" << JsonString(r.store_dir)
    << ",\"mounted\":" << (r.mounted ? "true" : "false")
    << ",\"read_only\":" << (r.read_only ? "true" : "false")
    << ",\"chunk_size\":" << r.chunk_size
    << ",\"inodes\":" << r.inodes << ",\"reclaim_pending\":" << r.reclaim.pending
    << ",\"inline_files\":" << r.inline_files << ",\"inline_bytes\":" << r.inline_bytes
    << ",\"hot_objects\":" << s.hot_objects << ",\"hot_bytes\":" << s.hot_bytes
    << ",\"hot_stored_bytes\":" << s.hot_stored_bytes
    << ",\"hot_capacity\":" << r.policy.hot_capacity
    << ",\"hot_high_bytes\":" << HighWatermark(r.policy)
    << ",\"hot_low_bytes\":" << LowWatermark(r.policy)
    << ",\"cold_tier\":" << JsonString(store_->ColdTier())
    << ",\"cold_objects\":" << s.cold_objects << ",\"cold_bytes\":" << s.cold_bytes
    << ",\"cold_stored_bytes\":" << s.cold_stored_bytes
    << ",\"saved_bytes\":" << SavedBytes(s)
    << ",\"damaged_objects\":" << s.damaged_objects
    << ",\"promotions\":" << s.promotions << ",\"demotions\":" << s.demotions
    << ",\"moves_abandoned\":" << s.moves_abandoned
    << ",\"buffer_pool\":{\"bytes_preallocated\":" << s.pool.bytes_preallocated
    << ",\"leases\":" << s.pool.leases << ",\"pool_hits\":" << s.pool.pool_hits
    << ",\"overflow_allocations\":" << s.pool.overflow_allocations
    << ",\"failed_allocations\":" << s.pool.failed_allocations
    << ",\"in_use\":" << s.pool.in_use << "}"
    << ",\"frame_cache\":{\"capacity\":" << s.cache.capacity << ",\"bytes\":" << s.cache.bytes
    << ",\"hits\":" << s.cache.hits << ",\"misses\":" << s.cache.misses
    << ",\"evictions\":" << s.cache.evictions << "}"
    << ",\"migrator\":{\"passes\":" << m.passes << ",\"last_pass_ns\":" << m.last_pass_ns
    << ",\"queued\":" << m.queued << ",\"demoted\":" << m.demoted
    << ",\"promoted\":" << m.promoted << ",\"bytes_moved\":" << m.bytes_moved
    << ",\"demoted_bytes\":" << m.demoted_bytes << ",\"promoted_bytes\":" << m.promoted_bytes
    << ",\"failed_moves\":" << m.failed_moves
    << ",\"errors\":" << m.errors << "}"
    << ",\"reclaimer\":{\"reclaimed\":" << r.reclaim.reclaimed
    << ",\"batches\":" << r.reclaim.batches << ",\"errors\":" << r.reclaim.errors << "}"
    << ",\"io\":{\"read_hot_bytes\":" << metrics_.read_bytes(ReadSource::kHot)
    << ",\"read_cold_bytes\":" << metrics_.read_bytes(ReadSource::kCold)
    << ",\"read_hole_bytes\":" << metrics_.read_bytes(ReadSource::kHole)
    << ",\"read_inline_bytes\":" << metrics_.read_bytes(ReadSource::kInline)
    << ",\"written_bytes\":" << metrics_.written_bytes() << ",\"requests\":" << requests
    << ",\"request_errors\":" << errors << "}}";
  return o.str();
}

Result<std::string> Filesystem::ExplainJson(uint64_t ino, uint64_t first) {
  TIERFS_ASSIGN_OR_RETURN(uint64_t size, FileSize(ino));
  ExplainContext x;
  x.policy = config_.policy;
  x.promote_window_ns = store_->options().promote_window_ns;
  x.rate_bytes_per_sec = migrator_options_.rate_bytes_per_sec;
  x.interval_ns = migrator_options_.interval_ms * 1000000;
  x.migrator_running = !read_only_;
  const bool pinned = store_->IsPinned(ino);
  // Any reader of the file may ask, as often as it likes: the cost is a
  // page of the file's objects (one ranged listing from chunk `first`, of
  // at most kMaxExplainChunks + 1, under the store's lock only for that
  // copy) and, per object, the policy's judgement with the store-wide
  // input — the hot bytes — taken from the migrator's count
  // (MigratorStats::hot_bytes), never from a scan or a plan over the store.
  const std::vector<ObjectInfo> objects =
      store_->ListGroup(ino, first, std::numeric_limits<uint64_t>::max(), kMaxExplainChunks + 1);
  x.now_ns = env_->NowNanos();
  std::string out;
  std::optional<uint64_t> next_chunk;
  {
    MutexLock lock(&migrator_mu_);  // SetReadOnly may replace migrator_
    const MigratorStats m = migrator_->stats();
    x.last_pass_ns = m.last_pass_ns;
    x.hot_bytes = m.hot_bytes;
    out = ExplainHeaderJson(ino, size, chunk_size_, pinned, x);
    bool any = false;
    size_t count = 0;
    for (const ObjectInfo& o : objects) {
      if (count++ == kMaxExplainChunks) {
        next_chunk = o.key.index;
        break;
      }
      ChunkFacts c{o, pinned,
                   OutlookOf(o, pinned, x.hot_bytes, x.policy, x.promote_window_ns, x.now_ns),
                   migrator_->QueuedMoveOf(o.key)};
      std::string chunk = ChunkJson(c, x);
      if (any && out.size() + chunk.size() + 64 > kMaxExplainBytes) {
        next_chunk = o.key.index;
        break;
      }
      out += (any ? "," : "") + chunk;
      any = true;
    }
  }
  out += "],\"next_chunk\":" + (next_chunk ? std::to_string(*next_chunk) : "null") + "}";
  return out;
}

Status Filesystem::SetXattr(uint64_t ino, const std::string& name, const std::string& value,
                            int flags, const Caller& caller) {
  if (name == "user.tierfs.readonly" && (value == "1" || value == "0")) {
    TIERFS_RETURN_IF_ERROR(RootOnly(caller, name));
    return SetReadOnly(value == "1");
  }
  TIERFS_RETURN_IF_ERROR(Writable());
  if (IsControl(name)) {
    if (name == "user.tierfs.pin" && (value == "1" || value == "0")) {
      TIERFS_RETURN_IF_ERROR(OwnerOrRoot(ino, caller, name));
      return SetPinned(ino, value == "1");
    }
    if (name == "user.tierfs.migrate" && (value == "hot" || value == "cold")) {
      TIERFS_RETURN_IF_ERROR(OwnerOrRoot(ino, caller, name));
      return Migrate(ino, value == "hot" ? Tier::kHot : Tier::kCold);
    }
    return Status::Posix(EINVAL, "unknown tierfs control " + name + "=" + value);
  }
  TIERFS_RETURN_IF_ERROR(CheckNamespace(name));
  XattrMode mode = XattrMode::kAny;
  if (flags & XATTR_CREATE) mode = XattrMode::kCreate;
  if (flags & XATTR_REPLACE) mode = XattrMode::kReplace;
  TIERFS_RETURN_IF_ERROR(meta_->SetXattr(ino, name, value, mode));
  xattrs_.Add(ino);
  return Status::OK();
}

Result<std::string> Filesystem::GetXattr(uint64_t ino, const std::string& name,
                                         const Caller& caller) {
  if (name == "user.tierfs.where") {
    FsUsage u = UsageOf(ino);
    std::ostringstream o;
    o << "{\"hot_bytes\":" << u.hot_bytes << ",\"cold_bytes\":" << u.cold_bytes
      << ",\"stored_bytes\":" << u.stored_bytes << ",\"inline_bytes\":" << u.inline_bytes
      << ",\"pinned\":" << (u.pinned ? "true" : "false")
      << ",\"cold_tier\":" << JsonString(store_->ColdTier()) << "}";
    return o.str();
  }
  if (name == "user.tierfs.status") {
    TIERFS_RETURN_IF_ERROR(RootOnly(caller, name));
    return StatusJson();
  }
  if (name == kExplainControl) return ExplainJson(ino, 0);
  if (name.rfind(std::string(kExplainControl) + "@", 0) == 0) {
    uint64_t first = 0;
    const std::string n = name.substr(kExplainControl.size() + 1);
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), first);
    if (n.empty() || ec != std::errc() || p != n.data() + n.size()) {
      return Status::Posix(EINVAL, "bad chunk number in " + name);
    }
    return ExplainJson(ino, first);
  }
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
  if (IsControl(name)) return Status::Posix(EINVAL, "tierfs controls cannot be removed");
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
  TIERFS_ASSIGN_OR_RETURN(FsSpace hot, env_->StatFs(store_->options().hot_dir));
  TIERFS_ASSIGN_OR_RETURN(uint64_t inodes, meta_->InodeCount());
  struct statvfs sv {};
  sv.f_bsize = sv.f_frsize = hot.block_size;
  sv.f_blocks = hot.total_bytes / hot.block_size;
  sv.f_bfree = sv.f_bavail = hot.free_bytes / hot.block_size;
  sv.f_files = inodes + hot.free_inodes;
  sv.f_ffree = sv.f_favail = hot.free_inodes;
  sv.f_namemax = kMaxNameLen;
  return sv;
}

}  // namespace tierfs
