// SqliteMetadataStore: the SQLite implementation of MetadataStore. Private to
// fusefs/ (callers use MetadataStore::Open); split over several .cc files:
//   metadata_open.cc      Open(): file checks, schema creation and versioning
//   metadata_sqlite.cc    row helpers, attributes, readdir, xattrs, settings
//   metadata_inodes.cc    pins, orphans, inode iteration, sync
//   metadata_namespace.cc create, link, unlink, rmdir, rename
// The schema and the rules are documented in fusefs/meta/METADATA.md.
//
// Thread-safety: every public method is thread-safe; one connection is used
// behind mu_, and every helper below expects the caller to hold mu_. ReadDir
// and ForEachInode call their callback without holding mu_, so the callback
// may call back into the store.
//
// Attribute cache: the rows of up to kAttrCacheEntries recently used inodes,
// as this connection sees them, are kept in memory, and LoadInode (GetAttr,
// and the loads of every write) answers from there without SQL and without
// allocating. The daemon is the database's only writer (it holds the store
// lock), and every inode row written goes through StoreInode, Create or
// DeleteInodes, which stage the new row; Write() applies the staged rows to
// the cache only once its change took effect (COMMIT, or with group commit
// RELEASE of its savepoint), and drops them from it otherwise. A lost batch
// clears the whole cache.
//
// Group commit: one BEGIN IMMEDIATE transaction (the batch) stays open
// across calls; each call runs in SAVEPOINT op ... RELEASE op (ROLLBACK TO
// op when it fails, which undoes that call alone). Commit() ends the batch.
// Calls are applied on one connection in the order they take mu_, so a
// batch holds a contiguous run of them and a crash loses a suffix.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fusefs/meta/metadata.h"
#include "fusefs/meta/sqlite_util.h"

namespace tierfs {

// Columns of `inodes` in the order ReadInodeRow() expects them; a macro so
// that queries stay string literals, concatenated at compile time.
#define TIERFS_INODE_COLUMNS                                                               \
  "ino, mode, uid, gid, size, nlink, rdev, atime_sec, atime_nsec, mtime_sec, mtime_nsec, " \
  "ctime_sec, ctime_nsec, pinned, inline"

// Rows fetched per lock hold by ReadDir and ForEachInode; the callback runs
// between batches without the lock.
inline constexpr int kBatchRows = 256;

// Inodes whose attributes SqliteMetadataStore keeps in memory (~120 bytes each).
inline constexpr size_t kAttrCacheEntries = 1 << 16;

// Reads the TIERFS_INODE_COLUMNS of the current row of `stmt`, starting at column 0.
InodeAttr ReadInodeRow(const SqliteStmt& stmt);

// Checks a name used to create, remove or rename an entry (and to look one up):
// ENAMETOOLONG above kMaxNameLen; EINVAL when empty, ".", "..", or containing
// '/' or NUL.
Status ValidateName(std::string_view name);

class SqliteMetadataStore final : public MetadataStore {
 public:
  SqliteMetadataStore(std::unique_ptr<SqliteDb> db, const MetadataOptions& opts)
      : db_(std::move(db)),
        read_only_(opts.read_only),
        group_commit_(opts.group_commit && !opts.read_only),
        batch_opened_(opts.batch_opened) {}
  ~SqliteMetadataStore() override;  // commits the open batch

  Result<std::string> GetSetting(std::string_view key) override;
  Status SetSetting(std::string_view key, std::string_view value) override;
  Result<InodeAttr> GetAttr(uint64_t ino) override;
  Result<InodeAttr> Lookup(uint64_t parent, std::string_view name) override;
  Result<uint64_t> ParentOf(uint64_t dir) override;
  Result<InodeAttr> Create(uint64_t parent, std::string_view name, const NewNode& node,
                           Timespec now) override;
  Result<InodeAttr> Link(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                         Timespec now) override;
  Result<InodeAttr> Unlink(uint64_t parent, std::string_view name, Timespec now) override;
  Result<InodeAttr> Rmdir(uint64_t parent, std::string_view name, Timespec now) override;
  Result<RenameResult> Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                              std::string_view new_name, RenameMode mode, Timespec now) override;
  Result<InodeAttr> SetAttr(uint64_t ino, const AttrUpdate& update, Timespec now) override;
  Status SetAttrs(const std::vector<std::pair<uint64_t, AttrUpdate>>& updates,
                  Timespec now) override;
  Result<std::string> ReadLink(uint64_t ino) override;
  Status ReadDir(uint64_t ino, uint64_t after,
                 const std::function<bool(const DirEntry&)>& fn) override;
  Status SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                  XattrMode mode) override;
  Result<std::string> GetXattr(uint64_t ino, std::string_view name) override;
  Result<std::vector<std::string>> ListXattr(uint64_t ino) override;
  Status RemoveXattr(uint64_t ino, std::string_view name) override;
  Result<size_t> ReadInline(uint64_t ino, uint64_t offset, std::span<std::byte> out) override;
  Status WriteInline(uint64_t ino, std::span<const std::byte> data) override;
  Status DropInline(uint64_t ino) override;
  Result<std::pair<uint64_t, uint64_t>> InlineUsage() override;
  Result<uint64_t> TrimInline() override;
  Status SetPinned(uint64_t ino, bool pinned) override;
  Result<std::vector<uint64_t>> ListPinned() override;
  Result<std::vector<uint64_t>> InodesWithXattrs() override;
  Result<std::vector<uint64_t>> ListOrphans() override;
  Status DeleteInodes(std::span<const uint64_t> inos) override;
  Status ForEachInode(const std::function<bool(const InodeAttr&)>& fn) override;
  Result<uint64_t> InodeCount() override;
  Result<uint64_t> LastIno() override;
  Status Commit() override;
  Status CommitDurably() override;
  Status health() override;
  Status Sync() override;

 private:
  struct Entry {
    int64_t id = 0;  // dentries.id, the readdir cookie
    uint64_t ino = 0;
  };
  // Inodes loaded by one operation, keyed by ino, so that an inode playing
  // two roles (e.g. both parents of a rename) is loaded and stored once.
  using InodeSet = std::map<uint64_t, InodeAttr>;

  // Runs fn (returning Status or Result<T>) under mu_ as one atomic change:
  // inside BEGIN IMMEDIATE ... COMMIT, or with group commit inside a
  // savepoint of the open batch. A failed fn (or COMMIT) undoes all of it.
  template <class Fn>
  auto Write(Fn&& fn) -> decltype(fn()) {
    std::lock_guard lock(mu_);
    TIERFS_RETURN_IF_ERROR(BeginWrite());
    auto result = fn();
    const Status ended = EndWrite(result.ok());
    if (!result.ok()) return result;
    TIERFS_RETURN_IF_ERROR(ended);
    return result;
  }
  // Write's two halves (mu_ held). BeginWrite opens the transaction (or the
  // batch, and a savepoint in it); EndWrite(ok) commits or releases it, or
  // rolls it back, and settles the staged rows in the attribute cache.
  Status BeginWrite();
  Status EndWrite(bool ok);
  // Commits the open batch (mu_ held); a failure loses it (MarkLost).
  Status CommitBatch();
  // SQLite rolled the whole batch back: drop every cached row (some were
  // the batch's) and refuse every later mutation with `why`.
  Status MarkLost(const Status& why);

  // The inode's committed row: from the cache, or read (and cached). Inside
  // a write, a row this transaction already wrote comes from staged_.
  Result<InodeAttr> LoadInode(uint64_t ino);
  // Records a row this transaction wrote (nullopt: deleted).
  void Stage(uint64_t ino, std::optional<InodeAttr> row);
  // After a write: applies the staged rows to the cache (committed), or
  // drops them from it (rolled back).
  void Unstage(bool committed);
  void CacheRow(const InodeAttr& a);
  // SetAttr's work inside a transaction the caller holds.
  Result<InodeAttr> ApplyAttr(uint64_t ino, const AttrUpdate& update, Timespec now);
  Result<InodeAttr> LoadDir(uint64_t ino);  // ENOTDIR when not a directory
  // Loads ino into `set` unless it is there already; returns the set's copy,
  // which stays valid while the set lives.
  Result<InodeAttr*> LoadInto(InodeSet& set, uint64_t ino);
  // Writes every mutable column of `attr` (not the symlink target).
  Status StoreInode(const InodeAttr& attr);
  Status StoreAll(const InodeSet& set);
  Result<std::optional<Entry>> FindEntry(uint64_t parent, std::string_view name);
  Result<Entry> FindExisting(uint64_t parent, std::string_view name);  // NotFound if absent
  Result<bool> HasEntries(uint64_t dir);
  Status InsertEntry(uint64_t parent, std::string_view name, uint64_t ino);
  Status DeleteEntry(int64_t id);
  // Sets the inode's inline bytes (nullopt: none) and its inline flag.
  Status SetInline(uint64_t ino, std::optional<std::span<const std::byte>> data);
  // Runs a query of one ino column and returns the values.
  Result<std::vector<uint64_t>> ListInos(const char* sql);

  // Rename (metadata_namespace.cc). Each helper only changes dentries and the
  // inodes in `set`; RenameLocked stores the set.
  Result<RenameResult> RenameLocked(uint64_t parent, std::string_view name, uint64_t new_parent,
                                    std::string_view new_name, RenameMode mode, Timespec now);
  // EINVAL when `dir` is `ancestor` or lies below it.
  Status CheckNotInSubtree(uint64_t ancestor, uint64_t dir);
  Status ExchangeEntries(InodeSet& set, InodeAttr* dir, Entry src, InodeAttr* new_dir, Entry dst,
                         Timespec now);
  Result<RenameResult> MoveEntry(InodeSet& set, InodeAttr* dir, Entry src, InodeAttr* new_dir,
                                 std::string_view new_name, std::optional<Entry> dst, Timespec now);

  std::mutex mu_;
  const std::unique_ptr<SqliteDb> db_;
  const bool read_only_;
  const bool group_commit_;
  const std::function<void()> batch_opened_;
  uint64_t batch_ops_ = 0;  // calls applied in the open batch (0: none open)
  // Set once a batch was lost; lost_status_ (under mu_) says why.
  std::atomic<bool> lost_{false};
  Status lost_status_;
  // The attribute cache, guarded by mu_; its nodes come from attr_nodes_,
  // which keeps what an eviction frees for the next insert.
  std::pmr::unsynchronized_pool_resource attr_nodes_;
  std::pmr::unordered_map<uint64_t, InodeAttr> attrs_{&attr_nodes_};
  bool in_write_ = false;
  std::vector<std::pair<uint64_t, std::optional<InodeAttr>>> staged_;  // this write's rows
};

}  // namespace tierfs
