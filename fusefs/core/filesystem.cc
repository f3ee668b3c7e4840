// Filesystem: opening a store, the inode table and the namespace operations.
// Data operations are in filesystem_data.cc, xattrs, statfs and the
// report in filesystem_xattr.cc.
#include "fusefs/core/filesystem.h"

#include "fusefs/core/store_settings.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

namespace tierfs {

namespace {

// A store whose meta.db is missing or empty but which holds objects has lost
// its namespace; creating a fresh one would orphan every object (and fsck
// --repair would then delete them). Refuse instead.
Status CheckNamespaceNotLost(Env* env, const std::string& store_dir) {
  auto db = env->Stat(store_dir + "/meta.db");
  if (db.ok() && db->size > 0) return Status::OK();
  if (!db.ok() && !db.status().IsNotFound()) return db.status();
  for (const char* tier : {"/hot", "/cold"}) {
    auto shards = env->ListDir(store_dir + tier);
    if (!shards.ok()) continue;
    for (const std::string& shard : *shards) {
      auto objects = env->ListDir(store_dir + tier + "/" + shard);
      if (objects.ok() && !objects->empty()) {
        return Status::Corruption(store_dir + "/meta.db is " + (db.ok() ? "empty" : "missing") +
                                  " but the store holds objects (" + store_dir + tier + "/" +
                                  shard + "/" + objects->front() +
                                  "); refusing to start an empty namespace over them");
      }
    }
  }
  return Status::OK();
}

}  // namespace

bool Caller::InGroup(uint32_t g) const {
  if (uid == 0 || gid == g) return true;
  if (!groups) groups = load_groups ? load_groups() : std::vector<uint32_t>{};
  return std::find(groups->begin(), groups->end(), g) != groups->end();
}

uint32_t KillPrivBits(uint32_t mode, uint32_t file_gid, const Caller& caller) {
  if (caller.uid == 0 || !S_ISREG(mode)) return 0;
  uint32_t kill = mode & S_ISUID;
  if ((mode & S_ISGID) && ((mode & S_IXGRP) || !caller.InGroup(file_gid))) kill |= S_ISGID;
  return kill;
}

Result<bool> Filesystem::KillPriv(uint64_t ino, const Caller& caller) {
  if (caller.uid == 0) return false;
  TIERFS_ASSIGN_OR_RETURN(InodeAttr cur, Attr(ino));
  const uint32_t kill = KillPrivBits(cur.mode, cur.gid, caller);
  if (kill == 0) return false;
  SetAttrRequest req;
  req.mode = cur.mode & 07777 & ~kill;
  TIERFS_RETURN_IF_ERROR(SetAttr(ino, req).status());
  return true;
}

Filesystem::Filesystem(const MountConfig& config, Env* env)
    : config_(config), env_(env), read_only_(config.read_only) {}

Status Filesystem::Writable() const {
  if (read_only_) return Status::Posix(EROFS, "tierfs is mounted read-only");
  return meta_->health();
}

Status Filesystem::DirSync() { return config_.dirsync ? SyncMeta() : Status::OK(); }

Status Filesystem::SyncMeta() { return journal_->CommitDurably(); }

Status Filesystem::FsyncDir() {
  // Only a store opened read-only has nothing to sync: a mount switched to
  // read-only at run time may still hold changes made before the switch
  // (see Fsync).
  if (config_.read_only) return Status::OK();
  return SyncMeta();
}

void Filesystem::ReserveForCommit() {
  if (!reserve_present_) return;
  auto space = env_->StatFs(config_.store_dir);
  if (!space.ok() || space->free_bytes >= 2 * kReserveBytes) return;
  if (!reserve_present_.exchange(false)) return;
  spdlog::warn("store is nearly full: releasing the {} MiB reserve for SQLite's commit",
               kReserveBytes >> 20);
  (void)env_->Unlink(config_.store_dir + "/reserve");
}

Status Filesystem::SetReadOnly(bool read_only) {
  std::lock_guard order(migrator_mu_);
  if (read_only == read_only_) return Status::OK();
  if (config_.read_only) {
    return Status::Posix(EROFS, "mounted with -o ro (store opened read-only): unmount and "
                                "mount it again to write");
  }
  if (read_only) {
    read_only_ = true;
    migrator_->Stop();
    return SyncAll();
  }
  read_only_ = false;
  MigratorOptions mig = migrator_options_;
  migrator_ = std::make_unique<Migrator>(store_.get(), config_.policy, mig);
  migrator_->Start();
  return Status::OK();
}

Filesystem::~Filesystem() {
  if (migrator_) migrator_->Stop();
  {
    std::lock_guard lock(mu_);
    stop_writeback_ = true;
  }
  writeback_cv_.notify_all();
  if (writeback_.joinable()) writeback_.join();
  if (reclaimer_) reclaimer_->Stop();  // frees all it has queued
  (void)SyncAll();
  if (journal_) journal_->Stop();
}

Result<std::unique_ptr<Filesystem>> Filesystem::Open(const MountConfig& config, Env* env,
                                                     const MetadataWrap& wrap) {
  std::unique_ptr<Filesystem> fs(new Filesystem(config, env));
  if (!config.read_only && !env->Stat(config.store_dir).ok()) {
    TIERFS_RETURN_IF_ERROR(env->MkDir(config.store_dir));
    // A new store's own entry must be durable before anything in it is, or
    // a power cut takes the store with every fsync'ed file in it.
    TIERFS_RETURN_IF_ERROR(env->SyncDir(ParentDir(config.store_dir)));
  }
  // One process per store: take the lock before reading or changing anything
  // (read-only: the existing lock file, opened read-only, if there is one).
  if (!config.read_only) {
    TIERFS_ASSIGN_OR_RETURN(fs->lock_, env->LockFile(config.store_dir + "/LOCK"));
  } else {
    auto lock = env->LockExistingFile(config.store_dir + "/LOCK");
    if (lock.ok()) {
      fs->lock_ = std::move(lock).value();
    } else if (!lock.status().IsNotFound()) {
      return lock.status();
    }
  }
  TIERFS_RETURN_IF_ERROR(CheckNamespaceNotLost(env, config.store_dir));
  Filesystem* f = fs.get();
  fs->journal_ = std::make_unique<Journal>(Journal::Hooks{[f] { f->ReserveForCommit(); }});
  MetadataOptions mo;
  mo.synchronous_full = config.sync_full;
  mo.read_only = config.read_only;
  mo.create_if_missing = !config.read_only;
  mo.group_commit = !config.read_only;
  mo.batch_opened = [j = fs->journal_.get()] { j->Opened(); };
  mo.vfs = config.sqlite_vfs;
  TIERFS_ASSIGN_OR_RETURN(fs->meta_, MetadataStore::Open(config.store_dir + "/meta.db", mo));
  if (wrap) fs->meta_ = wrap(std::move(fs->meta_));
  fs->journal_->Start(fs->meta_.get());
  TIERFS_ASSIGN_OR_RETURN(StoreSettings settings,
                          LoadStoreSettings(*fs->meta_, config));
  // A store's recorded settings (its id names its cold objects) are
  // durable before anything is stored under them. So is the namespace just
  // read, which may sit in a WAL a killed daemon left unsynced: recovery
  // removes objects on its strength, and a power cut must not bring back
  // rows whose objects are gone.
  TIERFS_RETURN_IF_ERROR(fs->SyncMeta());
  fs->chunk_size_ = settings.chunk_size;
  fs->handle_key_ = settings.handle_key;
  StoreOptions so = ObjectStoreOptions(settings);
  so.compression = config.compression;
  so.read_only = config.read_only;
  so.buffer_pool_bytes = config.buffer_pool;
  so.frame_cache_bytes = config.cache_size;
  TIERFS_ASSIGN_OR_RETURN(fs->store_, ObjectStore::Open(env, config.store_dir, so));
  fs->reclaimer_ = std::make_unique<Reclaimer>(
      fs->meta_.get(), fs->store_.get(),
      Reclaimer::Hooks{[f](const std::function<Status()>& op) { return f->FreeingSpace(op); },
                       [f](std::span<const uint64_t> inos) {
                         std::lock_guard lock(f->mu_);
                         for (uint64_t ino : inos) f->xattr_inodes_.erase(ino);
                       },
                       [f] { return f->journal_->CommitDurably(); }});
  if (!config.read_only) {  // read-only changes nothing in the store
    TIERFS_RETURN_IF_ERROR(fs->Recover());
    fs->reclaimer_->Start();
    fs->EnsureReserve();
  }
  TIERFS_ASSIGN_OR_RETURN(auto with_xattrs, fs->meta_->InodesWithXattrs());
  fs->xattr_inodes_.insert(with_xattrs.begin(), with_xattrs.end());
  TIERFS_ASSIGN_OR_RETURN(auto pinned, fs->meta_->ListPinned());
  for (uint64_t ino : pinned) fs->store_->SetPinned(ino, true);
  MigratorOptions& mig = fs->migrator_options_;
  mig.rate_bytes_per_sec = config.migrate_rate;
  int64_t cold_ms = config.policy.cold_after_ns / 1000000;
  mig.interval_ms = std::clamp<int64_t>(cold_ms / 2, 100, 5000);
  fs->migrator_ = std::make_unique<Migrator>(fs->store_.get(), config.policy, mig);
  if (!config.read_only) fs->migrator_->Start();
  fs->writeback_ = std::thread([f = fs.get()] { f->WritebackLoop(); });
  return fs;
}

void Filesystem::EnsureReserve() {
  const std::string path = config_.store_dir + "/reserve";
  auto existing = env_->Stat(path);
  if (existing.ok()) {
    // Taken for the reserve only at its exact size. Anything else — a file
    // the store did not create, or a reserve a crash cut short while it was
    // written — is left as it is: the store never overwrites a file it
    // cannot tell it made.
    if (existing->size == kReserveBytes) {
      reserve_present_ = true;
    } else {
      spdlog::warn("{} is {} bytes, not the {} MiB reserve tierfs makes: left as it is, and "
                   "the store has no reserve for a full disk (remove the file to get one)",
                   path, existing->size, kReserveBytes >> 20);
    }
    return;
  }
  if (!existing.status().IsNotFound()) return;
  auto space = env_->StatFs(config_.store_dir);
  if (!space.ok() || space->free_bytes < 4 * kReserveBytes) return;
  // exclusive: should a file appear meanwhile, it is not ours to fill.
  auto f = env_->Open(path, OpenOptions{.write = true, .create = true, .exclusive = true});
  if (!f.ok()) return;
  std::vector<std::byte> zeros(1 << 20);
  Status st;
  for (uint64_t off = 0; st.ok() && off < kReserveBytes; off += zeros.size()) {
    st = (*f)->PWrite(off, zeros);
  }
  if (st.ok()) st = (*f)->Sync();
  if (!st.ok()) {
    (void)env_->Unlink(path);
    return;
  }
  reserve_present_ = true;
}

Status Filesystem::FreeingSpace(const std::function<Status()>& op) {
  Status st = op();
  if (!st.IsNoSpace() || !reserve_present_.exchange(false)) return st;
  // The disk is full and SQLite cannot log the very change that would free
  // space: give it the reserve, then try once more.
  spdlog::warn("store is full: releasing the {} MiB reserve to let deletions through",
               kReserveBytes >> 20);
  (void)env_->Unlink(config_.store_dir + "/reserve");
  return op();
}

namespace {
Timespec FromNanos(int64_t ns) { return Timespec{ns / 1000000000, ns % 1000000000}; }
int64_t ToNanos(const Timespec& t) { return t.sec * 1000000000 + t.nsec; }
}  // namespace

Timespec Filesystem::Now() {
  const int64_t coarse = env_->CoarseNowNanos();
  int64_t kernel = kernel_time_ns_.load(std::memory_order_relaxed);
  if (kernel <= coarse) return FromNanos(coarse);
  // No kernel stamp is ahead of the fine clock: one that is was taken
  // before the clock was set back, and is forgotten.
  if (kernel > env_->NowNanos()) {
    kernel_time_ns_.compare_exchange_strong(kernel, 0, std::memory_order_relaxed);
    return FromNanos(coarse);
  }
  return FromNanos(kernel);
}

Timespec Filesystem::FineNow() { return FromNanos(env_->NowNanos()); }

// ---- inode table -------------------------------------------------------------

bool Filesystem::Overlay(InodeAttr* a, uint64_t seen) {
  std::lock_guard lock(mu_);
  if (write_backs_ != seen) return false;
  auto it = inodes_.find(a->ino);
  if (it == inodes_.end()) return true;
  const Inode& n = it->second;
  if (n.size_known) a->size = n.size;
  if (n.atime) a->atime = *n.atime;
  if (n.dirty) {
    a->mtime = n.mtime;
    auto later = [](const Timespec& x, const Timespec& y) {
      return x.sec != y.sec ? x.sec > y.sec : x.nsec > y.nsec;
    };
    if (later(n.ctime, a->ctime)) a->ctime = n.ctime;
  }
  return true;
}

uint64_t Filesystem::WriteBacks() {
  std::lock_guard lock(mu_);
  return write_backs_;
}

Result<InodeAttr> Filesystem::Overlaid(uint64_t seen, InodeAttr a) {
  while (!Overlay(&a, seen)) {
    // A write-back committed cached values and dropped them after `a` was
    // read: `a` may hold SQLite's older ones. Read again.
    seen = WriteBacks();
    TIERFS_ASSIGN_OR_RETURN(a, meta_->GetAttr(a.ino));
  }
  return a;
}

Result<InodeAttr> Filesystem::Attr(uint64_t ino) {
  const uint64_t seen = WriteBacks();
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->GetAttr(ino));
  return Overlaid(seen, a);
}

Result<uint64_t> Filesystem::FileSize(uint64_t ino) {
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard lock(mu_);
      auto it = inodes_.find(ino);
      if (it != inodes_.end() && it->second.size_known) return it->second.size;
      seen = write_backs_;
    }
    TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->GetAttr(ino));
    std::lock_guard lock(mu_);
    if (write_backs_ != seen) continue;  // a.size may be older than one written back since
    Inode& n = inodes_[ino];
    if (!n.size_known) {
      n.size = a.size;
      n.size_known = true;
    }
    return n.size;
  }
}

struct stat Filesystem::ToStat(const InodeAttr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_rdev = a.rdev;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 128 * 1024;
  if (S_ISREG(a.mode)) {
    const uint64_t stored = a.inline_data ? a.size : store_->UsageOf(a.ino).stored_bytes;
    st.st_blocks = static_cast<blkcnt_t>((stored + 511) / 512);
  } else {
    st.st_blocks = S_ISDIR(a.mode) ? 8 : 0;
  }
  st.st_atim = {a.atime.sec, a.atime.nsec};
  st.st_mtim = {a.mtime.sec, a.mtime.nsec};
  st.st_ctim = {a.ctime.sec, a.ctime.nsec};
  return st;
}

Result<struct stat> Filesystem::Remember(uint64_t seen, const InodeAttr& read) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, Overlaid(seen, read));
  {
    std::lock_guard lock(mu_);
    ++inodes_[a.ino].lookups;
  }
  return ToStat(a);
}

bool Filesystem::Forget(uint64_t ino, uint64_t nlookup) {
  uint64_t had = 0;
  bool known = false;
  {
    std::lock_guard lock(mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end()) {
      known = true;
      had = it->second.lookups;
      it->second.lookups -= std::min(had, nlookup);
    }
  }
  if (had < nlookup) {
    // The kernel forgets only what we answered: a lookup we counted less
    // often than we sent (or freed early) is a bug of ours. The daemon
    // goes on: the inode is freed as if the counts had matched.
    spdlog::error("bug: the kernel forgot {} lookups of inode {}, which had {}{}", nlookup, ino,
                  had, known ? "" : " (not in the inode table)");
  }
  if (known) MaybeFree(ino);
  return had >= nlookup;
}

Status Filesystem::WriteBack(std::optional<uint64_t> only) {
  std::lock_guard order(writeback_mu_);
  return WriteBackLocked(only);
}

Status Filesystem::WriteBackLocked(std::optional<uint64_t> only) {
  std::vector<std::pair<uint64_t, AttrUpdate>> updates;
  {
    std::lock_guard lock(mu_);
    // The cached values stay in place (and keep answering getattr) until
    // they are committed: cleared before, a getattr meanwhile would read
    // SQLite's older ones.
    auto take = [&](uint64_t ino, Inode& n) {
      if (!n.pending()) return;
      AttrUpdate u;
      if (n.dirty) {
        if (n.size_known) u.size = n.size;
        u.mtime = n.mtime;
        u.ctime = n.ctime;
      } else {
        u.keep_ctime = !n.atime_touches_ctime;
      }
      u.atime = n.atime;
      updates.emplace_back(ino, u);
    };
    if (only) {
      auto it = inodes_.find(*only);
      if (it != inodes_.end()) take(it->first, it->second);
    } else {
      for (auto& [ino, n] : inodes_) take(ino, n);
    }
  }
  if (updates.empty()) return Status::OK();
  Status st = meta_->SetAttrs(updates, Now());
  if (!st.ok()) return st;  // all still pending: tried again at the next write-back
  std::lock_guard lock(mu_);
  ++write_backs_;  // what is dropped below: a getattr that read SQLite before the commit reads again
  for (const auto& [ino, u] : updates) {
    auto it = inodes_.find(ino);
    if (it == inodes_.end()) continue;
    Inode& n = it->second;
    // What changed again since it was taken stays pending.
    if (n.dirty && u.mtime && n.mtime == *u.mtime && n.ctime == *u.ctime &&
        (!u.size || n.size == *u.size)) {
      n.dirty = false;
    }
    if (n.atime && u.atime && *n.atime == *u.atime) {
      n.atime.reset();
      n.atime_touches_ctime = true;
    }
    if (n.lookups == 0 && n.opens == 0 && !n.pending() && !n.unlinked) {
      inodes_.erase(it);  // nothing left to remember
    }
  }
  return st;
}

Status Filesystem::FlushAttr(uint64_t ino) { return WriteBack(ino); }

void Filesystem::WritebackLoop() {
  std::unique_lock lock(mu_);
  while (!stop_writeback_) {
    writeback_cv_.wait_for(lock, kWritebackInterval, [this] { return stop_writeback_; });
    if (stop_writeback_) break;
    lock.unlock();
    // An exception here would end the daemon (std::terminate): log it and
    // try again at the next interval, as for an error.
    try {
      Status st = WriteBack(std::nullopt);
      if (!st.ok()) spdlog::error("writing back file sizes and times: {}", st.ToString());
      if (!reserve_present_ && !read_only_) EnsureReserve();  // once there is room again
    } catch (const std::exception& e) {
      spdlog::error("write-back thread: unexpected exception: {}", e.what());
    } catch (...) {
      spdlog::error("write-back thread: unexpected exception");
    }
    lock.lock();
  }
}

void Filesystem::MaybeFree(uint64_t ino) {
  {
    std::lock_guard lock(mu_);
    auto it = inodes_.find(ino);
    if (it == inodes_.end()) return;
    Inode& n = it->second;
    if (n.lookups > 0 || n.opens > 0) return;
    if (!n.unlinked) {
      // Still linked: forget it once its cached attributes are written back.
      if (!n.pending()) inodes_.erase(it);
      return;
    }
    inodes_.erase(it);
  }
  // Unlinked, closed and forgotten: its objects and row go in the
  // background (a crash first leaves an orphan that the next mount frees).
  reclaimer_->Enqueue(ino);
}

void Filesystem::Dropped(const InodeAttr& a) {
  Changed(a.ino);
  if (a.nlink > 0 || a.ino == kRootIno) return;
  {
    std::lock_guard lock(mu_);
    inodes_[a.ino].unlinked = true;
  }
  MaybeFree(a.ino);
}

// ---- namespace ---------------------------------------------------------------

Result<struct stat> Filesystem::Lookup(uint64_t parent, const std::string& name) {
  // "." and ".." come only from the kernel's export operations (an NFS
  // file handle or open_by_handle_at of an inode it no longer caches).
  if (name == ".") return LookupDot(parent);
  if (name == "..") {
    TIERFS_ASSIGN_OR_RETURN(uint64_t up, meta_->ParentOf(parent));
    return LookupDot(up);
  }
  const uint64_t seen = WriteBacks();
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->Lookup(parent, name));
  return Remember(seen, a);
}

Result<struct stat> Filesystem::LookupDot(uint64_t ino) {
  const uint64_t seen = WriteBacks();
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->GetAttr(ino));
  // An unlinked inode is gone for a file handle (ESTALE), even while open.
  if (a.nlink == 0) return Status::NotFound("inode " + std::to_string(ino) + " is unlinked");
  return Remember(seen, a);
}

void Filesystem::Changed(uint64_t ino) {
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) it->second.atime_fresh = false;
}

bool Filesystem::AtimeDue(uint64_t ino) {
  if (config_.atime == AtimeMode::kNoatime || read_only_) return false;
  if (config_.atime == AtimeMode::kStrictatime) return true;
  {
    std::lock_guard lock(mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end()) {
      // A writer's cached writes carry an mtime we have not seen: take
      // atime as due, as relatime would once they land.
      if (it->second.write_opens > 0) return true;
      if (it->second.atime_fresh) return false;
    }
  }
  auto a = Attr(ino);
  if (!a.ok()) return false;
  auto not_after = [](const Timespec& x, const Timespec& y) {
    return x.sec != y.sec ? x.sec < y.sec : x.nsec <= y.nsec;
  };
  const bool due = not_after(a->atime, a->mtime) || not_after(a->atime, a->ctime) ||
                   Now().sec - a->atime.sec >= 24 * 3600;
  if (!due) {
    std::lock_guard lock(mu_);
    inodes_[ino].atime_fresh = true;
  }
  return due;
}

bool Filesystem::TouchAtime(uint64_t ino) {
  if (!AtimeDue(ino)) return false;
  SetAtimeNow(ino);
  return true;
}

void Filesystem::SetAtimeNow(uint64_t ino) {
  const Timespec now = Now();
  const Timespec fine = FineNow();
  std::lock_guard lock(mu_);
  Inode& n = inodes_[ino];
  if (!n.atime) n.atime_touches_ctime = false;
  // A writer's cached writes carry an mtime the kernel stamped and has not
  // sent: at most the fine clock, which a read's atime takes then so that
  // the read leaves atime >= mtime (relatime's rule) once they land.
  n.atime = n.write_opens > 0 ? fine : now;
  n.atime_fresh = config_.atime == AtimeMode::kRelatime;
}

Result<struct stat> Filesystem::GetAttr(uint64_t ino) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, Attr(ino));
  return ToStat(a);
}

Result<struct stat> Filesystem::SetAttr(uint64_t ino, const SetAttrRequest& req,
                                        const Caller& caller) {
  Changed(ino);
  if (req.ctime) {  // a reading of the kernel's clock (see Now)
    const int64_t t = ToNanos(*req.ctime);
    int64_t seen = kernel_time_ns_.load(std::memory_order_relaxed);
    while (t > seen && !kernel_time_ns_.compare_exchange_weak(seen, t, std::memory_order_relaxed)) {
    }
  }
  if (!req.mode && !req.uid && !req.gid && !req.size && (req.atime || req.mtime)) {
    // Times only on a file (the writeback cache sends one after most writes;
    // touch, tar and cp -p set them): cached like a write's, written back
    // later. Directories' times also change by namespace operations in
    // SQLite, so theirs go there directly.
    TIERFS_ASSIGN_OR_RETURN(InodeAttr cur, Attr(ino));
    if (S_ISREG(cur.mode)) {
      {
        std::lock_guard lock(mu_);
        Inode& n = inodes_[ino];
        if (!n.size_known) {
          n.size = cur.size;
          n.size_known = true;
        }
        n.mtime = req.mtime.value_or(cur.mtime);
        if (req.atime) n.atime = req.atime;
        // The kernel's ctime when it sent one: it shows its own for a file
        // it caches writes of (ours, stamped when its pages landed, are later).
        n.ctime = req.ctime.value_or(Now());
        n.dirty = true;
        n.atime_touches_ctime = true;
      }
      TIERFS_ASSIGN_OR_RETURN(InodeAttr a, Attr(ino));
      return ToStat(a);
    }
  }
  // (Times only are cached as above even while read-only: the kernel sends
  // them when it flushes pages it accepted before a remount to read-only.)
  TIERFS_RETURN_IF_ERROR(Writable());
  // Held throughout, so no write-back of older cached values lands after ours.
  std::lock_guard order(writeback_mu_);
  TIERFS_RETURN_IF_ERROR(WriteBackLocked(ino));
  AttrUpdate u;
  u.mode = req.mode;
  if (u.mode && (*u.mode & S_ISGID) && caller.uid != 0) {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr cur, meta_->GetAttr(ino));
    if (!caller.InGroup(req.gid.value_or(cur.gid))) *u.mode &= ~S_ISGID;
  }
  u.uid = req.uid;
  u.gid = req.gid;
  u.atime = req.atime;
  u.mtime = req.mtime;
  u.ctime = req.ctime;
  if (req.size) {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr cur, meta_->GetAttr(ino));
    if (S_ISDIR(cur.mode)) return Status::Posix(EISDIR, "truncate of a directory");
    if (!S_ISREG(cur.mode)) return Status::Posix(EINVAL, "truncate of a special file");
    u.size = req.size;
    if (!req.mtime) u.mtime = req.ctime.value_or(Now());  // truncate changes mtime (POSIX)
  }
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->SetAttr(ino, u, Now()));
  if (req.size) TIERFS_RETURN_IF_ERROR(TruncateData(ino, *req.size));
  if (req.size && !req.mode && KillPrivBits(a.mode, a.gid, caller)) {
    // truncate by an unprivileged caller: the kernel's own kill-priv sends
    // nothing for S_ISGID without group-exec.
    AttrUpdate kill;
    kill.mode = a.mode & 07777 & ~KillPrivBits(a.mode, a.gid, caller);
    TIERFS_ASSIGN_OR_RETURN(a, meta_->SetAttr(ino, kill, Now()));
  }
  if (req.size) {
    std::lock_guard lock(mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end()) {
      it->second.size = *req.size;
      it->second.size_known = true;
    }
  }
  return ToStat(a);
}

Result<struct stat> Filesystem::CreateNode(uint64_t parent, const std::string& name,
                                           const NewNode& n) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a,
                          RetryAfterFrees([&] { return meta_->Create(parent, name, n, Now()); }));
  TIERFS_RETURN_IF_ERROR(DirSync());
  return Remember(WriteBacks(), a);  // new: nothing of it cached
}

Result<struct stat> Filesystem::MakeNode(uint64_t parent, const std::string& name, uint32_t mode,
                                         uint64_t rdev, const Caller& caller) {
  TIERFS_RETURN_IF_ERROR(Writable());
  NewNode n;
  n.mode = (mode & S_IFMT) | (mode & 07777 & ~caller.umask);
  n.uid = caller.uid;
  n.gid = caller.gid;
  n.rdev = rdev;
  return CreateNode(parent, name, n);
}

Result<struct stat> Filesystem::Symlink(uint64_t parent, const std::string& name,
                                        const std::string& target, const Caller& caller) {
  TIERFS_RETURN_IF_ERROR(Writable());
  if (target.size() >= 4096) return Status::Posix(ENAMETOOLONG, "symlink target too long");
  NewNode n;
  n.mode = S_IFLNK | 0777;
  n.uid = caller.uid;
  n.gid = caller.gid;
  n.symlink_target = target;
  return CreateNode(parent, name, n);
}

Result<std::string> Filesystem::ReadLink(uint64_t ino) { return meta_->ReadLink(ino); }

Status Filesystem::Unlink(uint64_t parent, const std::string& name) {
  TIERFS_RETURN_IF_ERROR(Writable());
  InodeAttr a;
  TIERFS_RETURN_IF_ERROR(FreeingSpace([&]() -> Status {
    TIERFS_ASSIGN_OR_RETURN(a, meta_->Unlink(parent, name, Now()));
    return Status::OK();
  }));
  Dropped(a);
  return DirSync();
}

Status Filesystem::Rmdir(uint64_t parent, const std::string& name) {
  TIERFS_RETURN_IF_ERROR(Writable());
  InodeAttr a;
  TIERFS_RETURN_IF_ERROR(FreeingSpace([&]() -> Status {
    TIERFS_ASSIGN_OR_RETURN(a, meta_->Rmdir(parent, name, Now()));
    return Status::OK();
  }));
  Dropped(a);
  return DirSync();
}

Status Filesystem::Rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                          const std::string& new_name, RenameMode mode) {
  TIERFS_RETURN_IF_ERROR(Writable());
  RenameResult r;
  TIERFS_RETURN_IF_ERROR(FreeingSpace([&]() -> Status {
    TIERFS_ASSIGN_OR_RETURN(r, meta_->Rename(parent, name, new_parent, new_name, mode, Now()));
    return Status::OK();
  }));
  if (r.replaced) Dropped(*r.replaced);
  return DirSync();
}

Result<struct stat> Filesystem::Link(uint64_t ino, uint64_t new_parent,
                                     const std::string& new_name) {
  TIERFS_RETURN_IF_ERROR(Writable());
  TIERFS_RETURN_IF_ERROR(FlushAttr(ino));
  const uint64_t seen = WriteBacks();
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->Link(ino, new_parent, new_name, Now()));
  Changed(ino);
  TIERFS_RETURN_IF_ERROR(DirSync());
  return Remember(seen, a);
}

Status Filesystem::ReadDir(
    uint64_t ino, uint64_t after,
    const std::function<bool(const std::string&, const struct stat&, uint64_t)>& fn) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr self, meta_->GetAttr(ino));
  if (!S_ISDIR(self.mode)) return Status::Posix(ENOTDIR, "not a directory");
  struct stat dot {};
  dot.st_ino = ino;
  dot.st_mode = S_IFDIR;
  if (after < 1 && !fn(".", dot, 1)) return Status::OK();
  if (after < 2 && !fn("..", dot, 2)) return Status::OK();
  return meta_->ReadDir(ino, after > 2 ? after - 2 : 0, [&](const DirEntry& e) {
    struct stat st {};
    st.st_ino = e.ino;
    st.st_mode = e.mode;
    return fn(e.name, st, e.cookie + 2);
  });
}

Status Filesystem::ReadDirPlus(
    uint64_t ino, uint64_t after,
    const std::function<bool(const std::string&, const struct stat&, uint64_t)>& fn) {
  bool any = false;  // fn took an entry: the kernel will count its lookup
  Status failed;
  Status st = ReadDir(ino, after, [&](const std::string& name, const struct stat& brief,
                                      uint64_t cookie) {
    if (name == "." || name == "..") {  // not looked up: the kernel counts no lookup
      if (!fn(name, brief, cookie)) return false;
      any = true;
      return true;
    }
    auto full = Lookup(ino, name);
    if (full.status().IsNotFound()) return true;  // removed meanwhile: skip it
    if (!full.ok()) {
      failed = full.status();
      return false;
    }
    if (!fn(name, *full, cookie)) {
      Forget(full->st_ino, 1);  // not sent: undo the lookup
      return false;
    }
    any = true;
    return true;
  });
  if (st.ok()) st = failed;
  // An error after entries were taken ends the listing there: those
  // entries' lookups are counted and reach the kernel only in the reply
  // (which it forgets later), and the kernel asks again from the last one,
  // meeting the error then (as libfuse's passthrough_hp answers).
  return any ? Status::OK() : st;
}

// ---- open files ----------------------------------------------------------------

Result<OpenResult> Filesystem::Open(uint64_t ino, bool truncate, bool reads_atime,
                                    bool for_write, const Caller& caller) {
  TIERFS_RETURN_IF_ERROR(FileSize(ino).status());
  OpenResult r;
  if (truncate) {
    // The kernel leaves O_TRUNC to us (FUSE_CAP_ATOMIC_O_TRUNC) and with it
    // the kill-priv of a truncate, which the VFS would do for an open.
    TIERFS_RETURN_IF_ERROR(Writable());
    SetAttrRequest req;
    req.size = 0;
    TIERFS_RETURN_IF_ERROR(SetAttr(ino, req).status());
    TIERFS_RETURN_IF_ERROR(KillPriv(ino, caller).status());
    r.attr_changed = true;
  } else if (for_write && caller.uid != 0) {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr cur, Attr(ino));
    r.kill_priv_on_write = KillPrivBits(cur.mode, cur.gid, caller) != 0;
  }
  if (reads_atime && AtimeDue(ino)) {
    r.keep_cache = false;  // the next read must reach us
    // ... but a read of an empty file never does (the kernel answers it at
    // EOF), so its atime moves now.
    TIERFS_ASSIGN_OR_RETURN(uint64_t size, FileSize(ino));
    if (size == 0) {
      SetAtimeNow(ino);
      r.attr_changed = true;
    }
  }
  std::lock_guard lock(mu_);
  Inode& n = inodes_[ino];
  ++n.opens;
  if (for_write) ++n.write_opens;
  return r;
}

Result<struct stat> Filesystem::Create(uint64_t parent, const std::string& name, uint32_t mode,
                                       const Caller& caller, bool for_write) {
  TIERFS_ASSIGN_OR_RETURN(struct stat st, MakeNode(parent, name, S_IFREG | (mode & 07777), 0,
                                                   caller));
  std::lock_guard lock(mu_);
  Inode& n = inodes_[st.st_ino];
  ++n.opens;
  if (for_write) ++n.write_opens;
  n.size = 0;
  n.size_known = true;
  n.layout = config_.inline_max > 0 ? Layout::kEmpty : Layout::kObjects;
  return st;
}

Status Filesystem::Release(uint64_t ino, bool for_write) {
  {
    std::lock_guard lock(mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end() && it->second.opens > 0) --it->second.opens;
    if (for_write && it != inodes_.end() && it->second.write_opens > 0) {
      --it->second.write_opens;
    }
  }
  MaybeFree(ino);
  return Status::OK();
}

Status Filesystem::Fsync(uint64_t ino, bool datasync) {
  // A store opened read-only (config_.read_only) cannot hold an unwritten
  // byte. A mount switched to read-only at run time (read_only_) can: the
  // kernel still flushes pages it accepted before the switch, so an fsync
  // must sync them like any other — the flag stops new changes, not
  // durability.
  if (config_.read_only) return Status::OK();
  TIERFS_RETURN_IF_ERROR(store_->SyncGroup(ino));
  // On a full disk the data may already sit in reserved (fallocated)
  // blocks; what SQLite needs to log the new size comes from the reserve.
  return FreeingSpace([&]() -> Status {
    TIERFS_RETURN_IF_ERROR(FlushAttr(ino));
    return SyncMeta();
  });
}

Status Filesystem::SyncAll() {
  if (!meta_) return Status::OK();
  if (reclaimer_ && !reclaimer_->Drain(kReclaimWait)) {
    spdlog::warn("{} unlinked inodes not freed yet; the next mount frees what is left",
                 reclaimer_->pending());
  }
  // Data before the namespace that covers it: sizes made durable over
  // unsynced object bytes would read as zeros after a power cut.
  Status data = store_ ? store_->SyncAll() : Status::OK();  // (null: Open failed)
  Status st = WriteBack(std::nullopt);
  // A checkpoint besides: the database file holds everything, the log is
  // empty for the next open.
  Status synced = journal_->Commit();
  if (synced.ok()) synced = meta_->Sync();
  if (!data.ok()) return data;
  return st.ok() ? synced : st;
}

}  // namespace tierfs
