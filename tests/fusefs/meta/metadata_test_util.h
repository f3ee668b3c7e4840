// Test fixture for MetadataStore: a fresh database in a private temporary
// directory (removed afterwards) and small helpers. Used by one test thread
// (the concurrency test shares the store, never the fixture helpers' state).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/temp_dir.h"
#include "fusefs/meta/metadata.h"

namespace tierfs {

inline Timespec At(int64_t sec, int64_t nsec = 0) { return {sec, nsec}; }

// "prefix<n>"; spelled out because GCC 12 warns falsely on "x" + to_string().
inline std::string Numbered(std::string_view prefix, int n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

inline NewNode Node(uint32_t mode) {
  NewNode node;
  node.mode = mode;
  return node;
}

// Passes when `st` failed with exactly `code` (and, for Posix, errno `err`).
inline testing::AssertionResult Fails(const Status& st, Code code, int err = 0) {
  if (st.code() == code && (code != Code::kPosix || st.posix_errno() == err)) {
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure()
         << "got " << st.ToString() << " (errno " << st.posix_errno() << "), wanted code "
         << static_cast<int>(code) << " errno " << err;
}
inline testing::AssertionResult FailsWith(const Status& st, int err) {
  return Fails(st, Code::kPosix, err);
}

// Runs fn with `file` unable to grow (RLIMIT_FSIZE at its current size,
// SIGXFSZ ignored so that a write past it fails with EFBIG): what a full disk
// does to SQLite's WAL. Returns what fn returned.
template <class Fn>
auto WithFileFull(const std::string& file, Fn&& fn) -> decltype(fn()) {
  struct rlimit old {};
  EXPECT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit low = old;
  low.rlim_cur = std::filesystem::file_size(file);
  EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &low), 0);
  auto result = fn();
  EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  return result;
}

using TempDir = ::tierfs::test::TempDir;

class MetadataTest : public testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(const MetadataOptions& opts = {}) {
    store_.reset();
    auto opened = MetadataStore::Open(db_path(), opts, 1000, 100);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }

  std::string db_path() const { return dir_.path() + "/meta.db"; }

  InodeAttr Make(uint64_t parent, std::string_view name, uint32_t mode, Timespec now = At(10)) {
    NewNode node = Node(mode);
    node.uid = 1000;
    node.gid = 100;
    auto made = store_->Create(parent, name, node, now);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? *made : InodeAttr{};
  }
  InodeAttr MakeFile(uint64_t parent, std::string_view name, Timespec now = At(10)) {
    return Make(parent, name, S_IFREG | 0644, now);
  }
  InodeAttr MakeDir(uint64_t parent, std::string_view name, Timespec now = At(10)) {
    return Make(parent, name, S_IFDIR | 0755, now);
  }
  InodeAttr Attr(uint64_t ino) {
    auto a = store_->GetAttr(ino);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : InodeAttr{};
  }
  bool Exists(uint64_t parent, std::string_view name) { return store_->Lookup(parent, name).ok(); }

  TempDir dir_;
  std::unique_ptr<MetadataStore> store_;
};

}  // namespace tierfs
