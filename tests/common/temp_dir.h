// TempDir: a fresh directory (under /tmp by default) for one test, removed with
// everything in it when the object goes away. Single-threaded use.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace tierfs::test {

class TempDir {
 public:
  // A directory under `parent` (e.g. /dev/shm, for tests whose fsyncs only
  // cost time).
  explicit TempDir(const std::string& parent = "/tmp") {
    std::string tmpl = parent + "/tierfs_test_XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tierfs::test
