// SqliteMetadataStore: row helpers, attributes, readdir, xattrs and settings. Thread-safe: each
// method takes mu_ (see metadata_sqlite.h); helpers expect the caller to hold it.
#include "fusefs/meta/metadata_sqlite.h"

#include <sys/stat.h>

#include <cerrno>

namespace tierfs {
namespace {

constexpr size_t kMaxXattrName = 255;
constexpr size_t kMaxXattrValue = 64 * 1024;

std::string InodeName(uint64_t ino) { return "inode " + std::to_string(ino); }

Status CheckXattrName(std::string_view name) {
  if (name.empty() || name.size() > kMaxXattrName) {
    return Status::Posix(ERANGE, "xattr name length " + std::to_string(name.size()));
  }
  return Status::OK();
}

}  // namespace

InodeAttr ReadInodeRow(const SqliteStmt& stmt) {
  InodeAttr a;
  a.ino = stmt.Int64(0);
  a.mode = stmt.Int64(1);
  a.uid = stmt.Int64(2);
  a.gid = stmt.Int64(3);
  a.size = stmt.Int64(4);
  a.nlink = stmt.Int64(5);
  a.rdev = stmt.Int64(6);
  a.atime = {stmt.Int64(7), stmt.Int64(8)};
  a.mtime = {stmt.Int64(9), stmt.Int64(10)};
  a.ctime = {stmt.Int64(11), stmt.Int64(12)};
  a.pinned = stmt.Int64(13) != 0;
  a.inline_data = stmt.Int64(14) != 0;
  return a;
}

Result<InodeAttr> SqliteMetadataStore::LoadInode(uint64_t ino) {
  if (in_write_) {
    for (auto it = staged_.rbegin(); it != staged_.rend(); ++it) {
      if (it->first != ino) continue;
      if (!it->second) return Status::NotFound(InodeName(ino));
      return *it->second;
    }
  }
  if (auto it = attrs_.find(ino); it != attrs_.end()) return it->second;
  TIERFS_ASSIGN_OR_RETURN(
      SqliteStmt stmt, db_->Prepare("SELECT " TIERFS_INODE_COLUMNS " FROM inodes WHERE ino = ?"));
  TIERFS_ASSIGN_OR_RETURN(bool found, stmt.Bind(ino).Step());
  if (!found) return Status::NotFound(InodeName(ino));
  InodeAttr a = ReadInodeRow(stmt);
  CacheRow(a);  // not written by this transaction (staged_ said so): committed
  return a;
}

void SqliteMetadataStore::CacheRow(const InodeAttr& a) {
  if (attrs_.size() >= kAttrCacheEntries && !attrs_.count(a.ino)) {
    attrs_.erase(attrs_.begin());  // any one: the kernel's own caches keep the hot ones warm
  }
  attrs_.insert_or_assign(a.ino, a);
}

void SqliteMetadataStore::Stage(uint64_t ino, std::optional<InodeAttr> row) {
  staged_.emplace_back(ino, std::move(row));
}

void SqliteMetadataStore::Unstage(bool committed) {
  for (const auto& [ino, row] : staged_) {
    if (committed && row) {
      CacheRow(*row);
    } else {
      attrs_.erase(ino);
    }
  }
  staged_.clear();
}

Status SqliteMetadataStore::BeginWrite() {
  if (read_only_) return Status::Posix(EROFS, "metadata store is open read-only");
  if (lost_.load()) return lost_status_;
  if (!group_commit_ || batch_ops_ == 0) {
    // IMMEDIATE takes the write lock now, so a writer never fails half-way
    // with SQLITE_BUSY.
    TIERFS_RETURN_IF_ERROR(db_->Run("BEGIN IMMEDIATE"));
  }
  if (group_commit_) {
    if (Status st = db_->Run("SAVEPOINT op"); !st.ok()) {
      if (batch_ops_ == 0) (void)db_->Run("ROLLBACK");  // the empty batch just begun
      return st;
    }
  }
  staged_.clear();
  in_write_ = true;
  return Status::OK();
}

Status SqliteMetadataStore::EndWrite(bool ok) {
  in_write_ = false;
  sqlite3* h = db_->handle();
  if (!group_commit_) {
    Status committed = ok ? db_->Run("COMMIT") : Status::OK();
    // SQLite may already have rolled back by itself (e.g. SQLITE_FULL).
    if ((!ok || !committed.ok()) && !sqlite3_get_autocommit(h)) (void)db_->Run("ROLLBACK");
    Unstage(ok && committed.ok());
    return committed;
  }
  if (ok) {
    Status released = db_->Run("RELEASE op");
    if (released.ok()) {
      Unstage(true);
      if (++batch_ops_ == 1 && batch_opened_) batch_opened_();
      return batch_ops_ >= kMaxBatchOps ? CommitBatch() : Status::OK();
    }
    ok = false;
  }
  Unstage(false);
  if (sqlite3_get_autocommit(h)) {
    // The error rolled back more than this call: the whole batch (SQLite
    // does so after some I/O errors). Without calls before it nothing was lost.
    if (batch_ops_ > 0)
      return MarkLost(Status::IOError("a failed namespace change rolled back the batch"));
    return Status::OK();
  }
  Status undone = db_->Run("ROLLBACK TO op");
  if (undone.ok()) undone = db_->Run("RELEASE op");
  if (!undone.ok()) return MarkLost(undone);
  if (batch_ops_ == 0) return db_->Run("ROLLBACK");  // nothing else in the batch
  return Status::OK();
}

Status SqliteMetadataStore::CommitBatch() {
  if (batch_ops_ == 0) return Status::OK();
  const uint64_t ops = batch_ops_;
  Status st = db_->Run("COMMIT");
  if (st.ok()) {
    batch_ops_ = 0;
    return st;
  }
  if (!sqlite3_get_autocommit(db_->handle())) return st;  // still open: can be committed later
  return MarkLost(st.WithContext("committing a batch of " + std::to_string(ops) + " changes"));
}

Status SqliteMetadataStore::MarkLost(const Status& why) {
  if (!sqlite3_get_autocommit(db_->handle())) (void)db_->Run("ROLLBACK");
  batch_ops_ = 0;
  attrs_.clear();  // it held rows of the batch
  lost_status_ =
      Status::IOError("namespace changes since the last commit are lost (" + why.ToString() +
                      "); the store refuses changes until it is mounted again");
  lost_.store(true);
  return lost_status_;
}

Status SqliteMetadataStore::Commit() {
  std::lock_guard lock(mu_);
  if (lost_.load()) return lost_status_;
  return CommitBatch();
}

Status SqliteMetadataStore::CommitDurably() {
  std::lock_guard lock(mu_);
  if (read_only_) return Status::OK();
  if (lost_.load()) return lost_status_;
  TIERFS_RETURN_IF_ERROR(CommitBatch());
  return db_->SyncLog();
}

Status SqliteMetadataStore::health() {
  if (!lost_.load()) return Status::OK();
  std::lock_guard lock(mu_);
  return lost_status_;
}

SqliteMetadataStore::~SqliteMetadataStore() {
  std::lock_guard lock(mu_);
  (void)CommitBatch();
}

Result<InodeAttr> SqliteMetadataStore::LoadDir(uint64_t ino) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr dir, LoadInode(ino));
  if (!S_ISDIR(dir.mode)) return Status::Posix(ENOTDIR, InodeName(ino) + " is not a directory");
  return dir;
}

Result<InodeAttr*> SqliteMetadataStore::LoadInto(InodeSet& set, uint64_t ino) {
  auto it = set.find(ino);
  if (it == set.end()) {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr attr, LoadInode(ino));
    it = set.emplace(ino, attr).first;
  }
  return &it->second;
}

Status SqliteMetadataStore::StoreInode(const InodeAttr& a) {
  TIERFS_ASSIGN_OR_RETURN(
      SqliteStmt stmt,
      db_->Prepare("UPDATE inodes SET mode = ?, uid = ?, gid = ?, size = ?, nlink = ?, rdev = ?, "
                   "atime_sec = ?, atime_nsec = ?, mtime_sec = ?, mtime_nsec = ?, "
                   "ctime_sec = ?, ctime_nsec = ?, pinned = ? WHERE ino = ?"));
  TIERFS_RETURN_IF_ERROR(stmt.Bind(a.mode)
                             .Bind(a.uid)
                             .Bind(a.gid)
                             .Bind(static_cast<int64_t>(a.size))
                             .Bind(a.nlink)
                             .Bind(static_cast<int64_t>(a.rdev))
                             .Bind(a.atime.sec)
                             .Bind(a.atime.nsec)
                             .Bind(a.mtime.sec)
                             .Bind(a.mtime.nsec)
                             .Bind(a.ctime.sec)
                             .Bind(a.ctime.nsec)
                             .Bind(a.pinned ? 1 : 0)
                             .Bind(static_cast<int64_t>(a.ino))
                             .Run());
  Stage(a.ino, a);
  return Status::OK();
}

Status SqliteMetadataStore::StoreAll(const InodeSet& set) {
  for (const auto& [ino, attr] : set) TIERFS_RETURN_IF_ERROR(StoreInode(attr));
  return Status::OK();
}

Result<std::optional<SqliteMetadataStore::Entry>> SqliteMetadataStore::FindEntry(
    uint64_t parent, std::string_view name) {
  TIERFS_ASSIGN_OR_RETURN(
      SqliteStmt stmt, db_->Prepare("SELECT id, ino FROM dentries WHERE parent = ? AND name = ?"));
  TIERFS_ASSIGN_OR_RETURN(bool found, stmt.Bind(parent).BindBlob(name).Step());
  if (!found) return std::optional<Entry>();
  return std::optional<Entry>(Entry{stmt.Int64(0), static_cast<uint64_t>(stmt.Int64(1))});
}

Result<SqliteMetadataStore::Entry> SqliteMetadataStore::FindExisting(uint64_t parent,
                                                                     std::string_view name) {
  TIERFS_ASSIGN_OR_RETURN(std::optional<Entry> entry, FindEntry(parent, name));
  if (!entry) return Status::NotFound(std::string(name));
  return *entry;
}

Result<bool> SqliteMetadataStore::HasEntries(uint64_t dir) {
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT 1 FROM dentries WHERE parent = ? LIMIT 1"));
  return stmt.Bind(dir).Step();
}

Status SqliteMetadataStore::InsertEntry(uint64_t parent, std::string_view name, uint64_t ino) {
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("INSERT INTO dentries(parent, name, ino) VALUES (?, ?, ?)"));
  return stmt.Bind(parent).BindBlob(name).Bind(ino).Run();
}

Status SqliteMetadataStore::DeleteEntry(int64_t id) {
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt, db_->Prepare("DELETE FROM dentries WHERE id = ?"));
  return stmt.Bind(id).Run();
}

Result<std::string> SqliteMetadataStore::GetSetting(std::string_view key) {
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt, db_->Prepare("SELECT value FROM meta WHERE key = ?"));
  TIERFS_ASSIGN_OR_RETURN(bool found, stmt.BindText(key).Step());
  if (!found) return Status::NotFound("setting " + std::string(key));
  return stmt.Blob(0);
}

Status SqliteMetadataStore::SetSetting(std::string_view key, std::string_view value) {
  if (key == "schema_version") return Status::Posix(EPERM, "schema_version is not a setting");
  return Write([&]() -> Status {
    TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                            db_->Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"));
    return stmt.BindText(key).BindText(value).Run();
  });
}

Result<InodeAttr> SqliteMetadataStore::GetAttr(uint64_t ino) {
  std::lock_guard lock(mu_);
  return LoadInode(ino);
}

Result<InodeAttr> SqliteMetadataStore::Lookup(uint64_t parent, std::string_view name) {
  TIERFS_RETURN_IF_ERROR(ValidateName(name));
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT " TIERFS_INODE_COLUMNS " FROM inodes WHERE ino = "
                                       "(SELECT ino FROM dentries WHERE parent = ? AND name = ?)"));
  TIERFS_ASSIGN_OR_RETURN(bool found, stmt.Bind(parent).BindBlob(name).Step());
  if (found) {
    InodeAttr a = ReadInodeRow(stmt);
    CacheRow(a);
    return a;
  }
  // A miss: tell a missing name from a missing or non-directory parent.
  TIERFS_RETURN_IF_ERROR(LoadDir(parent).status());
  return Status::NotFound(std::string(name));
}

Result<uint64_t> SqliteMetadataStore::ParentOf(uint64_t dir) {
  if (dir == kRootIno) return dir;
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT parent FROM dentries WHERE ino = ? LIMIT 1"));
  TIERFS_ASSIGN_OR_RETURN(bool found, stmt.Bind(dir).Step());
  if (!found) return Status::NotFound(InodeName(dir) + " is not linked");
  return static_cast<uint64_t>(stmt.Int64(0));
}

Result<InodeAttr> SqliteMetadataStore::ApplyAttr(uint64_t ino, const AttrUpdate& u, Timespec now) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, LoadInode(ino));
  if (u.size) {
    if (S_ISDIR(a.mode)) return Status::Posix(EISDIR, "truncate of a directory");
    if (!S_ISREG(a.mode)) return Status::Posix(EINVAL, "truncate of a special file");
    a.size = *u.size;
  }
  if (u.mode) a.mode = (a.mode & S_IFMT) | (*u.mode & ~S_IFMT);
  if (u.uid) a.uid = *u.uid;
  if (u.gid) a.gid = *u.gid;
  if (u.atime) a.atime = *u.atime;
  if (u.mtime) a.mtime = *u.mtime;
  const bool changed = u.size || u.mode || u.uid || u.gid || u.atime || u.mtime;
  if (u.ctime) {
    a.ctime = *u.ctime;
  } else if (changed && !u.keep_ctime) {
    a.ctime = now;
  }
  TIERFS_RETURN_IF_ERROR(StoreInode(a));
  return a;
}

Result<InodeAttr> SqliteMetadataStore::SetAttr(uint64_t ino, const AttrUpdate& u, Timespec now) {
  return Write([&]() { return ApplyAttr(ino, u, now); });
}

Status SqliteMetadataStore::SetAttrs(const std::vector<std::pair<uint64_t, AttrUpdate>>& updates,
                                     Timespec now) {
  return Write([&]() -> Status {
    for (const auto& [ino, u] : updates) {
      auto r = ApplyAttr(ino, u, now);
      if (!r.ok() && !r.status().IsNotFound()) return r.status();  // NotFound: deleted since
    }
    return Status::OK();
  });
}

Result<std::string> SqliteMetadataStore::ReadLink(uint64_t ino) {
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT mode, symlink_target FROM inodes WHERE ino = ?"));
  TIERFS_ASSIGN_OR_RETURN(bool found, stmt.Bind(ino).Step());
  if (!found) return Status::NotFound(InodeName(ino));
  if (!S_ISLNK(stmt.Int64(0))) return Status::Posix(EINVAL, InodeName(ino) + " is not a symlink");
  return stmt.Blob(1);
}

Status SqliteMetadataStore::ReadDir(uint64_t ino, uint64_t after,
                                    const std::function<bool(const DirEntry&)>& fn) {
  std::vector<DirEntry> batch;
  do {
    batch.clear();
    {
      std::lock_guard lock(mu_);
      TIERFS_RETURN_IF_ERROR(LoadDir(ino).status());
      TIERFS_ASSIGN_OR_RETURN(
          SqliteStmt stmt, db_->Prepare("SELECT d.id, d.name, d.ino, i.mode FROM dentries d "
                                        "JOIN inodes i ON i.ino = d.ino "
                                        "WHERE d.parent = ? AND d.id > ? ORDER BY d.id LIMIT ?"));
      stmt.Bind(ino).Bind(static_cast<int64_t>(after)).Bind(kBatchRows);
      for (;;) {
        TIERFS_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        batch.push_back(DirEntry{stmt.Blob(1), static_cast<uint64_t>(stmt.Int64(2)),
                                 static_cast<uint32_t>(stmt.Int64(3)),
                                 static_cast<uint64_t>(stmt.Int64(0))});
      }
    }
    for (const DirEntry& e : batch) {
      if (!fn(e)) return Status::OK();
      after = e.cookie;
    }
  } while (batch.size() == kBatchRows);
  return Status::OK();
}

Status SqliteMetadataStore::SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                                     XattrMode mode) {
  TIERFS_RETURN_IF_ERROR(CheckXattrName(name));
  if (value.size() > kMaxXattrValue) {
    return Status::Posix(E2BIG, "xattr value of " + std::to_string(value.size()) + " bytes");
  }
  return Write([&]() -> Status {
    TIERFS_RETURN_IF_ERROR(LoadInode(ino).status());
    TIERFS_ASSIGN_OR_RETURN(SqliteStmt find,
                            db_->Prepare("SELECT 1 FROM xattrs WHERE ino = ? AND name = ?"));
    TIERFS_ASSIGN_OR_RETURN(bool exists, find.Bind(ino).BindBlob(name).Step());
    if (exists && mode == XattrMode::kCreate) return Status::Exists("xattr " + std::string(name));
    if (!exists && mode == XattrMode::kReplace) {
      return Status::Posix(ENODATA, "xattr " + std::string(name));
    }
    TIERFS_ASSIGN_OR_RETURN(
        SqliteStmt set,
        db_->Prepare("INSERT OR REPLACE INTO xattrs(ino, name, value) VALUES (?, ?, ?)"));
    return set.Bind(ino).BindBlob(name).BindBlob(value).Run();
  });
}

Result<std::string> SqliteMetadataStore::GetXattr(uint64_t ino, std::string_view name) {
  TIERFS_RETURN_IF_ERROR(CheckXattrName(name));
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT value FROM xattrs WHERE ino = ? AND name = ?"));
  TIERFS_ASSIGN_OR_RETURN(bool found, stmt.Bind(ino).BindBlob(name).Step());
  if (found) return stmt.Blob(0);
  TIERFS_RETURN_IF_ERROR(LoadInode(ino).status());
  return Status::Posix(ENODATA, "xattr " + std::string(name));
}

Result<std::vector<std::string>> SqliteMetadataStore::ListXattr(uint64_t ino) {
  std::lock_guard lock(mu_);
  TIERFS_RETURN_IF_ERROR(LoadInode(ino).status());
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT name FROM xattrs WHERE ino = ? ORDER BY name"));
  stmt.Bind(ino);
  std::vector<std::string> names;
  for (;;) {
    TIERFS_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return names;
    names.push_back(stmt.Blob(0));
  }
}

Status SqliteMetadataStore::RemoveXattr(uint64_t ino, std::string_view name) {
  TIERFS_RETURN_IF_ERROR(CheckXattrName(name));
  return Write([&]() -> Status {
    TIERFS_RETURN_IF_ERROR(LoadInode(ino).status());
    TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                            db_->Prepare("DELETE FROM xattrs WHERE ino = ? AND name = ?"));
    TIERFS_RETURN_IF_ERROR(stmt.Bind(ino).BindBlob(name).Run());
    if (sqlite3_changes(db_->handle()) == 0) {
      return Status::Posix(ENODATA, "xattr " + std::string(name));
    }
    return Status::OK();
  });
}

}  // namespace tierfs
