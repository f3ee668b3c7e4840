// What the FUSE op files (fuse_ops.cc, file_ops.cc, xattr_ops.cc) share:
// the daemon reached through a request, the guard every op body runs in,
// the error replies and the caller.
//
// Each op body runs inside Guarded(), which turns a stray exception into
// exactly one error reply (ENOMEM for bad_alloc, EIO otherwise, logged);
// each op replies once, on its last line, and holds no lock while replying.
// forget and forget_multi take no reply at all, not even on an exception
// (GuardedNoReply). Every guarded op counts as one request of its FuseOp in
// Metrics, every error reply (ReplyErr) as its error or, when the errno is
// an expected negative answer (ExpectedNegative), as its negative; and
// read/write/fsync their latency.
//
// Cache coherence with the kernel: the kernel keeps pages (keep_cache,
// writeback cache) and attributes (kTimeout) of every file; whenever the
// daemon changes what it caches other than through the kernel itself — an
// O_DIRECT write next to cached pages, an atime a read updated, an O_TRUNC
// that cleared S_ISUID — it tells the kernel with InvalidateInode before
// replying.
//
// Thread-safety: ops run on libfuse's worker threads; everything here is
// thread-safe (RequestScope is per thread).
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>

#include "fusefs/core/filesystem.h"
#include "fusefs/fuse/guard.h"
#include "fusefs/metrics/metrics.h"

namespace tierfs {
class Control;  // fusefs/control/control.h
}  // namespace tierfs

namespace tierfs::ops {

inline constexpr double kTimeout = 3600.0;  // tierfs is the only writer of its store
inline constexpr size_t kMaxRead = kMaxReadBytes;

// What the ops share: the filesystem, its control channel and, once
// mounted, the session (for notifications to the kernel).
struct Daemon {
  Filesystem* fs = nullptr;
  Control* control = nullptr;
  fuse_session* se = nullptr;
};

inline Daemon* D(fuse_req_t req) { return static_cast<Daemon*>(fuse_req_userdata(req)); }
inline Filesystem* FS(fuse_req_t req) { return D(req)->fs; }

// Drops what the kernel caches of an inode: its attributes, and with
// offset >= 0 its pages in [offset, offset + length) (length 0: to the end).
void InvalidateInode(fuse_req_t req, fuse_ino_t ino, off_t offset, off_t length);

// Counts one request in Metrics and, for the timed operations, its
// latency; an error reply (ReplyErr) during it counts as its error. Ops
// reply on the thread libfuse called them on, so the request being served
// is a thread_local: no lock, no allocation.
class RequestScope {
 public:
  RequestScope(Metrics& m, FuseOp op) : m_(m), op_(op), outer_(current_) {
    m_.CountRequest(op);
    if (Metrics::Timed(op)) start_ = std::chrono::steady_clock::now();
    current_ = this;
  }
  ~RequestScope() {
    if (Metrics::Timed(op_)) {
      m_.RecordLatency(op_, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - start_)
                                .count());
    }
    current_ = outer_;
  }
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;
  // The op being served on this thread replied with error err.
  static void Failed(int err);

 private:
  static thread_local RequestScope* current_;
  Metrics& m_;
  const FuseOp op_;
  RequestScope* const outer_;
  std::chrono::steady_clock::time_point start_;
};

// Whether an error reply is the answer the caller asked for rather than a
// failure: programs probe with these all the time (cp reads the
// security.capability xattr of what it writes, a seek for data past the
// last extent, an exclusive create of a name that exists), so counting them
// as errors would bury the real ones. ENOENT, ENODATA, ERANGE (a buffer too
// small for an xattr: the caller asks the size next), EEXIST, ENOTEMPTY,
// ENXIO (SEEK_DATA/SEEK_HOLE past the data) and EOPNOTSUPP (a mode or
// xattr namespace tierfs does not do; the caller falls back). Everything
// else — EIO, ENOSPC, ENOMEM, EACCES, EPERM, EROFS, EINVAL, ... — is an error.
bool ExpectedNegative(int err);

// Every error reply goes through here (counted per op as an error or a
// negative).
void ReplyErr(fuse_req_t req, int err);

template <class F>
void Guarded(fuse_req_t req, FuseOp op, F&& body) {
  RequestScope scope(FS(req)->metrics(), op);
  Catching(FuseOpName(op), body, [req](int err) { ReplyErr(req, err); });
}

// For forget/forget_multi, which the kernel expects no reply to.
template <class F>
void GuardedNoReply(fuse_req_t req, FuseOp op, F&& body) {
  RequestScope scope(FS(req)->metrics(), op);
  Catching(FuseOpName(op), body, [req](int) { fuse_reply_none(req); });
}

// The errno for s (ToErrno), logged when it is EIO or ENOSPC.
int Err(const Status& s, const char* op, fuse_ino_t ino);

// The caller; its supplementary groups are read (by libfuse, from /proc)
// only if an operation asks, while the request is being served.
Caller CallerOf(fuse_req_t req);

// Inode numbers are SQLite AUTOINCREMENT row ids, never reused in a store;
// the generation (a keyed hash of the number, fusefs/core/handles.h) keeps file
// handles from being guessed and is the same at every mount.
fuse_entry_param EntryOf(const Filesystem& fs, const struct stat& st);

void ReplyEntry(fuse_req_t req, const Result<struct stat>& r, const char* op, fuse_ino_t parent);
void ReplyStatus(fuse_req_t req, const Status& s, const char* op, fuse_ino_t ino);

// The ops of file_ops.cc (open files: open, create, read, write, release,
// fsync, fallocate, copy_file_range, lseek) and of xattr_ops.cc (xattrs and
// the control channel), set in the table fuse_ops.cc builds.
void AddFileOps(fuse_lowlevel_ops* ops);
void AddXattrOps(fuse_lowlevel_ops* ops);

}  // namespace tierfs::ops
