// MetadataStore: the namespace of one tierfs store, kept in SQLite (WAL).
//
// Holds inodes (mode, owner, size, link count, times, symlink target, pin
// flag), directory entries and xattrs; nothing about file data except each
// inode's logical size. Every mutating call is atomic: one SQLite
// transaction, or with group commit (MetadataOptions::group_commit, the
// mounted daemon) one savepoint inside the open batch transaction that
// Commit() ends; batches commit whole and in order, so after a crash the
// namespace is the state after some prefix of the calls. The schema is versioned
// (table `meta`, key `schema_version`) and described in fusefs/meta/METADATA.md.
//
// This layer implements the POSIX rules that concern the namespace alone:
// ENOENT/EEXIST/ENOTDIR/EISDIR/ENOTEMPTY/EINVAL/ENAMETOOLONG for the name
// operations, link counts, and the ctime/mtime updates of parent and target
// on link, unlink, rename, rmdir and create. Permission checks are not done
// here (the kernel's default_permissions does them).
//
// Thread-safety: all methods are thread-safe (one connection behind a mutex;
// the FUSE layer caches attributes in memory, so this is not on the hot path).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compress/status.h"

namespace tierfs {

inline constexpr uint64_t kRootIno = 1;
inline constexpr int kSchemaVersion = 2;  // 2: inline files (inodes.inline, inline_data)
inline constexpr size_t kMaxNameLen = 255;

struct Timespec {
  int64_t sec = 0;
  int64_t nsec = 0;
  bool operator==(const Timespec&) const = default;
};

struct InodeAttr {
  uint64_t ino = 0;
  uint32_t mode = 0;  // S_IFMT bits + permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;  // files: logical bytes; symlinks: target length; dirs: 0
  uint32_t nlink = 0;
  uint64_t rdev = 0;
  Timespec atime, mtime, ctime;
  bool pinned = false;
  // A small file whose bytes live in the namespace (table inline_data)
  // instead of in objects; the flag only: the bytes are read with ReadInline.
  bool inline_data = false;
};

// Fields to change in SetAttr; unset optionals are left alone. ctime is set
// to `now` whenever anything changes.
struct AttrUpdate {
  std::optional<uint32_t> mode;  // permission bits only (S_IFMT kept)
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  std::optional<Timespec> atime;
  std::optional<Timespec> mtime;
  std::optional<Timespec> ctime;  // explicit ctime (e.g. flushing cached attrs)
  // Leave ctime alone although something changed: an atime that a read
  // updated (reading a file is no change of its inode).
  bool keep_ctime = false;
};

struct NewNode {
  uint32_t mode = 0;  // S_IFREG/S_IFDIR/S_IFLNK/S_IFIFO/S_IFCHR/S_IFBLK/S_IFSOCK + perms (umask
                      // applied by caller)
  uint32_t uid = 0;
  uint32_t gid = 0;  // the caller's gid; replaced by the parent's when the parent is setgid
  uint64_t rdev = 0;
  std::string symlink_target;  // for S_IFLNK only
};

struct DirEntry {
  std::string name;
  uint64_t ino = 0;
  uint32_t mode = 0;
  uint64_t cookie = 0;  // pass as `after` to continue after this entry
};

struct RenameResult {
  // The inode that the rename replaced at the destination, after its link
  // count was decremented (nlink 0 means the caller may free it once closed).
  std::optional<InodeAttr> replaced;
};

enum class RenameMode { kNormal, kNoReplace, kExchange };
enum class XattrMode { kAny, kCreate, kReplace };

struct MetadataOptions {
  bool create_if_missing = true;
  bool synchronous_full = false;  // PRAGMA synchronous=FULL instead of NORMAL
  bool read_only = false;
  // Group commit: a mutating call is applied at once (later calls see it)
  // but committed only by the next Commit(), Sync(), or when kMaxBatchOps
  // calls have gathered. batch_opened runs (under the store's lock: it must
  // not call back into the store) when the first call of a batch is applied,
  // so that someone (fusefs/meta/journal.h) commits it soon.
  bool group_commit = false;
  std::function<void()> batch_opened;
  // The SQLite VFS the database and its WAL are opened through (a name
  // given to sqlite3_vfs_register); empty: SQLite's default. Tests put one
  // over a fault-injecting Env (tests/fusefs/core/env_vfs.h) so that a simulated
  // power cut takes the database with the object files.
  std::string vfs;
};

// Mutating calls one group-commit batch holds at most: the call that fills
// it commits it (bounding what SQLite keeps in its page cache and what a
// crash can take back).
inline constexpr uint64_t kMaxBatchOps = 256;

class MetadataStore {
 public:
  // Opens (or creates, with the root directory owned by root_uid/root_gid,
  // mode 0755) the database at db_path. A database written by a newer schema
  // version, or one that is not a tierfs database, is refused with a clear
  // Status (NotSupported / Corruption), and nothing is modified.
  static Result<std::unique_ptr<MetadataStore>> Open(const std::string& db_path,
                                                     const MetadataOptions& opts,
                                                     uint32_t root_uid = 0, uint32_t root_gid = 0);
  virtual ~MetadataStore() = default;

  // Store-wide settings, e.g. "chunk_size". NotFound when unset.
  virtual Result<std::string> GetSetting(std::string_view key) = 0;
  virtual Status SetSetting(std::string_view key, std::string_view value) = 0;

  virtual Result<InodeAttr> GetAttr(uint64_t ino) = 0;
  virtual Result<InodeAttr> Lookup(uint64_t parent, std::string_view name) = 0;
  // The directory holding directory `dir` (the root's parent is the root);
  // NotFound when `dir` is not linked anywhere.
  virtual Result<uint64_t> ParentOf(uint64_t dir) = 0;

  // Creates a node named `name` in `parent` and returns it (nlink 1, or 2 for
  // a directory, whose parent's nlink rises by one). Parent mtime/ctime = now.
  virtual Result<InodeAttr> Create(uint64_t parent, std::string_view name, const NewNode& node,
                                   Timespec now) = 0;
  // New hard link to a non-directory. Target ctime, parent mtime/ctime = now.
  virtual Result<InodeAttr> Link(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                                 Timespec now) = 0;
  // Removes a non-directory entry; returns the target after nlink--.
  virtual Result<InodeAttr> Unlink(uint64_t parent, std::string_view name, Timespec now) = 0;
  // Removes an empty directory; returns it (nlink 0).
  virtual Result<InodeAttr> Rmdir(uint64_t parent, std::string_view name, Timespec now) = 0;
  virtual Result<RenameResult> Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                                      std::string_view new_name, RenameMode mode, Timespec now) = 0;
  virtual Result<InodeAttr> SetAttr(uint64_t ino, const AttrUpdate& update, Timespec now) = 0;
  // Several SetAttr in one transaction (the FUSE layer's batched write-back
  // of cached sizes and times); inodes deleted meanwhile are skipped.
  virtual Status SetAttrs(const std::vector<std::pair<uint64_t, AttrUpdate>>& updates,
                          Timespec now) = 0;
  virtual Result<std::string> ReadLink(uint64_t ino) = 0;

  // Entries of directory `ino` (without "." and ".."), in a stable order,
  // starting after the entry whose cookie is `after` (0 = from the start).
  // fn returns false to stop. fn runs without the store's lock held, so it may
  // call back into the store. Cookies are positive.
  virtual Status ReadDir(uint64_t ino, uint64_t after,
                         const std::function<bool(const DirEntry&)>& fn) = 0;

  virtual Status SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                          XattrMode mode) = 0;
  virtual Result<std::string> GetXattr(uint64_t ino, std::string_view name) = 0;  // ENODATA
  virtual Result<std::vector<std::string>> ListXattr(uint64_t ino) = 0;
  virtual Status RemoveXattr(uint64_t ino, std::string_view name) = 0;  // ENODATA

  // Inline data: the bytes of a small file, kept in the namespace (the
  // core decides which files; see fusefs/core/inline_files.h). ReadInline copies
  // bytes [offset, offset + out.size()) of them into out and returns how
  // many there were (fewer at their end); NotFound when the inode has none.
  virtual Result<size_t> ReadInline(uint64_t ino, uint64_t offset, std::span<std::byte> out) = 0;
  // Makes `data` the inode's inline data (replacing what it had).
  virtual Status WriteInline(uint64_t ino, std::span<const std::byte> data) = 0;
  // Removes the inode's inline data: its bytes are in objects again.
  virtual Status DropInline(uint64_t ino) = 0;
  // Inline files and their bytes (status).
  virtual Result<std::pair<uint64_t, uint64_t>> InlineUsage() = 0;
  // Cuts inline bytes past each file's size (a crash lost the size a write
  // set, not its bytes), so that they cannot reappear when the file grows;
  // returns how many files it cut.
  virtual Result<uint64_t> TrimInline() = 0;

  virtual Status SetPinned(uint64_t ino, bool pinned) = 0;
  virtual Result<std::vector<uint64_t>> ListPinned() = 0;

  // Inodes that have at least one xattr.
  virtual Result<std::vector<uint64_t>> InodesWithXattrs() = 0;

  // Inodes with nlink 0 (unlinked while open, or left so by a crash).
  virtual Result<std::vector<uint64_t>> ListOrphans() = 0;
  // Deletes inodes with nlink 0, their xattrs and inline bytes, all in one transaction
  // (the reclaimer frees dead inodes in batches). InvalidArgument if one
  // has nlink > 0, NotFound if one is missing: then nothing is deleted.
  virtual Status DeleteInodes(std::span<const uint64_t> inos) = 0;

  // Every inode, in ascending ino order (fsck, status).
  virtual Status ForEachInode(const std::function<bool(const InodeAttr&)>& fn) = 0;
  virtual Result<uint64_t> InodeCount() = 0;
  // The highest inode number ever handed out (AUTOINCREMENT's sequence), as
  // this connection sees it: right after Open, the last committed one.
  virtual Result<uint64_t> LastIno() = 0;

  // Group commit: commits the open batch (OK when there is none, or when
  // group commit is off). A batch that fails to commit is lost as a whole
  // (SQLite rolls it back): the store then refuses every later mutation with
  // that error (health()) and the next open finds the state after the last
  // committed batch.
  virtual Status Commit() = 0;
  // Commit(), then makes every committed transaction durable (one fsync of
  // the log, no checkpoint). What must precede a removal from the object
  // store: a COMMIT alone may reach the disk after the removal does.
  virtual Status CommitDurably() = 0;
  // OK, or the error that lost a batch (cheap: no lock while healthy).
  virtual Status health() = 0;
  // Commit(), then makes every committed transaction durable (WAL
  // checkpoint + fsync).
  virtual Status Sync() = 0;
};

// A MetadataStore that passes every call to another one: a test overrides
// the calls it wants to watch or delay, as leveldb's EnvWrapper does for an
// Env (Filesystem::Open takes a MetadataWrap to install one).
class MetadataStoreWrapper : public MetadataStore {
 public:
  explicit MetadataStoreWrapper(std::unique_ptr<MetadataStore> target)
      : target_(std::move(target)) {}
  MetadataStore& target() { return *target_; }

  Result<std::string> GetSetting(std::string_view key) override { return target_->GetSetting(key); }
  Status SetSetting(std::string_view key, std::string_view value) override {
    return target_->SetSetting(key, value);
  }
  Result<InodeAttr> GetAttr(uint64_t ino) override { return target_->GetAttr(ino); }
  Result<InodeAttr> Lookup(uint64_t parent, std::string_view name) override {
    return target_->Lookup(parent, name);
  }
  Result<uint64_t> ParentOf(uint64_t dir) override { return target_->ParentOf(dir); }
  Result<InodeAttr> Create(uint64_t parent, std::string_view name, const NewNode& node,
                           Timespec now) override {
    return target_->Create(parent, name, node, now);
  }
  Result<InodeAttr> Link(uint64_t ino, uint64_t new_parent, std::string_view new_name,
                         Timespec now) override {
    return target_->Link(ino, new_parent, new_name, now);
  }
  Result<InodeAttr> Unlink(uint64_t parent, std::string_view name, Timespec now) override {
    return target_->Unlink(parent, name, now);
  }
  Result<InodeAttr> Rmdir(uint64_t parent, std::string_view name, Timespec now) override {
    return target_->Rmdir(parent, name, now);
  }
  Result<RenameResult> Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                              std::string_view new_name, RenameMode mode, Timespec now) override {
    return target_->Rename(parent, name, new_parent, new_name, mode, now);
  }
  Result<InodeAttr> SetAttr(uint64_t ino, const AttrUpdate& update, Timespec now) override {
    return target_->SetAttr(ino, update, now);
  }
  Status SetAttrs(const std::vector<std::pair<uint64_t, AttrUpdate>>& updates,
                  Timespec now) override {
    return target_->SetAttrs(updates, now);
  }
  Result<std::string> ReadLink(uint64_t ino) override { return target_->ReadLink(ino); }
  Status ReadDir(uint64_t ino, uint64_t after,
                 const std::function<bool(const DirEntry&)>& fn) override {
    return target_->ReadDir(ino, after, fn);
  }
  Status SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                  XattrMode mode) override {
    return target_->SetXattr(ino, name, value, mode);
  }
  Result<std::string> GetXattr(uint64_t ino, std::string_view name) override {
    return target_->GetXattr(ino, name);
  }
  Result<std::vector<std::string>> ListXattr(uint64_t ino) override {
    return target_->ListXattr(ino);
  }
  Status RemoveXattr(uint64_t ino, std::string_view name) override {
    return target_->RemoveXattr(ino, name);
  }
  Result<size_t> ReadInline(uint64_t ino, uint64_t offset, std::span<std::byte> out) override {
    return target_->ReadInline(ino, offset, out);
  }
  Status WriteInline(uint64_t ino, std::span<const std::byte> data) override {
    return target_->WriteInline(ino, data);
  }
  Status DropInline(uint64_t ino) override { return target_->DropInline(ino); }
  Result<std::pair<uint64_t, uint64_t>> InlineUsage() override { return target_->InlineUsage(); }
  Result<uint64_t> TrimInline() override { return target_->TrimInline(); }
  Status SetPinned(uint64_t ino, bool pinned) override { return target_->SetPinned(ino, pinned); }
  Result<std::vector<uint64_t>> ListPinned() override { return target_->ListPinned(); }
  Result<std::vector<uint64_t>> InodesWithXattrs() override { return target_->InodesWithXattrs(); }
  Result<std::vector<uint64_t>> ListOrphans() override { return target_->ListOrphans(); }
  Status DeleteInodes(std::span<const uint64_t> inos) override {
    return target_->DeleteInodes(inos);
  }
  Status ForEachInode(const std::function<bool(const InodeAttr&)>& fn) override {
    return target_->ForEachInode(fn);
  }
  Result<uint64_t> InodeCount() override { return target_->InodeCount(); }
  Result<uint64_t> LastIno() override { return target_->LastIno(); }
  Status Commit() override { return target_->Commit(); }
  Status CommitDurably() override { return target_->CommitDurably(); }
  Status health() override { return target_->health(); }
  Status Sync() override { return target_->Sync(); }

 private:
  std::unique_ptr<MetadataStore> target_;
};

// Replaces the store Filesystem::Open opened by one wrapping it.
using MetadataWrap = std::function<std::unique_ptr<MetadataStore>(std::unique_ptr<MetadataStore>)>;

}  // namespace tierfs
