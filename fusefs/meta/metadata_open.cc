// MetadataStore::Open: checks an existing file before anything can write to
// it, creates the schema in a new or empty file, and applies the connection
// settings (WAL, synchronous, foreign keys, busy timeout). The versioning rule
// is in fusefs/meta/METADATA.md. Open may be called from any thread.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fstream>

#include "fusefs/meta/metadata_sqlite.h"

namespace tierfs {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// Blocks kept allocated past the end of the WAL: with checkpoints that
// restart the WAL rather than truncate it, a commit then writes into blocks
// the file already has, and a nearly full disk does not fail it (a failed
// COMMIT rolls back a whole group-commit batch). Twice SQLite's automatic
// checkpoint threshold (1000 pages of 4 KiB).
constexpr off_t kWalPreallocBytes = 8 << 20;

// Best effort: where the file system cannot, commits just allocate as they go.
void PreallocateWal(const std::string& db_path) {
  const int fd = ::open((db_path + "-wal").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, kWalPreallocBytes);
  ::close(fd);
}

constexpr const char* kSchemaSql = R"sql(
CREATE TABLE meta(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE inodes(
  ino INTEGER PRIMARY KEY AUTOINCREMENT,
  mode INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  nlink INTEGER NOT NULL,
  rdev INTEGER NOT NULL DEFAULT 0,
  atime_sec INTEGER NOT NULL, atime_nsec INTEGER NOT NULL,
  mtime_sec INTEGER NOT NULL, mtime_nsec INTEGER NOT NULL,
  ctime_sec INTEGER NOT NULL, ctime_nsec INTEGER NOT NULL,
  pinned INTEGER NOT NULL DEFAULT 0,
  symlink_target BLOB,
  inline INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inodes_orphans ON inodes(ino) WHERE nlink = 0;
CREATE INDEX inodes_pinned ON inodes(ino) WHERE pinned <> 0;
CREATE TABLE dentries(
  id INTEGER PRIMARY KEY,
  parent INTEGER NOT NULL REFERENCES inodes(ino),
  name BLOB NOT NULL,
  ino INTEGER NOT NULL REFERENCES inodes(ino),
  UNIQUE(parent, name)
);
CREATE INDEX dentries_by_parent ON dentries(parent, id);
CREATE INDEX dentries_by_ino ON dentries(ino);
CREATE TABLE xattrs(
  ino INTEGER NOT NULL REFERENCES inodes(ino),
  name BLOB NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY(ino, name)
) WITHOUT ROWID;
CREATE TABLE inline_data(
  ino INTEGER PRIMARY KEY REFERENCES inodes(ino),
  data BLOB NOT NULL
);
)sql";

// Version 1 -> 2: inline files.
constexpr const char* kMigrateTo2Sql = R"sql(
ALTER TABLE inodes ADD COLUMN inline INTEGER NOT NULL DEFAULT 0;
CREATE TABLE inline_data(
  ino INTEGER PRIMARY KEY REFERENCES inodes(ino),
  data BLOB NOT NULL
);
)sql";

enum class FileState { kMissing, kEmpty, kSqlite };

Status NotTierfs(const std::string& path, const std::string& why) {
  return Status::Corruption("not a tierfs metadata database: " + path + ": " + why);
}

uint32_t BigEndian(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Looks at the file with plain reads, before SQLite opens it: a missing or
// empty file gets a new schema; anything else must carry the SQLite magic and
// be at least as long as its header says (a truncated copy is refused here,
// since SQLite would read the missing pages as zeros and fail later).
Result<FileState> ProbeFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileState::kMissing;
    return Status::IOError("stat " + path + ": " + std::strerror(errno), errno);
  }
  if (!S_ISREG(st.st_mode)) return NotTierfs(path, "not a regular file");
  if (st.st_size == 0) return FileState::kEmpty;

  std::array<unsigned char, 100> header{};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(header.data()), header.size());
  if (in.bad()) return Status::IOError("read " + path, EIO);
  static constexpr char kMagic[] = "SQLite format 3";  // 16 bytes with the NUL
  if (in.gcount() < static_cast<std::streamsize>(sizeof(kMagic)) ||
      std::memcmp(header.data(), kMagic, sizeof(kMagic)) != 0) {
    return NotTierfs(path, "no SQLite header");
  }
  if (in.gcount() < static_cast<std::streamsize>(header.size())) {
    return NotTierfs(path, "truncated SQLite header");
  }
  // Header fields (sqlite.org/fileformat.html): page size at 16 (1 = 65536),
  // change counter at 24, page count at 28, valid-for counter at 92. The page
  // count is only meaningful when valid-for equals the change counter, and a
  // non-empty WAL may hold pages not yet written back to the main file.
  uint64_t page_size = BigEndian(&header[16], 2);
  if (page_size == 1) page_size = 65536;
  const uint64_t pages = BigEndian(&header[28], 4);
  const bool count_valid = BigEndian(&header[24], 4) == BigEndian(&header[92], 4);
  struct stat wal;
  const bool wal_has_pages = stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  if (count_valid && !wal_has_pages && static_cast<uint64_t>(st.st_size) < pages * page_size) {
    return NotTierfs(path, "file is truncated (" + std::to_string(st.st_size) + " of " +
                               std::to_string(pages * page_size) + " bytes)");
  }
  return FileState::kSqlite;
}

// Reads meta.schema_version as stored; "" when the tierfs tables or the key
// are missing.
Result<std::string> ReadSchemaVersion(SqliteDb* db) {
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt tables,
                          db->Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                      "AND name IN ('meta', 'inodes', 'dentries', 'xattrs')"));
  TIERFS_ASSIGN_OR_RETURN(bool row, tables.Step());
  if (!row || tables.Int64(0) != 4) return std::string();
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt version,
                          db->Prepare("SELECT value FROM meta WHERE key = 'schema_version'"));
  TIERFS_ASSIGN_OR_RETURN(bool found, version.Step());
  return found ? version.Blob(0) : std::string();
}

// Checks the schema version of an existing file inside a read transaction
// and returns it. Writes nothing, so a refused file is left exactly as it was.
Result<int> CheckExisting(SqliteDb* db, const std::string& path) {
  SqliteTransaction txn(db);
  Status st = txn.Begin(/*immediate=*/false);
  Result<std::string> text = st.ok() ? ReadSchemaVersion(db) : Result<std::string>(st);
  if (!text.ok()) {
    // SQLITE_NOTADB / SQLITE_CORRUPT: a damaged file or not a database at all.
    if (text.status().IsCorruption()) return NotTierfs(path, text.status().message());
    return text.status();
  }
  if (text->empty()) return NotTierfs(path, "no tierfs tables or schema_version");
  int version = 0;
  const char* last = text->data() + text->size();
  auto [end, ec] = std::from_chars(text->data(), last, version);
  if (ec != std::errc() || end != last || version < 1) {
    return NotTierfs(path, "bad schema_version '" + *text + "'");
  }
  if (version > kSchemaVersion) {
    return Status::NotSupported(path + ": metadata schema version " + std::to_string(version) +
                                " is newer than this tierfs supports (version " +
                                std::to_string(kSchemaVersion) + ")");
  }
  TIERFS_RETURN_IF_ERROR(txn.Commit());
  return version;
}

// Brings a database of an older schema version to kSchemaVersion in one
// write transaction (METADATA.md, "Versioning").
Status Migrate(SqliteDb* db, int version) {
  SqliteTransaction txn(db);
  TIERFS_RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  if (version < 2) TIERFS_RETURN_IF_ERROR(db->Exec(kMigrateTo2Sql));
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt set,
                          db->Prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'"));
  TIERFS_RETURN_IF_ERROR(set.BindText(std::to_string(kSchemaVersion)).Run());
  return txn.Commit();
}

Status CreateSchema(SqliteDb* db, uint32_t root_uid, uint32_t root_gid) {
  SqliteTransaction txn(db);
  TIERFS_RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  TIERFS_RETURN_IF_ERROR(db->Exec(kSchemaSql));
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt meta,
                          db->Prepare("INSERT INTO meta(key, value) VALUES ('schema_version', ?)"));
  TIERFS_RETURN_IF_ERROR(meta.BindText(std::to_string(kSchemaVersion)).Run());

  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);  // the clock of every stamp (Filesystem::Now)
  TIERFS_ASSIGN_OR_RETURN(
      SqliteStmt root,
      db->Prepare("INSERT INTO inodes(ino, mode, uid, gid, nlink, atime_sec, atime_nsec, "
                  "mtime_sec, mtime_nsec, ctime_sec, ctime_nsec) "
                  "VALUES (?1, ?2, ?3, ?4, 2, ?5, ?6, ?5, ?6, ?5, ?6)"));
  TIERFS_RETURN_IF_ERROR(root.Bind(kRootIno)
                             .Bind(S_IFDIR | 0755)
                             .Bind(root_uid)
                             .Bind(root_gid)
                             .Bind(now.tv_sec)
                             .Bind(now.tv_nsec)
                             .Run());
  return txn.Commit();
}

}  // namespace

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& db_path,
                                                           const MetadataOptions& opts,
                                                           uint32_t root_uid, uint32_t root_gid) {
  TIERFS_ASSIGN_OR_RETURN(FileState state, ProbeFile(db_path));
  const bool create = state != FileState::kSqlite;
  if (create && (opts.read_only || !opts.create_if_missing)) {
    if (state == FileState::kMissing) return Status::NotFound("no metadata database " + db_path);
    return NotTierfs(db_path, "empty file");
  }
  int flags = SQLITE_OPEN_NOMUTEX;  // serialised by SqliteMetadataStore::mu_
  flags |= opts.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  TIERFS_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(db_path, flags, opts.vfs));
  sqlite3_busy_timeout(db->handle(), kBusyTimeoutMs);
  // The daemon is the only user of its database (it holds the store lock), so
  // take SQLite's lock once and keep it: in WAL mode this also keeps the WAL
  // index in heap memory instead of a -shm file, which saves every
  // transaction its fcntl() locking and shared-memory writes. Set before the
  // first access, which is CheckExisting's read.
  if (!opts.read_only) TIERFS_RETURN_IF_ERROR(db->Exec("PRAGMA locking_mode=EXCLUSIVE"));

  int version = kSchemaVersion;
  if (!create) {
    TIERFS_ASSIGN_OR_RETURN(version, CheckExisting(db.get(), db_path));
  }
  if (version < kSchemaVersion && opts.read_only) {
    return Status::NotSupported(db_path + ": metadata schema version " + std::to_string(version) +
                                " is older than this tierfs's (version " +
                                std::to_string(kSchemaVersion) +
                                "); mount the store read-write once to upgrade it");
  }
  // Only now may anything write to the file. journal_mode=WAL is persistent
  // in the file, so a read-only connection finds it already set.
  if (!opts.read_only) TIERFS_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  TIERFS_RETURN_IF_ERROR(
      db->Exec(opts.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  TIERFS_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  if (create) TIERFS_RETURN_IF_ERROR(CreateSchema(db.get(), root_uid, root_gid));
  if (version < kSchemaVersion) TIERFS_RETURN_IF_ERROR(Migrate(db.get(), version));
  if (!opts.read_only) PreallocateWal(db_path);
  return std::unique_ptr<MetadataStore>(std::make_unique<SqliteMetadataStore>(std::move(db), opts));
}

}  // namespace tierfs
