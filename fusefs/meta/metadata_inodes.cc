// SqliteMetadataStore: whole-inode operations (pins, orphans, batched deletion,
// iteration, counting) and Sync. Thread-safe: each method takes mu_, except
// that ForEachInode calls its callback without it (see metadata_sqlite.h).
#include <algorithm>
#include <cerrno>

#include "fusefs/meta/metadata_sqlite.h"

namespace tierfs {

Result<std::vector<uint64_t>> SqliteMetadataStore::ListInos(const char* sql) {
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt, db_->Prepare(sql));
  std::vector<uint64_t> inos;
  for (;;) {
    TIERFS_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return inos;
    inos.push_back(stmt.Int64(0));
  }
}

Result<size_t> SqliteMetadataStore::ReadInline(uint64_t ino, uint64_t offset,
                                               std::span<std::byte> out) {
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT substr(data, ?, ?) FROM inline_data WHERE ino = ?"));
  stmt.Bind(static_cast<int64_t>(offset) + 1).Bind(static_cast<int64_t>(out.size()));
  TIERFS_ASSIGN_OR_RETURN(bool found, stmt.Bind(static_cast<int64_t>(ino)).Step());
  if (!found) return Status::NotFound("inode " + std::to_string(ino) + " has no inline data");
  const std::span<const std::byte> bytes = stmt.BlobView(0);
  const size_t n = std::min(bytes.size(), out.size());
  std::copy_n(bytes.begin(), n, out.begin());
  return n;
}

Status SqliteMetadataStore::SetInline(uint64_t ino,
                                      std::optional<std::span<const std::byte>> data) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, LoadInode(ino));
  if (data) {
    TIERFS_ASSIGN_OR_RETURN(
        SqliteStmt put,
        db_->Prepare("INSERT OR REPLACE INTO inline_data(ino, data) VALUES (?, ?)"));
    TIERFS_RETURN_IF_ERROR(
        put.Bind(static_cast<int64_t>(ino))
            .BindBlob({reinterpret_cast<const char*>(data->data()), data->size()})
            .Run());
  } else {
    TIERFS_ASSIGN_OR_RETURN(SqliteStmt drop, db_->Prepare("DELETE FROM inline_data WHERE ino = ?"));
    TIERFS_RETURN_IF_ERROR(drop.Bind(static_cast<int64_t>(ino)).Run());
  }
  if (a.inline_data == data.has_value()) return Status::OK();  // the flag is right already
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt flag,
                          db_->Prepare("UPDATE inodes SET inline = ? WHERE ino = ?"));
  TIERFS_RETURN_IF_ERROR(flag.Bind(data ? 1 : 0).Bind(static_cast<int64_t>(ino)).Run());
  a.inline_data = data.has_value();
  Stage(ino, a);
  return Status::OK();
}

Status SqliteMetadataStore::WriteInline(uint64_t ino, std::span<const std::byte> data) {
  return Write([&] { return SetInline(ino, data); });
}

Status SqliteMetadataStore::DropInline(uint64_t ino) {
  return Write([&] { return SetInline(ino, std::nullopt); });
}

Result<std::pair<uint64_t, uint64_t>> SqliteMetadataStore::InlineUsage() {
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(
      SqliteStmt stmt,
      db_->Prepare("SELECT count(*), coalesce(sum(length(data)), 0) FROM inline_data"));
  TIERFS_RETURN_IF_ERROR(stmt.Step().status());
  return std::pair<uint64_t, uint64_t>(stmt.Int64(0), stmt.Int64(1));
}

Result<uint64_t> SqliteMetadataStore::TrimInline() {
  return Write([&]() -> Result<uint64_t> {
    TIERFS_ASSIGN_OR_RETURN(
        SqliteStmt trim,
        db_->Prepare(
            "UPDATE inline_data SET data = substr(data, 1, "
            "(SELECT size FROM inodes WHERE inodes.ino = inline_data.ino)) "
            "WHERE length(data) > (SELECT size FROM inodes WHERE inodes.ino = inline_data.ino)"));
    TIERFS_RETURN_IF_ERROR(trim.Run());
    return static_cast<uint64_t>(sqlite3_changes(db_->handle()));
  });
}

Status SqliteMetadataStore::SetPinned(uint64_t ino, bool pinned) {
  return Write([&]() -> Status {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr a, LoadInode(ino));
    a.pinned = pinned;
    return StoreInode(a);
  });
}

Result<std::vector<uint64_t>> SqliteMetadataStore::ListPinned() {
  std::lock_guard lock(mu_);
  return ListInos("SELECT ino FROM inodes WHERE pinned <> 0 ORDER BY ino");
}

Result<std::vector<uint64_t>> SqliteMetadataStore::InodesWithXattrs() {
  std::lock_guard lock(mu_);
  return ListInos("SELECT DISTINCT ino FROM xattrs ORDER BY ino");
}

Result<std::vector<uint64_t>> SqliteMetadataStore::ListOrphans() {
  std::lock_guard lock(mu_);
  return ListInos("SELECT ino FROM inodes WHERE nlink = 0 ORDER BY ino");
}

Status SqliteMetadataStore::DeleteInodes(std::span<const uint64_t> inos) {
  if (inos.empty()) return Status::OK();
  return Write([&]() -> Status {
    for (uint64_t ino : inos) {
      TIERFS_ASSIGN_OR_RETURN(InodeAttr a, LoadInode(ino));
      if (a.nlink > 0) {
        return Status::InvalidArgument("inode " + std::to_string(ino) + " still has " +
                                       std::to_string(a.nlink) + " links");
      }
      TIERFS_ASSIGN_OR_RETURN(SqliteStmt xattrs, db_->Prepare("DELETE FROM xattrs WHERE ino = ?"));
      TIERFS_RETURN_IF_ERROR(xattrs.Bind(ino).Run());
      if (a.inline_data) {
        TIERFS_ASSIGN_OR_RETURN(SqliteStmt bytes,
                                db_->Prepare("DELETE FROM inline_data WHERE ino = ?"));
        TIERFS_RETURN_IF_ERROR(bytes.Bind(ino).Run());
      }
      TIERFS_ASSIGN_OR_RETURN(SqliteStmt inode, db_->Prepare("DELETE FROM inodes WHERE ino = ?"));
      TIERFS_RETURN_IF_ERROR(inode.Bind(ino).Run());
      Stage(ino, std::nullopt);
    }
    return Status::OK();
  });
}

Status SqliteMetadataStore::ForEachInode(const std::function<bool(const InodeAttr&)>& fn) {
  std::vector<InodeAttr> batch;
  uint64_t after = 0;
  do {
    batch.clear();
    {
      std::lock_guard lock(mu_);
      TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                              db_->Prepare("SELECT " TIERFS_INODE_COLUMNS
                                           " FROM inodes WHERE ino > ? ORDER BY ino LIMIT ?"));
      stmt.Bind(static_cast<int64_t>(after)).Bind(kBatchRows);
      for (;;) {
        TIERFS_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        batch.push_back(ReadInodeRow(stmt));
      }
    }
    for (const InodeAttr& a : batch) {
      if (!fn(a)) return Status::OK();
      after = a.ino;
    }
  } while (batch.size() == kBatchRows);
  return Status::OK();
}

Result<uint64_t> SqliteMetadataStore::InodeCount() {
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt, db_->Prepare("SELECT count(*) FROM inodes"));
  TIERFS_RETURN_IF_ERROR(stmt.Step().status());
  return static_cast<uint64_t>(stmt.Int64(0));
}

Result<uint64_t> SqliteMetadataStore::LastIno() {
  std::lock_guard lock(mu_);
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT seq FROM sqlite_sequence WHERE name = 'inodes'"));
  TIERFS_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<uint64_t>(stmt.Int64(0)) : kRootIno;
}

Status SqliteMetadataStore::Sync() {
  std::lock_guard lock(mu_);
  if (read_only_) return Status::OK();
  if (lost_.load()) return lost_status_;
  TIERFS_RETURN_IF_ERROR(CommitBatch());
  // Copies the WAL into the database file and fsyncs both. RESTART, not
  // TRUNCATE: the next commit writes the WAL from its start again, into
  // blocks it already has (and that MetadataStore::Open preallocated), so
  // that a commit does not need new space on a nearly full disk.
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt, db_->Prepare("PRAGMA wal_checkpoint(RESTART)"));
  TIERFS_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (row && stmt.Int64(0) != 0) return Status::Busy("WAL checkpoint blocked by a reader");
  return Status::OK();
}

}  // namespace tierfs
