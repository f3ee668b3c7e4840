// Status formatting.
#include "compress/status.h"

#include <cstring>

namespace tierfs {

namespace {
const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kCorruption:
      return "Corruption";
    case Code::kIOError:
      return "IOError";
    case Code::kNoSpace:
      return "NoSpace";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kExists:
      return "Exists";
    case Code::kBusy:
      return "Busy";
    case Code::kNotSupported:
      return "NotSupported";
    case Code::kNoMemory:
      return "NoMemory";
    case Code::kPosix:
      return "Error";
  }
  return "Unknown";
}
}  // namespace

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = CodeName(code_);
  s += ": ";
  s += msg_;
  if (errno_ != 0) {
    s += " (";
    s += std::strerror(errno_);
    s += ")";
  }
  return s;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  Status s = *this;
  s.msg_ = context + ": " + msg_;
  return s;
}

}  // namespace tierfs
