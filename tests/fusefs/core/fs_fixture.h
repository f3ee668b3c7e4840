// FsFixture: a Filesystem over a fresh store in a temp dir, for the tests of
// the core and of the rooms above it (control/). Small chunks and caches; the
// migrator moves nothing, so tests move data themselves. Mount() remounts
// the same store (settings fixed at creation stay as created).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "fusefs/core/filesystem.h"

namespace tierfs::test {

inline constexpr uint64_t kFixtureChunk = 64 << 10;

class FsFixture : public ::testing::Test {
 protected:
  void SetUp() override { Mount(); }
  void Mount(MountConfig c = {}, Env* env = Env::Default(), const MetadataWrap& wrap = nullptr) {
    fs_.reset();
    c.store_dir = dir_.path() + "/store";
    if (c.chunk_size == 0 && !created_) c.chunk_size = kFixtureChunk;
    c.buffer_pool = 4 << 20;
    c.cache_size = 1 << 20;
    c.policy.cold_after_ns = -1;  // the migrator moves nothing: tests move data explicitly
    c.policy.promote_reads = 0;
    auto fs = Filesystem::Open(c, env, wrap);
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(fs).value();
    created_ = true;
  }
  uint64_t NewFile(const std::string& name, uint64_t parent = kRootIno) {
    auto st = fs_->Create(parent, name, 0644, Caller{});
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? st->st_ino : 0;
  }
  void Write(uint64_t ino, uint64_t off, const std::vector<std::byte>& data) {
    auto n = fs_->Write(ino, off, data);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, data.size());
  }

  TempDir dir_;
  bool created_ = false;
  std::unique_ptr<Filesystem> fs_;
};

}  // namespace tierfs::test
