// Helpers shared by the store tests: a temp directory that cleans itself up
// and deterministic test data. Single-threaded use.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "store/object_store.h"

namespace tierfs::test {

// Random bytes (incompressible).
inline std::vector<std::byte> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

// Text-like bytes (compressible).
inline std::vector<std::byte> TextBytes(size_t n, uint32_t seed) {
  static const char* kWords[] = {"tier ",   "cold ",  "hot ",  "frame ", "object ",
                                 "chunk\n", "store ", "zstd ", "inode ", "fuse "};
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

// Store options sized for tests: frames and I/O of frame_size bytes, a
// 1 MiB pool (at least 4 frames), and the given frame cache.
inline StoreOptions TestStoreOptions(uint32_t frame_size, uint64_t cache_bytes) {
  StoreOptions o;
  o.frame_size = frame_size;
  o.io_size = frame_size;
  o.max_io = std::max<uint32_t>(frame_size, 1u << 20);
  o.buffer_pool_bytes = std::max<uint64_t>(uint64_t{frame_size} * 4, 1u << 20);
  o.frame_cache_bytes = cache_bytes;
  return o;
}

// The fixture of the ObjectStore tests: a store in a temp dir (64 KiB
// frames, 1 MiB frame cache unless told otherwise), reopened at will.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen(StoreOptions o = TestStoreOptions(64 << 10, 1 << 20), Env* env = Env::Default()) {
    store_.reset();
    auto s = ObjectStore::Open(env, dir_.path() + "/store", o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  // Up to n bytes of the object, read from offset 0.
  std::vector<std::byte> ReadAll(ObjectKey k, size_t n = 4 << 20) {
    std::vector<std::byte> out(n);
    auto r = store_->Read(k, 0, out);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    out.resize(r.ok() ? *r : 0);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace tierfs::test
