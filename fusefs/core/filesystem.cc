// Filesystem: opening a store, the inode table and the namespace operations.
// Data operations are in filesystem_data.cc, xattrs, statfs and the
// report in filesystem_xattr.cc.
#include "fusefs/core/filesystem.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "fusefs/core/store_settings.h"

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
    : config_(config),
      env_(env),
      clock_(env),
      reserve_(env, config.store_dir),
      read_only_(config.read_only) {}

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

Status Filesystem::SetReadOnly(bool read_only) {
  MutexLock order(&migrator_mu_);
  if (read_only == read_only_) return Status::OK();
  if (config_.read_only) {
    return Status::Posix(EROFS,
                         "mounted with -o ro (store opened read-only): unmount and "
                         "mount it again to write");
  }
  if (read_only) {
    read_only_ = true;
    migrator_->Stop();
    spdlog::info("read-only (remount,ro): changes refused, the migrator stopped");
    return SyncAll();
  }
  read_only_ = false;
  MigratorOptions mig = migrator_options_;
  migrator_ = std::make_unique<Migrator>(store_.get(), config_.policy, mig);
  migrator_->Start();
  spdlog::info("read-write (remount,rw): the migrator runs again");
  return Status::OK();
}

Filesystem::~Filesystem() {
  {
    MutexLock lock(&migrator_mu_);
    if (migrator_) migrator_->Stop();
  }
  if (writeback_) writeback_->Stop();
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
  fs->journal_ =
      std::make_unique<Journal>(Journal::Hooks{[f] { f->reserve_.ReleaseIfNearlyFull(); }});
  MetadataOptions mo;
  mo.synchronous_full = config.sync_full;
  mo.read_only = config.read_only;
  mo.create_if_missing = !config.read_only;
  mo.group_commit = !config.read_only;
  mo.batch_opened = [j = fs->journal_.get()] { j->Opened(); };
  mo.vfs = config.sqlite_vfs;
  TIERFS_ASSIGN_OR_RETURN(fs->meta_, MetadataStore::Open(config.store_dir + "/meta.db", mo));
  if (wrap) fs->meta_ = wrap(std::move(fs->meta_));
  fs->inodes_ =
      std::make_unique<InodeTable>(fs->meta_.get(), &fs->clock_, config.atime, &fs->read_only_,
                                   [f](uint64_t ino) { f->reclaimer_->Enqueue(ino); });
  fs->writeback_ =
      std::make_unique<AttrWriteback>(fs->inodes_.get(), fs->meta_.get(), &fs->clock_, [f] {
        // once there is room again
        if (!f->reserve_.present() && !f->read_only_) {
          f->reserve_.Ensure();
        }
      });
  fs->journal_->Start(fs->meta_.get());
  TIERFS_ASSIGN_OR_RETURN(StoreSettings settings, LoadStoreSettings(*fs->meta_, config));
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
      Reclaimer::Hooks{
          [f](const std::function<Status()>& op) { return f->reserve_.FreeingSpace(op); },
          [f](std::span<const uint64_t> inos) { f->xattrs_.Remove(inos); },
          [f] { return f->journal_->CommitDurably(); }});
  fs->inline_ = std::make_unique<InlineFiles>(fs->inodes_.get(), fs->meta_.get(), fs->store_.get(),
                                              fs->reclaimer_.get(), config.inline_max);
  if (!config.read_only) {  // read-only changes nothing in the store
    TIERFS_RETURN_IF_ERROR(fs->Recover());
    fs->reclaimer_->Start();
    fs->reserve_.Ensure();
  }
  TIERFS_ASSIGN_OR_RETURN(auto with_xattrs, fs->meta_->InodesWithXattrs());
  fs->xattrs_.Add(with_xattrs);
  TIERFS_ASSIGN_OR_RETURN(auto pinned, fs->meta_->ListPinned());
  for (uint64_t ino : pinned) fs->store_->SetPinned(ino, true);
  MigratorOptions& mig = fs->migrator_options_;
  mig.rate_bytes_per_sec = config.migrate_rate;
  int64_t cold_ms = config.policy.cold_after_ns / 1000000;
  mig.interval_ms = std::clamp<int64_t>(cold_ms / 2, 100, 5000);
  {
    MutexLock lock(&fs->migrator_mu_);
    fs->migrator_ = std::make_unique<Migrator>(fs->store_.get(), config.policy, mig);
    if (!config.read_only) fs->migrator_->Start();
  }
  fs->writeback_->Start();
  return fs;
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
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, inodes_->Remember(seen, read));
  return ToStat(a);
}

bool Filesystem::Forget(uint64_t ino, uint64_t nlookup) { return inodes_->Forget(ino, nlookup); }

// ---- namespace ---------------------------------------------------------------

Result<struct stat> Filesystem::Lookup(uint64_t parent, const std::string& name) {
  // "." and ".." come only from the kernel's export operations (an NFS
  // file handle or open_by_handle_at of an inode it no longer caches).
  if (name == ".") return LookupDot(parent);
  if (name == "..") {
    TIERFS_ASSIGN_OR_RETURN(uint64_t up, meta_->ParentOf(parent));
    return LookupDot(up);
  }
  const uint64_t seen = inodes_->WriteBacks();
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->Lookup(parent, name));
  return Remember(seen, a);
}

Result<struct stat> Filesystem::LookupDot(uint64_t ino) {
  const uint64_t seen = inodes_->WriteBacks();
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->GetAttr(ino));
  // An unlinked inode is gone for a file handle (ESTALE), even while open.
  if (a.nlink == 0) return Status::NotFound("inode " + std::to_string(ino) + " is unlinked");
  return Remember(seen, a);
}

Result<struct stat> Filesystem::GetAttr(uint64_t ino) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, Attr(ino));
  return ToStat(a);
}

Result<struct stat> Filesystem::SetAttr(uint64_t ino, const SetAttrRequest& req,
                                        const Caller& caller) {
  inodes_->Changed(ino);
  if (req.ctime) clock_.SawKernelTime(*req.ctime);
  if (!req.mode && !req.uid && !req.gid && !req.size && (req.atime || req.mtime)) {
    // Times only on a file (the writeback cache sends one after most writes;
    // touch, tar and cp -p set them): cached like a write's, written back
    // later. Directories' times also change by namespace operations in
    // SQLite, so theirs go there directly.
    TIERFS_ASSIGN_OR_RETURN(InodeAttr cur, Attr(ino));
    if (S_ISREG(cur.mode)) {
      inodes_->SetTimes(ino, cur, req.mtime, req.atime, req.ctime);
      TIERFS_ASSIGN_OR_RETURN(InodeAttr a, Attr(ino));
      return ToStat(a);
    }
  }
  // (Times only are cached as above even while read-only: the kernel sends
  // them when it flushes pages it accepted before a remount to read-only.)
  TIERFS_RETURN_IF_ERROR(Writable());
  // Held throughout, so no write-back of older cached values lands after ours.
  return writeback_->WriteBackThen(
      ino, [&]() -> Result<struct stat> {
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
        // The set-id bits a truncate by an unprivileged caller clears (the
        // kernel's own kill-priv sends nothing for S_ISGID without
        // group-exec), and those a chown clears when the kernel leaves it
        // to us (SetAttrRequest::kill_suidgid).
        uint32_t kill = 0;
        if (!req.mode && S_ISREG(a.mode)) {
          if (req.size) kill |= KillPrivBits(a.mode, a.gid, caller);
          if (req.kill_suidgid && (req.uid || req.gid)) {
            kill |= a.mode & (S_ISUID | ((a.mode & S_IXGRP) ? S_ISGID : 0));
          }
        }
        if (kill != 0) {
          AttrUpdate k;
          k.mode = a.mode & 07777 & ~kill;
          TIERFS_ASSIGN_OR_RETURN(a, meta_->SetAttr(ino, k, Now()));
        }
        if (req.size) inodes_->Truncated(ino, *req.size);
        return ToStat(a);
      });
}

Result<struct stat> Filesystem::CreateNode(uint64_t parent, const std::string& name,
                                           const NewNode& n) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, RetryAfterFrees(*reclaimer_, [&] {
                            return meta_->Create(parent, name, n, Now());
                          }));
  TIERFS_RETURN_IF_ERROR(DirSync());
  return Remember(inodes_->WriteBacks(), a);  // new: nothing of it cached
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
  return RemoveEntry(parent, name, /*dir=*/false);
}

Status Filesystem::Rmdir(uint64_t parent, const std::string& name) {
  return RemoveEntry(parent, name, /*dir=*/true);
}

Status Filesystem::RemoveEntry(uint64_t parent, const std::string& name, bool dir) {
  TIERFS_RETURN_IF_ERROR(Writable());
  InodeAttr a;
  TIERFS_RETURN_IF_ERROR(reserve_.FreeingSpace([&]() -> Status {
    TIERFS_ASSIGN_OR_RETURN(
        a, dir ? meta_->Rmdir(parent, name, Now()) : meta_->Unlink(parent, name, Now()));
    return Status::OK();
  }));
  inodes_->Unlinked(a);
  return DirSync();
}

Status Filesystem::Rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                          const std::string& new_name, RenameMode mode) {
  TIERFS_RETURN_IF_ERROR(Writable());
  RenameResult r;
  TIERFS_RETURN_IF_ERROR(reserve_.FreeingSpace([&]() -> Status {
    TIERFS_ASSIGN_OR_RETURN(r, meta_->Rename(parent, name, new_parent, new_name, mode, Now()));
    return Status::OK();
  }));
  if (r.replaced) inodes_->Unlinked(*r.replaced);
  return DirSync();
}

Result<struct stat> Filesystem::Link(uint64_t ino, uint64_t new_parent,
                                     const std::string& new_name) {
  TIERFS_RETURN_IF_ERROR(Writable());
  TIERFS_RETURN_IF_ERROR(writeback_->WriteBack(ino));
  const uint64_t seen = inodes_->WriteBacks();
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->Link(ino, new_parent, new_name, Now()));
  inodes_->Changed(ino);
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
  Status st =
      ReadDir(ino, after, [&](const std::string& name, const struct stat& brief, uint64_t cookie) {
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

Result<OpenResult> Filesystem::Open(uint64_t ino, bool truncate, bool reads_atime, bool for_write,
                                    const Caller& caller) {
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
  if (reads_atime && inodes_->AtimeDue(ino)) {
    r.keep_cache = false;  // the next read must reach us
    // ... but a read of an empty file never does (the kernel answers it at
    // EOF), so its atime moves now.
    TIERFS_ASSIGN_OR_RETURN(uint64_t size, FileSize(ino));
    if (size == 0) {
      inodes_->SetAtimeNow(ino);
      r.attr_changed = true;
    }
  }
  inodes_->Opened(ino, for_write);
  return r;
}

Result<struct stat> Filesystem::Create(uint64_t parent, const std::string& name, uint32_t mode,
                                       const Caller& caller, bool for_write) {
  TIERFS_ASSIGN_OR_RETURN(struct stat st,
                          MakeNode(parent, name, S_IFREG | (mode & 07777), 0, caller));
  inodes_->Created(st.st_ino, for_write,
                   config_.inline_max > 0 ? Layout::kEmpty : Layout::kObjects);
  return st;
}

Status Filesystem::Release(uint64_t ino, bool for_write) {
  inodes_->Closed(ino, for_write);
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
  return reserve_.FreeingSpace([&]() -> Status {
    TIERFS_RETURN_IF_ERROR(writeback_->WriteBack(ino));
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
  Status st = writeback_ ? writeback_->WriteBack(std::nullopt) : Status::OK();
  // A checkpoint besides: the database file holds everything, the log is
  // empty for the next open.
  Status synced = journal_->Commit();
  if (synced.ok()) synced = meta_->Sync();
  if (!data.ok()) return data;
  return st.ok() ? synced : st;
}

}  // namespace tierfs
