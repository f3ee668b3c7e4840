// Env: every operating-system call tierfs makes for its store goes through
// this interface, so tests can wrap it (store/testing/fault_env.h) to inject EIO,
// ENOSPC, short writes and crashes. PosixEnv (store/env_posix.cc) is the real
// one, and the only place where errno becomes a Status.
//
// Thread-safety: Env methods are thread-safe. A File may be used by several
// threads at once for PRead/PWrite (positional I/O has no shared cursor).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "compress/status.h"

namespace tierfs {

class File {
 public:
  virtual ~File() = default;
  // Reads up to dst.size() bytes at offset; fewer only at end of file.
  virtual Result<size_t> PRead(uint64_t offset, std::span<std::byte> dst) = 0;
  // Writes all of src at offset (retrying short writes), or fails.
  virtual Status PWrite(uint64_t offset, std::span<const std::byte> src) = 0;
  virtual Status Sync() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() = 0;
  // Frees the byte range (fallocate PUNCH_HOLE|KEEP_SIZE); reads give zeros.
  virtual Status PunchHole(uint64_t offset, uint64_t len) = 0;
  // Reserves disk blocks for the byte range without changing the file size
  // (fallocate FALLOC_FL_KEEP_SIZE): later writes there cannot fail for
  // lack of space. NoSpace when the filesystem is full.
  virtual Status Allocate(uint64_t offset, uint64_t len) {
    (void)offset;
    (void)len;
    return Status::NotSupported("allocate on " + path());
  }
  // Hints that the whole file will be read soon (readahead in the
  // background); a no-op where unsupported.
  virtual void WillNeed() {}
  // Starts writing the file's dirty pages back without waiting and without
  // making anything durable (sync_file_range WRITE), so that the Sync()s of
  // several files that follow wait for I/O already under way together.
  virtual void StartWriteback() {}
  // The OS descriptor for zero-copy splice, or -1 when there is none.
  virtual int fd() const = 0;
  virtual const std::string& path() const = 0;
};

struct OpenOptions {
  bool write = false;      // open read-write (else read-only)
  bool create = false;     // create when missing (mode 0600)
  bool exclusive = false;  // with create: fail with Exists if present
  bool truncate = false;   // with write: empty an existing file (O_TRUNC)
};

struct FileStat {
  uint64_t size = 0;
  uint64_t allocated = 0;  // st_blocks * 512
  int64_t mtime_ns = 0;
  uint64_t ino = 0;  // st_ino
  bool is_dir = false;
};

struct FsSpace {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;  // available to unprivileged writers
  uint64_t total_inodes = 0;
  uint64_t free_inodes = 0;
  uint32_t block_size = 4096;
  uint32_t name_max = 255;
  uint64_t device = 0;  // st_dev of the path: equal for paths on one filesystem
};

// A held advisory lock (flock) on a file; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide POSIX environment.
  static Env* Default();

  virtual Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& opts) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Unlink(const std::string& path) = 0;
  // Creates a directory (mode 0700); OK if it already exists.
  virtual Status MkDir(const std::string& path) = 0;
  // fsyncs a directory so that creates/renames/unlinks in it are durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Names in a directory (without "." and "..").
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Result<FileStat> Stat(const std::string& path) = 0;
  virtual Result<FsSpace> StatFs(const std::string& path) = 0;
  // Takes an exclusive non-blocking lock on path (created if missing);
  // Busy when another process holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // Like LockFile, but never creates the file: NotFound when it is missing.
  // (The default checks with Stat first; PosixEnv opens it O_RDONLY without
  // O_CREAT, so it works on a read-only filesystem.)
  virtual Result<std::unique_ptr<FileLock>> LockExistingFile(const std::string& path) {
    TIERFS_RETURN_IF_ERROR(Stat(path).status());
    return LockFile(path);
  }
  // Wall-clock time in nanoseconds since the epoch.
  virtual int64_t NowNanos() = 0;
  // The coarse wall clock (CLOCK_REALTIME_COARSE): the clock the kernel
  // stamps inode times with, at most a tick behind NowNanos.
  virtual int64_t CoarseNowNanos() { return NowNanos(); }
};

// An errno as a Status: ENOENT NotFound, ENOSPC/EDQUOT NoSpace, EEXIST
// Exists, ENOMEM NoMemory, EWOULDBLOCK Busy, EIO IOError, else Posix(err).
Status StatusFromErrno(const std::string& context, int err);
// The directory holding a file: path up to its last '/'.
inline std::string DirName(const std::string& path) { return path.substr(0, path.rfind('/')); }
// The parent of a directory (trailing slashes ignored; "." for a bare name).
std::string ParentDir(const std::string& path);

}  // namespace tierfs
