// What the FUSE op files share: see request.h.
#include "fusefs/fuse/request.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fusefs/fuse/errno_map.h"

namespace tierfs::ops {

thread_local RequestScope* RequestScope::current_ = nullptr;

void InvalidateInode(fuse_req_t req, fuse_ino_t ino, off_t offset, off_t length) {
  int rc = fuse_lowlevel_notify_inval_inode(D(req)->se, ino, offset, length);
  if (rc != 0 && rc != -ENOENT) spdlog::warn("invalidating inode {}: {}", ino, std::strerror(-rc));
}

void RequestScope::Failed(int err) {
  if (current_ == nullptr) return;
  if (ExpectedNegative(err)) {
    current_->m_.CountNegative(current_->op_);
  } else {
    current_->m_.CountError(current_->op_);
  }
}

bool ExpectedNegative(int err) {
  switch (err) {
    case ENOENT:
    case ENODATA:
    case ERANGE:
    case EEXIST:
    case ENOTEMPTY:
    case ENXIO:
    case EOPNOTSUPP:
      return true;
    default:
      return false;
  }
}

void ReplyErr(fuse_req_t req, int err) {
  if (err != 0) RequestScope::Failed(err);
  fuse_reply_err(req, err);
}

int Err(const Status& s, const char* op, fuse_ino_t ino) {
  int e = ToErrno(s);
  if (e == EIO || e == ENOSPC) spdlog::error("{} inode {}: {}", op, ino, s.ToString());
  return e;
}

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

}  // namespace tierfs::ops
