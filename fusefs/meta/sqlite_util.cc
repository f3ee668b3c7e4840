// RAII helpers over the SQLite C API (see sqlite_util.h). Not thread-safe.
#include "fusefs/meta/sqlite_util.h"

#include <cassert>
#include <cerrno>
#include <utility>

namespace tierfs {

Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  // The connection's message describes the last failure on it; for a code
  // that did not come from the connection (or no connection) use the generic.
  const bool from_db = db != nullptr && sqlite3_extended_errcode(db) == rc;
  msg += from_db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return Status::NoSpace(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(msg));
    case SQLITE_NOMEM:
      return Status::NoMemory(std::move(msg));
    case SQLITE_READONLY:
      return Status::IOError(std::move(msg), EROFS);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: {
      const int err = db != nullptr ? sqlite3_system_errno(db) : 0;
      return Status::IOError(std::move(msg), err != 0 ? err : EIO);
    }
    default:
      return Status::IOError(std::move(msg), EIO);
  }
}

SqliteStmt::SqliteStmt(SqliteStmt&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      borrowed_(other.borrowed_),
      next_param_(other.next_param_),
      bind_rc_(other.bind_rc_) {}

SqliteStmt::~SqliteStmt() {
  if (stmt_ == nullptr) return;
  Reset();
  *borrowed_ = false;
}

void SqliteStmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  next_param_ = 1;
  bind_rc_ = SQLITE_OK;
}

SqliteStmt& SqliteStmt::NoteBind(int rc) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

SqliteStmt& SqliteStmt::Bind(int64_t value) {
  return NoteBind(sqlite3_bind_int64(stmt_, next_param_++, value));
}

SqliteStmt& SqliteStmt::BindBlob(std::string_view value) {
  // A null pointer would bind SQL NULL; an empty blob needs a non-null one.
  const char* data = value.data() != nullptr ? value.data() : "";
  return NoteBind(sqlite3_bind_blob64(stmt_, next_param_++, data, value.size(), SQLITE_TRANSIENT));
}

SqliteStmt& SqliteStmt::BindText(std::string_view value) {
  const char* data = value.data() != nullptr ? value.data() : "";
  return NoteBind(
      sqlite3_bind_text64(stmt_, next_param_++, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

SqliteStmt& SqliteStmt::BindNull() { return NoteBind(sqlite3_bind_null(stmt_, next_param_++)); }

Status SqliteStmt::Check(int rc) const { return SqliteStatus(db_, rc, sqlite3_sql(stmt_)); }

Result<bool> SqliteStmt::Step() {
  if (bind_rc_ != SQLITE_OK) return Check(bind_rc_);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Check(rc);
}

Status SqliteStmt::Run() {
  TIERFS_ASSIGN_OR_RETURN(bool row, Step());
  if (row) return Status::IOError(std::string("statement returned rows: ") + sqlite3_sql(stmt_));
  return Status::OK();
}

std::span<const std::byte> SqliteStmt::BlobView(int col) const {
  const void* data = sqlite3_column_blob(stmt_, col);
  const int size = sqlite3_column_bytes(stmt_, col);
  if (data == nullptr || size <= 0) return {};
  return {static_cast<const std::byte*>(data), static_cast<size_t>(size)};
}

std::string SqliteStmt::Blob(int col) const {
  const void* data = sqlite3_column_blob(stmt_, col);
  const int size = sqlite3_column_bytes(stmt_, col);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, int flags,
                                                 const std::string& vfs) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    Status st = SqliteStatus(raw, rc, "open " + path);
    sqlite3_close_v2(raw);  // a handle is returned even on failure (or null)
    return st;
  }
  sqlite3_extended_result_codes(raw, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(raw));
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, cached] : statements_) sqlite3_finalize(cached.stmt);
  sqlite3_close_v2(db_);
}

Status SqliteDb::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, sql);
  return Status::OK();
}

Status SqliteDb::SyncLog() {
  sqlite3_file* log = nullptr;
  int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "SQLITE_FCNTL_JOURNAL_POINTER");
  if (log == nullptr || log->pMethods == nullptr) return Status::OK();
  rc = log->pMethods->xSync(log, SQLITE_SYNC_NORMAL);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "syncing the WAL");
  return Status::OK();
}

Status SqliteDb::Run(std::string_view sql) {
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt stmt, Prepare(sql));
  return stmt.Run();
}

Result<SqliteStmt> SqliteDb::Prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "prepare " + std::string(sql));
    it = statements_.emplace(sql, Cached{stmt, false}).first;
  }
  Cached& cached = it->second;
  assert(!cached.borrowed);
  if (cached.borrowed) return Status::IOError("statement borrowed twice: " + std::string(sql));
  cached.borrowed = true;
  return SqliteStmt(db_, cached.stmt, &cached.borrowed);
}

SqliteTransaction::~SqliteTransaction() {
  // SQLite already rolled back by itself after some errors (e.g. SQLITE_FULL);
  // there is nothing useful to do if ROLLBACK itself fails.
  if (open_ && !sqlite3_get_autocommit(db_->handle())) (void)db_->Exec("ROLLBACK");
}

Status SqliteTransaction::Begin(bool immediate) {
  TIERFS_RETURN_IF_ERROR(db_->Exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  open_ = true;
  return Status::OK();
}

Status SqliteTransaction::Commit() {
  TIERFS_RETURN_IF_ERROR(db_->Exec("COMMIT"));
  open_ = false;
  return Status::OK();
}

}  // namespace tierfs
