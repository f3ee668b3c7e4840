// Small RAII layer over the SQLite C API for the metadata store: a connection
// that owns its cache of prepared statements, a borrowed statement that is
// reset when it goes out of scope, and a transaction guard that rolls back
// unless committed. SqliteStatus() is the one place where SQLite result codes
// become a Status.
//
// Thread-safety: none of these types is thread-safe. The owner of a SqliteDb
// (SqliteMetadataStore) serialises all use of a connection, and of every
// statement and transaction borrowed from it, behind one mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "compress/status.h"

namespace tierfs {

// Turns a SQLite result code into a Status: SQLITE_FULL -> NoSpace,
// SQLITE_CORRUPT/SQLITE_NOTADB -> Corruption, SQLITE_NOMEM -> NoMemory,
// anything else -> IOError. The message is "context: sqlite message".
Status SqliteStatus(sqlite3* db, int rc, std::string_view context);

// A prepared statement borrowed from SqliteDb's cache (one borrower at a
// time). Bind*() fill the parameters left to right; the destructor resets the
// statement and clears its bindings so that the next borrower starts clean.
// Must not outlive the SqliteDb it came from.
class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, sqlite3_stmt* stmt, bool* borrowed)
      : db_(db), stmt_(stmt), borrowed_(borrowed) {}
  SqliteStmt(SqliteStmt&& other) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  SqliteStmt& operator=(SqliteStmt&&) = delete;
  ~SqliteStmt();

  SqliteStmt& Bind(int64_t value);
  SqliteStmt& BindBlob(std::string_view value);  // copied; "" is an empty blob, not NULL
  SqliteStmt& BindText(std::string_view value);  // copied
  SqliteStmt& BindNull();
  // Resets the statement and its bindings to run it again.
  void Reset();

  // Advances to the next row: true when a row is available, false when done.
  Result<bool> Step();
  // Steps a statement that returns no rows (INSERT/UPDATE/DELETE) to the end.
  Status Run();

  int64_t Int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Blob(int col) const;
  // The column's bytes in place: valid until the statement steps or resets.
  std::span<const std::byte> BlobView(int col) const;
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  Status Check(int rc) const;
  SqliteStmt& NoteBind(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* borrowed_;  // the cache's flag, cleared on destruction
  int next_param_ = 1;
  int bind_rc_ = SQLITE_OK;  // first binding error, reported by Step()/Run()
};

// An open connection. Prepared statements are cached by SQL text for the life
// of the connection and finalized before it is closed.
class SqliteDb {
 public:
  // flags as for sqlite3_open_v2 (SQLITE_OPEN_READWRITE, ..._CREATE, ...);
  // vfs: a registered VFS's name, empty for the default one.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, int flags,
                                                const std::string& vfs = "");
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Runs one or more statements that return no rows we need (DDL, PRAGMA, BEGIN).
  Status Exec(const char* sql);
  // Runs one statement that returns no rows through the statement cache
  // (parsed once: BEGIN, COMMIT and the savepoints of every write).
  Status Run(std::string_view sql);
  // Borrows the cached statement for `sql`, preparing it on first use.
  // Borrowing a statement that is still borrowed is a bug (IOError).
  Result<SqliteStmt> Prepare(std::string_view sql);
  // Makes every transaction committed so far durable by syncing the WAL
  // through SQLite's own VFS (SQLITE_FCNTL_JOURNAL_POINTER): in WAL mode with
  // synchronous=NORMAL a COMMIT is not durable, and this is the one fsync
  // that makes it so, without a checkpoint. OK when no WAL is open (nothing
  // was committed since the last checkpoint, which synced).
  Status SyncLog();
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool borrowed = false;
  };

  // Lets the map be searched with a string_view, without a temporary string.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>()(sql); }
  };

  sqlite3* db_;
  // Nodes are stable, so SqliteStmt may point at a Cached::borrowed.
  std::unordered_map<std::string, Cached, SqlHash, std::equal_to<>> statements_;
};

// BEGIN ... COMMIT on one connection; rolls back in the destructor when the
// transaction was begun but not committed (including after a failed COMMIT).
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction();

  // immediate: BEGIN IMMEDIATE (takes the write lock now, so a writer never
  // fails half-way with SQLITE_BUSY); otherwise a deferred read transaction.
  Status Begin(bool immediate);
  Status Commit();

 private:
  SqliteDb* db_;
  bool open_ = false;
};

}  // namespace tierfs
