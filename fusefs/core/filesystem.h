// Filesystem: the tierfs core behind the FUSE ops, a facade of the POSIX
// operations over the namespace (MetadataStore) and the file data
// (ObjectStore chunks). It knows nothing of libfuse: fusefs/fuse/fuse_ops.cc
// translates requests into these calls, so the core is tested without
// /dev/fuse. Beside it, each owning its state and its lock:
//   inode_table.h     lookup and open counts, cached attributes, layout, atime
//   attr_writeback.h  cached sizes and times written to SQLite in batches
//   inline_files.h    small files whose bytes live in the namespace
//   xattr_index.h     which inodes have xattrs
//   space_reserve.h   the disk reserve for a full disk
//   reclaimer.h       frees unlinked inodes in the background
//   kernel_clock.h    the time every stamp takes
//
// Namespace changes are group-committed (fusefs/meta/journal.h): applied at once,
// committed to SQLite in batches a few milliseconds later and at every
// fsync, fsyncdir, statfs and unmount.
//
// Files are cut into chunk_size chunks; chunk i of inode n is object (n, i).
// A missing object, or bytes past an object's end within the file size, read
// as zeros (holes). Data operations are in filesystem_data.cc, mount-time
// recovery in filesystem_recovery.cc, xattrs and the control channel in
// filesystem_control.cc.
//
// Thread-safety: all methods are thread-safe. Lock order (clang checks what
// it can, see each header): migrator_mu_ before AttrWriteback's before an
// InlineFiles stripe before the InodeTable's, which is never held across
// metadata or store calls, nor while waiting for the reclaimer.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fusefs/core/attr_writeback.h"
#include "fusefs/core/config.h"
#include "fusefs/core/handles.h"
#include "fusefs/core/inline_files.h"
#include "fusefs/core/inode_table.h"
#include "fusefs/core/kernel_clock.h"
#include "fusefs/core/reclaimer.h"
#include "fusefs/core/space_reserve.h"
#include "fusefs/core/xattr_index.h"
#include "fusefs/meta/journal.h"
#include "fusefs/meta/metadata.h"
#include "fusefs/metrics/metrics.h"
#include "store/migrator.h"
#include "store/mutex.h"
#include "store/object_store.h"

namespace tierfs {

// The caller of an operation (from fuse_req_ctx). Its supplementary groups
// are read (through load_groups, from /proc) only when an operation must
// know them: to decide whether S_ISGID goes (KillPrivBits).
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t umask = 0;
  std::function<std::vector<uint32_t>()> load_groups;
  mutable std::optional<std::vector<uint32_t>> groups;  // load_groups' answer, once
  // Root (CAP_FSETID), the primary group or a supplementary one.
  bool InGroup(uint32_t g) const;
};

// The set-id bits a modification (write, truncate, fallocate, copy into)
// by `caller` clears, as the VFS does: none for root; S_ISUID; S_ISGID when
// the file is group-executable or the caller is not in its group.
uint32_t KillPrivBits(uint32_t mode, uint32_t file_gid, const Caller& caller);

// What an open tells the kernel beyond success.
struct OpenResult {
  // False when the next read must reach the daemon (atime to update), so the
  // kernel drops its cached pages of the file.
  bool keep_cache = true;
  // The open changed attributes the kernel caches (O_TRUNC, killed S_ISUID).
  bool attr_changed = false;
  // Writes through this open must clear set-id bits (KillPrivBits), which
  // only a write from the caller can tell: bypass the kernel's cache, whose
  // writeback comes without the writer's credentials.
  bool kill_priv_on_write = false;
};

// The largest read (the FUSE max_read): a spliced reply (data + header)
// must fit a pipe, whose size is capped at /proc/sys/fs/pipe-max-size (1 MiB
// by default); a bigger reply makes libfuse copy through a fresh heap
// buffer per request.
inline constexpr size_t kMaxReadBytes = 512u << 10;

// One piece of a read reply, in file order.
struct ReadPiece {
  std::shared_ptr<File> file;  // hot object: splice `length` bytes at `file_offset`
  uint64_t file_offset = 0;
  BufferLease data;   // cold object bytes (data.contents())
  size_t length = 0;  // zeros when neither file nor data
};

// A read reply: its pieces live in the result itself, so that a read
// allocates nothing (tests/fusefs/core/alloc_test.cc).
struct ReadResult {
  // A read of kMaxReadBytes spans at most this many chunks, each at most a
  // piece of data and a piece of zeros.
  static constexpr size_t kMaxPieces = 2 * (kMaxReadBytes / kMinChunkSize + 1);
  std::array<ReadPiece, kMaxPieces> pieces;
  size_t count = 0;
  size_t total = 0;
  bool atime_changed = false;  // the kernel's cached atime is now stale
  std::span<const ReadPiece> view() const { return {pieces.data(), count}; }
};

struct FsUsage {
  uint64_t hot_bytes = 0, cold_bytes = 0, stored_bytes = 0;
  uint64_t inline_bytes = 0;  // an inline file's bytes (in the namespace)
  bool pinned = false;
};

// Everything `tierfs status` and the metrics exposition report, taken at
// one call (each part consistent in itself).
struct StatusReport {
  std::string store_dir, mountpoint;
  bool mounted = false, read_only = false;
  uint64_t chunk_size = 0, inodes = 0;
  PolicyConfig policy;
  StoreStats store;  // as it will be once the pending reclaims are done
  MigratorStats migrator;
  ReclaimStats reclaim;
  uint64_t inline_files = 0, inline_bytes = 0;  // files kept in the namespace
};

// Bytes compression saved in the cold tier.
inline uint64_t SavedBytes(const StoreStats& s) {
  return s.cold_bytes > s.cold_stored_bytes ? s.cold_bytes - s.cold_stored_bytes : 0;
}

class Filesystem {
 public:
  // Opens the store in config.store_dir (creating it), recovers orphans and
  // starts the migrator. `wrap` (tests) wraps the metadata store it opened.
  static Result<std::unique_ptr<Filesystem>> Open(const MountConfig& config, Env* env,
                                                  const MetadataWrap& wrap = nullptr);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  uint64_t chunk_size() const { return chunk_size_; }
  // The time every stamp of the daemon takes (kernel_clock.h).
  Timespec Now() { return clock_.Now(); }
  // The generation of the inode's file handle (fusefs/core/handles.h).
  uint32_t Generation(uint64_t ino) const { return HandleGeneration(handle_key_, ino); }

  // --- namespace; every entry returned counts as one kernel lookup -------
  Result<struct stat> Lookup(uint64_t parent, const std::string& name);
  // The kernel dropped nlookup lookups; false (logged as a bug) when it
  // forgot more than were counted, which frees the inode all the same.
  bool Forget(uint64_t ino, uint64_t nlookup);
  Result<struct stat> GetAttr(uint64_t ino);
  struct SetAttrRequest {
    std::optional<uint32_t> mode, uid, gid;
    std::optional<uint64_t> size;
    std::optional<Timespec> atime, mtime;  // already resolved from UTIME_NOW
    // The kernel's ctime (FUSE_SET_ATTR_CTIME: with the writeback cache it
    // stamps a file's changes itself, from its own clock): kept as the
    // file's ctime, so that what the kernel showed is what the store holds.
    std::optional<Timespec> ctime;
    // The kernel asks for the set-id bits to go (FUSE_HANDLE_KILLPRIV_V2's
    // FATTR_KILL_SUIDGID): with a chown, S_ISUID and, on a group-executable
    // file, S_ISGID, whoever asks (as the VFS's chown); with a truncate,
    // what KillPrivBits says for the caller.
    bool kill_suidgid = false;
  };
  // A mode set by a caller who is neither root nor in the file's group
  // loses S_ISGID, as the VFS does for chmod and for the kernel's kill-priv
  // after write, truncate and fallocate by such a caller.
  Result<struct stat> SetAttr(uint64_t ino, const SetAttrRequest& req, const Caller& caller = {});
  Result<struct stat> MakeNode(uint64_t parent, const std::string& name, uint32_t mode,
                               uint64_t rdev, const Caller& caller);
  Result<struct stat> Symlink(uint64_t parent, const std::string& name, const std::string& target,
                              const Caller& caller);
  Result<std::string> ReadLink(uint64_t ino);
  Status Unlink(uint64_t parent, const std::string& name);
  Status Rmdir(uint64_t parent, const std::string& name);
  Status Rename(uint64_t parent, const std::string& name, uint64_t new_parent,
                const std::string& new_name, RenameMode mode);
  Result<struct stat> Link(uint64_t ino, uint64_t new_parent, const std::string& new_name);
  // Directory listing from cookie `after`; "." and ".." come first (cookies 1, 2).
  Status ReadDir(uint64_t ino, uint64_t after,
                 const std::function<bool(const std::string& name, const struct stat& st,
                                          uint64_t cookie)>& fn);
  // readdirplus: ReadDir with every entry but "." and ".." looked up (the
  // stat fn sees is Lookup's, one kernel lookup each; an entry fn refuses
  // for lack of room is forgotten again). An error after fn took an entry
  // ends the listing with OK there: the entries taken must reach the kernel.
  Status ReadDirPlus(uint64_t ino, uint64_t after,
                     const std::function<bool(const std::string& name, const struct stat& st,
                                              uint64_t cookie)>& fn);

  // --- files ------------------------------------------------------------
  // Opens a file; `truncate` (O_TRUNC) empties it first, clearing S_ISUID
  // (and S_ISGID where the VFS would) when the caller is not root.
  // `reads_atime`: the open can read and its reads move atime (false for
  // O_WRONLY and for O_NOATIME, which the kernel allows only the owner).
  Result<OpenResult> Open(uint64_t ino, bool truncate, bool reads_atime, bool for_write,
                          const Caller& caller);
  // Clears the bits KillPrivBits names after `caller` modified the file;
  // true when the mode changed (the kernel's cached mode is stale).
  Result<bool> KillPriv(uint64_t ino, const Caller& caller);
  Result<struct stat> Create(uint64_t parent, const std::string& name, uint32_t mode,
                             const Caller& caller, bool for_write = true);  // also opens
  // Reads at most kMaxReadBytes (fewer than `size` only past EOF or above that).
  // `touch_atime` false: a read through an O_NOATIME open, which leaves atime.
  Result<ReadResult> Read(uint64_t ino, uint64_t offset, size_t size, bool touch_atime = true);
  // `writeback`: the kernel flushing pages it accepted earlier (writepage),
  // which lands even while a remount to read-only is under way.
  Result<size_t> Write(uint64_t ino, uint64_t offset, std::span<const std::byte> data,
                       bool writeback = false);
  // `for_write`: the open being closed could write (as passed to Open).
  Status Release(uint64_t ino, bool for_write = false);
  Status Fsync(uint64_t ino, bool datasync);
  // Makes every namespace change so far durable (fsyncdir).
  Status FsyncDir();
  Status Fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length,
                   const Caller& caller = {});
  // copy_file_range: copies len bytes (the kernel has clamped it to the
  // source's end) inside the store. Whole chunks are copied as objects — a cold one
  // as stored, still compressed, never decoded (ObjectStore::CopyObject);
  // the rest goes through pooled buffers. The kernel has checked the
  // descriptors and ranges (EBADF, EINVAL for overlap) and flushed both
  // files' cached pages. Returns the bytes copied.
  Result<size_t> CopyFileRange(uint64_t ino_in, uint64_t off_in, uint64_t ino_out, uint64_t off_out,
                               size_t len, const Caller& caller = {});
  // SEEK_DATA / SEEK_HOLE at chunk granularity.
  Result<uint64_t> Lseek(uint64_t ino, uint64_t offset, int whence);

  // --- xattrs (names under user.tierfs. are the CLI's control channel,
  // fusefs/control/control.h, which the FUSE ops send there, not here) ----
  Status SetXattr(uint64_t ino, const std::string& name, const std::string& value, int flags);
  Result<std::string> GetXattr(uint64_t ino, const std::string& name);
  Result<std::vector<std::string>> ListXattr(uint64_t ino);
  Status RemoveXattr(uint64_t ino, const std::string& name);

  // Waits for the pending reclaims first (at most kReclaimWait): the free
  // space of the disk below shows a freed inode only once its objects are gone.
  Result<struct statvfs> StatFs();
  FsUsage UsageOf(uint64_t ino);
  StatusReport Report();
  // Request-path counters (fuse_ops.cc, Read, Write) for the exposition.
  Metrics& metrics() { return metrics_; }
  // Waits for the pending reclaims (at most kReclaimWait), makes every
  // object written since the mount durable, then every cached attribute and
  // the namespace (unmount, a switch to read-only).
  Status SyncAll();
  // Switches a live mount between read-only and read-write (remount): when
  // read-only every mutation fails with EROFS, cached attributes are written
  // first and the migrator is stopped; read-write starts it again.
  Status SetReadOnly(bool read_only);

  MetadataStore& metadata() { return *meta_; }
  ObjectStore& store() { return *store_; }
  Reclaimer& reclaimer() { return *reclaimer_; }
  // For the control channel (fusefs/control/control.h):
  const MountConfig& config() const { return config_; }
  Env* env() const { return env_; }
  const MigratorOptions& migrator_options() const { return migrator_options_; }
  bool read_only() const { return read_only_.load(); }
  // EROFS while read-only (or the namespace's health when it failed).
  Status Writable() const;
  // Runs fn on the running migrator, which SetReadOnly may replace meanwhile.
  void WithMigrator(const std::function<void(const Migrator&)>& fn);

 private:
  Filesystem(const MountConfig& config, Env* env);
  // Attributes from SQLite with the cached write state laid over them.
  Result<InodeAttr> Attr(uint64_t ino) { return inodes_->Attr(ino); }
  Result<uint64_t> FileSize(uint64_t ino) { return inodes_->FileSize(ino); }
  Layout LayoutOf(uint64_t ino) { return inodes_->LayoutOf(ino); }
  bool HasXattrs(uint64_t ino);
  struct stat ToStat(const InodeAttr& a);
  // Records a kernel lookup of the entry `read` from SQLite after
  // InodeTable::WriteBacks() returned `seen`, and returns its current stat.
  Result<struct stat> Remember(uint64_t seen, const InodeAttr& read);
  // Unlink (dir false) or rmdir (dir true) of parent/name.
  Status RemoveEntry(uint64_t parent, const std::string& name, bool dir);
  // Cuts the file's data to new_size, which the namespace already records
  // (applied, not yet committed): made durable first when anything is cut.
  Status TruncateData(uint64_t ino, uint64_t new_size);
  // For a read of [offset, end) that began where the last one ended: has
  // the object a sequential reader reaches next read ahead (see Read).
  void ReadAhead(uint64_t ino, uint64_t offset, uint64_t end);
  // Reserves disk space for [offset, offset + length) of the file's chunks
  // (fallocate); on failure the objects it created are removed again.
  Status Reserve(uint64_t ino, uint64_t offset, uint64_t length);
  // Copies [pos_in, pos_in + n) of ino_in to pos_out of ino_out, within one
  // chunk of each, through a pooled buffer (holes become zeros).
  Status CopyPiece(uint64_t ino_in, uint64_t pos_in, uint64_t ino_out, uint64_t pos_out, size_t n);
  // Zeroes [offset, end) of a file: whole chunks removed, parts punched;
  // visits only the objects that exist in the range.
  Status ZeroData(uint64_t ino, uint64_t offset, uint64_t end);
  // ENOSPC when reserving [offset, offset + length) of the file (fallocate)
  // surely needs more than the hot tier's free space.
  Status CheckRoomFor(uint64_t ino, uint64_t offset, uint64_t length);
  // Makes namespace changes durable before the reply under -o sync/dirsync.
  Status DirSync();
  // Commits the namespace changes so far and makes them durable: one fsync
  // of SQLite's log (fsync, fsyncdir, dirsync), no checkpoint, which SQLite
  // runs by itself as the log grows and SyncAll runs at unmount.
  Status SyncMeta();
  Result<struct stat> LookupDot(uint64_t ino);
  // Mount-time recovery (filesystem_recovery.cc): frees the orphans, removes
  // the objects of inodes whose creation a crash took back, and drops object
  // bytes past each file's size.
  Status Recover();
  // A new node in SQLite (create, mkdir, mknod, symlink) and its stat.
  Result<struct stat> CreateNode(uint64_t parent, const std::string& name, const NewNode& n);

  const MountConfig config_;
  Env* const env_;
  uint64_t chunk_size_ = kDefaultChunkSize;
  HandleKey handle_key_{};
  KernelClock clock_;
  SpaceReserve reserve_;
  std::unique_ptr<FileLock> lock_;    // released last
  std::unique_ptr<Journal> journal_;  // outlives meta_'s use of it: stopped in ~Filesystem
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<ObjectStore> store_;
  // Serializes SetReadOnly's stop/start of migrator_ (and its SyncAll).
  Mutex migrator_mu_ ACQUIRED_BEFORE(writeback_->mu_);
  std::unique_ptr<Migrator> migrator_ GUARDED_BY(migrator_mu_);
  MigratorOptions migrator_options_;
  std::unique_ptr<Reclaimer> reclaimer_;  // stopped before store_ and meta_ close
  // The parts below use meta_ and store_: made once they are open.
  std::unique_ptr<InodeTable> inodes_;
  std::unique_ptr<AttrWriteback> writeback_;  // stopped first in ~Filesystem
  std::unique_ptr<InlineFiles> inline_;
  XattrIndex xattrs_;
  std::atomic<bool> read_only_{false};
  Metrics metrics_;  // relaxed atomics (metrics.h)
};

}  // namespace tierfs
