// Status and Result<T>: the error values every tierfs layer returns.
//
// compress/ is the bottom layer, so it owns these types; store/ and fusefs/
// use them unchanged. A Status is a plain value (copyable, thread-compatible).
// It may carry the POSIX errno that caused it so that fusefs/ can answer the
// kernel with the precise error; errno is turned into a Status only in
// store/env_posix.cc (and for SQLite in fusefs/meta/sqlite_util.cc), and a
// Status is turned back into an errno only in fusefs/fuse/errno_map.cc.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace tierfs {

enum class Code : uint8_t {
  kOk = 0,
  kNotFound,
  kCorruption,
  kIOError,
  kNoSpace,
  kInvalidArgument,
  kExists,
  kBusy,
  kNotSupported,
  kNoMemory,
  kPosix,  // a specific errno without a broader category (ENOTEMPTY, EXDEV, ...)
};

class [[nodiscard]] Status {
 public:
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg, int err = 0) {
    return {Code::kIOError, std::move(msg), err};
  }
  static Status NoSpace(std::string msg) { return {Code::kNoSpace, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status Exists(std::string msg) { return {Code::kExists, std::move(msg)}; }
  static Status Busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }
  static Status NotSupported(std::string msg) { return {Code::kNotSupported, std::move(msg)}; }
  static Status NoMemory(std::string msg) { return {Code::kNoMemory, std::move(msg)}; }
  // An error best described by its errno alone.
  static Status Posix(int err, std::string msg) { return {Code::kPosix, std::move(msg), err}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }
  // The errno that caused this status, or 0 when it did not come from one.
  int posix_errno() const { return errno_; }
  const std::string& message() const { return msg_; }
  std::string ToString() const;

  // Returns a copy whose message is "context: message".
  Status WithContext(const std::string& context) const;

 private:
  Status(Code code, std::string msg, int err = 0)
      : code_(code), errno_(err), msg_(std::move(msg)) {}
  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string msg_;
};

// Either a T or a non-OK Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return v_.index() == 1; }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace tierfs

#define TIERFS_CONCAT_INNER(a, b) a##b
#define TIERFS_CONCAT(a, b) TIERFS_CONCAT_INNER(a, b)

#define TIERFS_RETURN_IF_ERROR(expr) \
  do {                               \
    ::tierfs::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)

#define TIERFS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define TIERFS_ASSIGN_OR_RETURN(lhs, expr) \
  TIERFS_ASSIGN_OR_RETURN_IMPL(TIERFS_CONCAT(_res_, __LINE__), lhs, expr)
