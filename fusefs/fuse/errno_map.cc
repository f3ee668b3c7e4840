// ToErrno: see errno_map.h.
#include "fusefs/fuse/errno_map.h"

#include <cerrno>

namespace tierfs {

int ToErrno(const Status& s) {
  if (s.posix_errno() != 0) return s.posix_errno();
  switch (s.code()) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return ENOENT;
    case Code::kCorruption:
      return EIO;
    case Code::kIOError:
      return EIO;
    case Code::kNoSpace:
      return ENOSPC;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kExists:
      return EEXIST;
    case Code::kBusy:
      return EBUSY;
    case Code::kNotSupported:
      return EOPNOTSUPP;
    case Code::kNoMemory:
      return ENOMEM;
    case Code::kPosix:
      return EIO;
  }
  return EIO;
}

}  // namespace tierfs
