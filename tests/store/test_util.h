// Helpers shared by the store tests: a temp directory that cleans itself up
// and deterministic test data. Single-threaded use.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace tierfs::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/tierfs_test_XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Random bytes (incompressible).
inline std::vector<std::byte> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

// Text-like bytes (compressible).
inline std::vector<std::byte> TextBytes(size_t n, uint32_t seed) {
  static const char* kWords[] = {"tier ", "cold ", "hot ", "frame ", "object ", "chunk\n",
                                 "store ", "zstd ", "inode ", "fuse "};
  std::mt19937 rng(seed);
  std::vector<std::byte> v;
  v.reserve(n);
  while (v.size() < n) {
    for (const char* p = kWords[rng() % 10]; *p && v.size() < n; ++p) {
      v.push_back(static_cast<std::byte>(*p));
    }
  }
  return v;
}

}  // namespace tierfs::testing
