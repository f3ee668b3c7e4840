// libfuse low-level operations over Filesystem, and its control channel
// (Control) for the user.tierfs.* xattrs. Each op body runs inside
// Guarded(), which turns a stray exception into exactly one error reply
// (ENOMEM for bad_alloc, EIO otherwise, logged); each op replies once, on
// its last line, and holds no lock while replying. forget and forget_multi
// take no reply at all, not even on an exception (GuardedNoReply).
// Every guarded op counts as one request of its FuseOp in Metrics, every
// error reply (ReplyErr) as its error, and read/write/fsync their latency.
//
// Cache coherence with the kernel: the kernel keeps pages (keep_cache,
// writeback cache) and attributes (kTimeout) of every file; whenever the
// daemon changes what it caches other than through the kernel itself — an
// O_DIRECT write next to cached pages, an atime a read updated, an O_TRUNC
// that cleared S_ISUID — it tells the kernel with
// fuse_lowlevel_notify_inval_inode before replying.
#define FUSE_USE_VERSION 312
#include "fusefs/fuse/fuse_ops.h"
#include "fusefs/control/control.h"
#include "fusefs/fuse/errno_map.h"
#include "fusefs/fuse/guard.h"

#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <new>
#include <vector>

namespace tierfs {

namespace {

constexpr double kTimeout = 3600.0;  // tierfs is the only writer of its store
constexpr size_t kMaxIo = 1u << 20;  // largest write
constexpr size_t kMaxRead = kMaxReadBytes;
constexpr size_t kMaxPieces = ReadResult::kMaxPieces;
alignas(4096) const char kZeros[kMaxRead] = {};

// What the ops share: the filesystem, its control channel and, once
// mounted, the session (for notifications to the kernel).
struct Daemon {
  Filesystem* fs = nullptr;
  Control* control = nullptr;
  fuse_session* se = nullptr;
};

Daemon* D(fuse_req_t req) { return static_cast<Daemon*>(fuse_req_userdata(req)); }
Filesystem* FS(fuse_req_t req) { return D(req)->fs; }
Control* CTL(fuse_req_t req) { return D(req)->control; }

// Drops what the kernel caches of an inode: its attributes, and with
// offset >= 0 its pages in [offset, offset + length) (length 0: to the end).
void InvalidateInode(fuse_req_t req, fuse_ino_t ino, off_t offset, off_t length) {
  int rc = fuse_lowlevel_notify_inval_inode(D(req)->se, ino, offset, length);
  if (rc != 0 && rc != -ENOENT) spdlog::warn("invalidating inode {}: {}", ino, std::strerror(-rc));
}

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
  // The op being served on this thread replied with an error.
  static void Failed() {
    if (current_) current_->m_.CountError(current_->op_);
  }

 private:
  static thread_local RequestScope* current_;
  Metrics& m_;
  const FuseOp op_;
  RequestScope* const outer_;
  std::chrono::steady_clock::time_point start_;
};
thread_local RequestScope* RequestScope::current_ = nullptr;

// Every error reply goes through here (counted per op).
void ReplyErr(fuse_req_t req, int err) {
  if (err != 0) RequestScope::Failed();
  fuse_reply_err(req, err);
}

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

int Err(const Status& s, const char* op, fuse_ino_t ino) {
  int e = ToErrno(s);
  if (e == EIO || e == ENOSPC) spdlog::error("{} inode {}: {}", op, ino, s.ToString());
  return e;
}

// The caller; its supplementary groups are read (by libfuse, from /proc)
// only if an operation asks, while the request is being served.
Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  Caller caller;
  caller.uid = c->uid;
  caller.gid = c->gid;
  caller.umask = c->umask;
  caller.load_groups = [req] {
    std::vector<gid_t> groups(64);
    int n = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
    if (n > static_cast<int>(groups.size())) {
      groups.resize(static_cast<size_t>(n));
      n = fuse_req_getgroups(req, n, groups.data());
    }
    groups.resize(static_cast<size_t>(std::clamp(n, 0, static_cast<int>(groups.size()))));
    return std::vector<uint32_t>(groups.begin(), groups.end());
  };
  return caller;
}

// fi->fh bits.
constexpr uint64_t kKillPrivOnWrite = 1;
// O_NOATIME: the kernel passes the open's flags, having allowed O_NOATIME
// only to the file's owner (or CAP_FOWNER); its reads reach us with this fh
// (page cache fills and readahead name the file that reads). A later
// fcntl(F_SETFL, O_NOATIME) is not passed on.
constexpr uint64_t kNoAtime = 2;

// Inode numbers are SQLite AUTOINCREMENT row ids, never reused in a store;
// the generation (a keyed hash of the number, fusefs/core/handles.h) keeps file
// handles from being guessed and is the same at every mount.
fuse_entry_param EntryOf(const Filesystem& fs, const struct stat& st) {
  fuse_entry_param e{};
  e.ino = st.st_ino;
  e.generation = fs.Generation(st.st_ino);
  e.attr = st;
  e.attr_timeout = e.entry_timeout = kTimeout;
  return e;
}

void ReplyEntry(fuse_req_t req, const Result<struct stat>& r, const char* op, fuse_ino_t parent) {
  if (!r.ok()) {
    ReplyErr(req, Err(r.status(), op, parent));
    return;
  }
  fuse_entry_param e = EntryOf(*FS(req), *r);
  fuse_reply_entry(req, &e);
}

void ReplyStatus(fuse_req_t req, const Status& s, const char* op, fuse_ino_t ino) {
  ReplyErr(req, s.ok() ? 0 : Err(s, op, ino));
}

void OpInit(void*, fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_WRITEBACK_CACHE) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  // O_TRUNC arrives with the open (Filesystem::Open truncates), not as a
  // separate setattr; lookups of "." and ".." serve file handles (NFS).
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_EXPORT_SUPPORT) conn->want |= FUSE_CAP_EXPORT_SUPPORT;
  // Lookups and readdirs in one directory may run at once (the namespace is
  // thread-safe). libfuse 3.14 never passes this on to the kernel (its INIT
  // reply lacks FUSE_PARALLEL_DIROPS even when asked; later libfuse passes
  // it): asked for all the same, so that a newer libfuse grants it.
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  conn->max_write = kMaxIo;
  conn->max_read = kMaxRead;
  conn->max_readahead = kMaxRead;
}

void OpDestroy(void* userdata) {
  Status st = static_cast<Daemon*>(userdata)->fs->SyncAll();
  if (!st.ok()) spdlog::error("flushing metadata at unmount: {}", st.ToString());
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, FuseOp::kLookup, [&] {
    auto r = FS(req)->Lookup(parent, name);
    if (r.status().IsNotFound()) {
      fuse_entry_param e{};  // ino 0: the kernel caches the miss
      // (not for "." / "..": a miss there is a stale file handle)
      if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) e.entry_timeout = kTimeout;
      fuse_reply_entry(req, &e);
      return;
    }
    ReplyEntry(req, r, "lookup", parent);
  });
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  GuardedNoReply(req, FuseOp::kForget, [&] {
    FS(req)->Forget(ino, nlookup);
    fuse_reply_none(req);
  });
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  GuardedNoReply(req, FuseOp::kForgetMulti, [&] {
    for (size_t i = 0; i < count; ++i) FS(req)->Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  });
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Guarded(req, FuseOp::kGetattr, [&] {
    auto r = FS(req)->GetAttr(ino);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "getattr", ino));
      return;
    }
    fuse_reply_attr(req, &*r, kTimeout);
  });
}

Timespec ToTs(const struct timespec& t) { return Timespec{t.tv_sec, t.tv_nsec}; }

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  Guarded(req, FuseOp::kSetattr, [&] {
    Filesystem::SetAttrRequest s;
    if (to_set & FUSE_SET_ATTR_MODE) s.mode = attr->st_mode & 07777;
    if (to_set & FUSE_SET_ATTR_UID) s.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) s.gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE) s.size = static_cast<uint64_t>(attr->st_size);
    // With the writeback cache the kernel stamps a file's changes itself and
    // sends its ctime: that is "now" for this change, else the daemon's clock.
    if (to_set & FUSE_SET_ATTR_CTIME) s.ctime = ToTs(attr->st_ctim);
    const Timespec now = s.ctime ? *s.ctime : FS(req)->Now();
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
      s.atime = now;
    } else if (to_set & FUSE_SET_ATTR_ATIME) {
      s.atime = ToTs(attr->st_atim);
    }
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
      s.mtime = now;
    } else if (to_set & FUSE_SET_ATTR_MTIME) {
      s.mtime = ToTs(attr->st_mtim);
    }
    auto r = FS(req)->SetAttr(ino, s, CallerOf(req));
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "setattr", ino));
      return;
    }
    fuse_reply_attr(req, &*r, kTimeout);
  });
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  Guarded(req, FuseOp::kReadlink, [&] {
    auto r = FS(req)->ReadLink(ino);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "readlink", ino));
      return;
    }
    fuse_reply_readlink(req, r->c_str());
  });
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Guarded(req, FuseOp::kMknod, [&] {
    ReplyEntry(req, FS(req)->MakeNode(parent, name, mode, rdev, CallerOf(req)), "mknod", parent);
  });
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Guarded(req, FuseOp::kMkdir, [&] {
    ReplyEntry(req, FS(req)->MakeNode(parent, name, S_IFDIR | (mode & 07777), 0, CallerOf(req)),
               "mkdir", parent);
  });
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Guarded(req, FuseOp::kSymlink, [&] {
    ReplyEntry(req, FS(req)->Symlink(parent, name, link, CallerOf(req)), "symlink", parent);
  });
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, FuseOp::kUnlink,
          [&] { ReplyStatus(req, FS(req)->Unlink(parent, name), "unlink", parent); });
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, FuseOp::kRmdir,
          [&] { ReplyStatus(req, FS(req)->Rmdir(parent, name), "rmdir", parent); });
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Guarded(req, FuseOp::kRename, [&] {
    RenameMode mode = RenameMode::kNormal;
    if (flags & RENAME_NOREPLACE) mode = RenameMode::kNoReplace;
    if (flags & RENAME_EXCHANGE) mode = RenameMode::kExchange;
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
      ReplyErr(req, EINVAL);
      return;
    }
    ReplyStatus(req, FS(req)->Rename(parent, name, newparent, newname, mode), "rename", parent);
  });
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Guarded(req, FuseOp::kLink,
          [&] { ReplyEntry(req, FS(req)->Link(ino, newparent, newname), "link", ino); });
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, FuseOp::kOpen, [&] {
    // (Linux truncates on O_RDONLY|O_TRUNC too; the kernel checked write access.)
    const bool truncate = (fi->flags & O_TRUNC) != 0;
    const int acc = fi->flags & O_ACCMODE;
    const bool noatime = (fi->flags & O_NOATIME) != 0;
    auto r =
        FS(req)->Open(ino, truncate, acc != O_WRONLY && !noatime, acc != O_RDONLY, CallerOf(req));
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "open", ino));
      return;
    }
    if (r->attr_changed) InvalidateInode(req, ino, -1, 0);
    // Nobody but us changes the data: keep the kernel's pages, unless the
    // next read must reach us to update atime.
    fi->keep_cache = r->keep_cache;
    fi->fh = noatime ? kNoAtime : 0;
    if (r->kill_priv_on_write) {
      fi->direct_io = 1;  // each write comes from the writer, who is known
      fi->fh |= kKillPrivOnWrite;
    }
    // Closing a read-only file has nothing to flush: spare the round trip.
    if ((fi->flags & O_ACCMODE) == O_RDONLY) fi->noflush = 1;
    fuse_reply_open(req, fi);
  });
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Guarded(req, FuseOp::kCreate, [&] {
    auto r = FS(req)->Create(parent, name, mode, CallerOf(req),
                             (fi->flags & O_ACCMODE) != O_RDONLY);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "create", parent));
      return;
    }
    fuse_entry_param e = EntryOf(*FS(req), *r);
    fi->keep_cache = 1;
    fi->fh = (fi->flags & O_NOATIME) != 0 ? kNoAtime : 0;
    fuse_reply_create(req, &e, fi);
  });
}

// A fuse_bufvec with room for kMaxPieces buffers.
struct PieceVec {
  fuse_bufvec vec;
  fuse_buf more[kMaxPieces];
};

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Guarded(req, FuseOp::kRead, [&] {
    auto r = FS(req)->Read(ino, static_cast<uint64_t>(off), std::min(size, kMaxRead),
                           (fi->fh & kNoAtime) == 0);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "read", ino));
      return;
    }
    PieceVec pv{};
    size_t n = 0;
    for (const ReadPiece& p : r->view()) {
      fuse_buf& b = (&pv.vec.buf[0])[n++];
      b = fuse_buf{};
      b.size = p.length;
      if (p.file) {
        b.flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
        b.fd = p.file->fd();
        b.pos = static_cast<off_t>(p.file_offset);
      } else if (p.data) {
        b.mem = p.data.data();
      } else {
        b.mem = const_cast<char*>(kZeros);
      }
    }
    pv.vec.count = n;
    if (r->atime_changed) InvalidateInode(req, ino, -1, 0);
    if (n == 0) {
      fuse_reply_buf(req, nullptr, 0);
      return;
    }
    // Splice pays when there is a file to splice from (the object file's
    // pages go to the pipe by reference, and the kernel copies them once
    // into the FUSE file's pages); bytes already in our memory (cold
    // frames, zeros) go out with one writev instead, as a splice would first
    // copy them into a pipe. Not SPLICE_MOVE: stealing the object file's
    // pages (unmap, uncharge, re-insert) measured ~1.45x slower than the copy
    // on a 256 MiB sequential read.
    const bool from_file = std::any_of(r->view().begin(), r->view().end(),
                                       [](const ReadPiece& p) { return p.file != nullptr; });
    fuse_reply_data(req, &pv.vec, from_file ? fuse_buf_copy_flags{} : FUSE_BUF_NO_SPLICE);
  });
}

void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  Guarded(req, FuseOp::kWrite, [&] {
    auto r = FS(req)->Write(ino, static_cast<uint64_t>(off),
                            std::as_bytes(std::span(buf, size)), fi->writepage);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "write", ino));
      return;
    }
    // With the writeback cache every buffered write reaches us as a
    // writepage; any other write is O_DIRECT and went around the kernel's
    // pages, which a buffered reader may have filled (or be filling) with
    // older bytes meanwhile: drop them before the write completes.
    if (!fi->writepage && *r > 0) InvalidateInode(req, ino, off, static_cast<off_t>(*r));
    if (fi->fh & kKillPrivOnWrite) {
      auto killed = FS(req)->KillPriv(ino, CallerOf(req));
      if (!killed.ok()) {
        ReplyErr(req, Err(killed.status(), "write", ino));
        return;
      }
      if (*killed) InvalidateInode(req, ino, -1, 0);
    }
    fuse_reply_write(req, *r);
  });
}

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, FuseOp::kRelease, [&] {
    ReplyStatus(req, FS(req)->Release(ino, (fi->flags & O_ACCMODE) != O_RDONLY), "release", ino);
  });
}

void OpFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  Guarded(req, FuseOp::kFsync,
          [&] { ReplyStatus(req, FS(req)->Fsync(ino, datasync), "fsync", ino); });
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, FuseOp::kOpendir, [&] {
    fi->cache_readdir = 1;
    fuse_reply_open(req, fi);
  });
}

void DoReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
  Filesystem* fs = FS(req);
  std::vector<char> buf(size);
  size_t used = 0;
  auto add = [&](const std::string& name, const struct stat& st, uint64_t cookie) {
    const size_t rem = size - used;
    size_t need;
    if (!plus) {
      need = fuse_add_direntry(req, buf.data() + used, rem, name.c_str(), &st,
                               static_cast<off_t>(cookie));
    } else {
      fuse_entry_param e{};
      if (name == "." || name == "..") {
        e.attr = st;  // ino 0: no lookup for the kernel to count
      } else {
        e = EntryOf(*fs, st);
      }
      need = fuse_add_direntry_plus(req, buf.data() + used, rem, name.c_str(), &e,
                                    static_cast<off_t>(cookie));
    }
    if (need > rem) return false;
    used += need;
    return true;
  };
  const uint64_t after = static_cast<uint64_t>(off);
  Status st = plus ? fs->ReadDirPlus(ino, after, add) : fs->ReadDir(ino, after, add);
  if (!st.ok()) {
    ReplyErr(req, Err(st, "readdir", ino));
    return;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Guarded(req, FuseOp::kReaddir, [&] { DoReaddir(req, ino, size, off, false); });
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  Guarded(req, FuseOp::kReaddirplus, [&] { DoReaddir(req, ino, size, off, true); });
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  Guarded(req, FuseOp::kReleasedir, [&] { ReplyErr(req, 0); });
}

void OpFsyncdir(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  Guarded(req, FuseOp::kFsyncdir,
          [&] { ReplyStatus(req, FS(req)->FsyncDir(), "fsyncdir", ino); });
}

void OpStatfs(fuse_req_t req, fuse_ino_t ino) {
  Guarded(req, FuseOp::kStatfs, [&] {
    auto r = FS(req)->StatFs();
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "statfs", ino));
      return;
    }
    fuse_reply_statfs(req, &*r);
  });
}

void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  Guarded(req, FuseOp::kSetxattr, [&] {
    std::string v(value, size);
    Status st = IsControlName(name) ? CTL(req)->Set(ino, name, v, CallerOf(req))
                                    : FS(req)->SetXattr(ino, name, v, flags);
    ReplyStatus(req, st, "setxattr", ino);
  });
}

void ReplyXattrBytes(fuse_req_t req, const std::string& data, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, data.size());
  } else if (size < data.size()) {
    ReplyErr(req, ERANGE);
  } else {
    fuse_reply_buf(req, data.data(), data.size());
  }
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guarded(req, FuseOp::kGetxattr, [&] {
    auto r = IsControlName(name) ? CTL(req)->Get(ino, name, CallerOf(req))
                                 : FS(req)->GetXattr(ino, name);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "getxattr", ino));
      return;
    }
    ReplyXattrBytes(req, *r, size);
  });
}

void OpListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guarded(req, FuseOp::kListxattr, [&] {
    auto r = FS(req)->ListXattr(ino);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "listxattr", ino));
      return;
    }
    std::string names;
    for (const std::string& n : *r) names.append(n).push_back('\0');
    ReplyXattrBytes(req, names, size);
  });
}

void OpRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Guarded(req, FuseOp::kRemovexattr, [&] {
    Status st = IsControlName(name) ? CTL(req)->Remove(name) : FS(req)->RemoveXattr(ino, name);
    ReplyStatus(req, st, "removexattr", ino);
  });
}

void OpFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info*) {
  Guarded(req, FuseOp::kFallocate, [&] {
    Status st = FS(req)->Fallocate(ino, mode, offset, length, CallerOf(req));
    if (st.ok()) InvalidateInode(req, ino, -1, 0);  // the mode may have lost set-id bits
    ReplyStatus(req, st, "fallocate", ino);
  });
}

void OpCopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info*,
                     fuse_ino_t ino_out, off_t off_out, fuse_file_info*, size_t len, int flags) {
  Guarded(req, FuseOp::kCopyFileRange, [&] {
    if (flags != 0) {
      ReplyErr(req, EINVAL);
      return;
    }
    auto r = FS(req)->CopyFileRange(ino_in, static_cast<uint64_t>(off_in), ino_out,
                                    static_cast<uint64_t>(off_out), len, CallerOf(req));
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "copy_file_range", ino_out));
      return;
    }
    InvalidateInode(req, ino_out, -1, 0);  // the mode may have lost set-id bits
    fuse_reply_write(req, *r);
  });
}

void OpLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info*) {
  Guarded(req, FuseOp::kLseek, [&] {
    if (whence != SEEK_DATA && whence != SEEK_HOLE) {
      ReplyErr(req, EINVAL);
      return;
    }
    auto r = FS(req)->Lseek(ino, static_cast<uint64_t>(off), whence);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "lseek", ino));
      return;
    }
    fuse_reply_lseek(req, static_cast<off_t>(*r));
  });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.destroy = OpDestroy;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.setattr = OpSetattr;
  ops.readlink = OpReadlink;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.symlink = OpSymlink;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.create = OpCreate;
  ops.read = OpRead;
  ops.write = OpWrite;
  // No flush: close() promises no durability here (sizes and times reach
  // SQLite with the next write-back, fsync or unmount), so FLUSH would do
  // nothing. Unimplemented, the first one gets ENOSYS and the kernel sends
  // no more (fc->no_flush), saving a round trip per close; it still writes
  // the file's dirty pages back at every close, before the release.
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.readdirplus = OpReaddirplus;
  ops.releasedir = OpReleasedir;
  ops.fsyncdir = OpFsyncdir;
  ops.statfs = OpStatfs;
  ops.setxattr = OpSetxattr;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.removexattr = OpRemovexattr;
  ops.fallocate = OpFallocate;
  ops.lseek = OpLseek;
  ops.copy_file_range = OpCopyFileRange;
  return ops;
}

// Owns a fuse_session; unmounts and destroys it.
class Session {
 public:
  explicit Session(fuse_session* se) : se_(se) {}
  ~Session() {
    if (mounted_) fuse_session_unmount(se_);
    fuse_remove_signal_handlers(se_);
    fuse_session_destroy(se_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  fuse_session* get() const { return se_; }
  bool mounted_ = false;

 private:
  fuse_session* se_;
};

// The kernel caps a FUSE mount's readahead at the block layer default
// (128 KiB) whatever max_readahead says, which makes every sequential read a
// stream of 128 KiB requests. Raise it (when we may: root) to kMaxRead,
// reads being capped there (max_read) so that each reply still splices.
// The device number comes from /proc/self/mountinfo: a stat of the
// mountpoint would wait for FUSE_INIT, which this thread has yet to serve.
void RaiseReadahead(const std::string& mountpoint) {
  const size_t ra = kMaxRead;
  std::ifstream info("/proc/self/mountinfo");
  std::string line;
  std::string dev;
  while (std::getline(info, line)) {
    std::istringstream fields(line);
    std::string id, parent, majmin, root, point;
    fields >> id >> parent >> majmin >> root >> point;
    if (point == mountpoint) dev = majmin;  // the last (topmost) mount wins
  }
  if (dev.empty()) return;
  std::ofstream out("/sys/class/bdi/" + dev + "/read_ahead_kb");
  out << ra / 1024;
  out.flush();
  if (!out) spdlog::debug("could not raise readahead of {} (not root?)", mountpoint);
}

}  // namespace

Status RunSession(Filesystem* fs, Control* control, const MountConfig& config,
                  const std::function<void(const Status&)>& ready) {
  std::string opts = "default_permissions,fsname=tierfs:" + config.store_dir +
                     ",subtype=tierfs,max_read=" + std::to_string(kMaxRead);
  if (config.read_only) opts += ",ro";
  for (const std::string& o : config.fuse_options) opts += "," + o;
  std::vector<std::string> argv_s = {"tierfs", "-o", opts};
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const fuse_lowlevel_ops ops = MakeOps();
  Daemon daemon{fs, control, nullptr};
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &daemon);
  if (se == nullptr) {
    Status st = Status::InvalidArgument("libfuse refused the mount options: " + opts);
    ready(st);
    return st;
  }
  Session session(se);
  daemon.se = se;
  if (fuse_set_signal_handlers(se) != 0) {
    Status st = Status::IOError("cannot install signal handlers");
    ready(st);
    return st;
  }
  if (fuse_session_mount(se, config.mountpoint.c_str()) != 0) {
    Status st = Status::IOError("cannot mount on " + config.mountpoint +
                                " (see the message above; is /dev/fuse available?)");
    ready(st);
    return st;
  }
  session.mounted_ = true;
  RaiseReadahead(config.mountpoint);
  ready(Status::OK());
  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 0);
  fuse_loop_cfg_set_max_threads(loop, 16);
  int rc = fuse_session_loop_mt(se, loop);
  fuse_loop_cfg_destroy(loop);
  // The session is over (unmounted, or told to stop: ~Session unmounts);
  // what is left is flushing and exiting. systemd sends SIGTERM to what
  // remains of a mount unit (the daemon mount.tierfs forked) once umount(8)
  // returns, which must not cut the flush short: from here the stop signals
  // are ignored (libfuse's removal in ~Session leaves a handler it did not
  // install as it is). SIGKILL still ends a daemon that hangs.
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) std::signal(sig, SIG_IGN);
  return rc == 0 ? Status::OK() : Status::IOError("session loop ended with an error", -rc);
}

}  // namespace tierfs
