// The FUSE xattr ops: control names (user.tierfs.*) go to the control
// channel (fusefs/control/control.h), every other name to the Filesystem,
// which stores it; so listxattr never lists a control.
#include <string>

#include "fusefs/control/control.h"
#include "fusefs/fuse/request.h"

namespace tierfs::ops {

namespace {

Control* CTL(fuse_req_t req) { return D(req)->control; }

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

}  // namespace

void AddXattrOps(fuse_lowlevel_ops* ops) {
  ops->setxattr = OpSetxattr;
  ops->getxattr = OpGetxattr;
  ops->listxattr = OpListxattr;
  ops->removexattr = OpRemovexattr;
}

}  // namespace tierfs::ops
