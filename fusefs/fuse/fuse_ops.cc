// The FUSE session and the ops on the namespace: init/destroy, lookup,
// forget, attributes, nodes, links, renames, directories and statfs; the
// table of every op (MakeOps, with file_ops.cc and xattr_ops.cc); the
// session that serves it (RunSession). request.h: what the ops share.
#include "fusefs/fuse/fuse_ops.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fusefs/fuse/request.h"

namespace tierfs {

namespace ops {
namespace {

constexpr size_t kMaxIo = 1u << 20;  // largest write

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
  // Set-id bits are cleared here (Filesystem::KillPriv on write and O_TRUNC,
  // SetAttr on truncate and chown), so the kernel may mark an inode without
  // security.capability S_NOSEC (FUSE_HANDLE_KILLPRIV_V2 sets SB_NOSEC):
  // without it every write(2) cost a GETXATTR of security.capability first.
  // The kernel still removes security.capability itself, once it sees one.
  if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV_V2) conn->want |= FUSE_CAP_HANDLE_KILLPRIV_V2;
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
    // FATTR_KILL_SUIDGID (FUSE_HANDLE_KILLPRIV_V2): a chown, or a truncate
    // by a caller without CAP_FSETID, clears the set-id bits here.
    s.kill_suidgid = (to_set & FUSE_SET_ATTR_KILL_SUID) != 0;
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
  Guarded(req, FuseOp::kFsyncdir, [&] { ReplyStatus(req, FS(req)->FsyncDir(), "fsyncdir", ino); });
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
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.readdirplus = OpReaddirplus;
  ops.releasedir = OpReleasedir;
  ops.fsyncdir = OpFsyncdir;
  ops.statfs = OpStatfs;
  AddFileOps(&ops);
  AddXattrOps(&ops);
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
}  // namespace ops

Status RunSession(Filesystem* fs, Control* control, const MountConfig& config,
                  const std::function<void(const Status&)>& ready) {
  // The mount's source is the store's canonical path, as an fstab line
  // names it: mount(8) takes an fstab line as mounted when its source and
  // target match a line of /proc/self/mountinfo (so `mount -a` skips it).
  std::string opts = "default_permissions,fsname=" + config.store_dir +
                     ",subtype=tierfs,max_read=" + std::to_string(ops::kMaxRead);
  if (config.read_only) opts += ",ro";
  for (const std::string& o : config.fuse_options) opts += "," + o;
  std::vector<std::string> argv_s = {"tierfs", "-o", opts};
  std::vector<char*> argv;
  for (std::string& s : argv_s) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const fuse_lowlevel_ops ops = ops::MakeOps();
  ops::Daemon daemon{fs, control, nullptr};
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &daemon);
  if (se == nullptr) {
    Status st = Status::InvalidArgument("libfuse refused the mount options: " + opts);
    ready(st);
    return st;
  }
  ops::Session session(se);
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
  ops::RaiseReadahead(config.mountpoint);
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
