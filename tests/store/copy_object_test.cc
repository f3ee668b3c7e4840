// ObjectStore::CopyObject (copy_file_range under the filesystem): a hot
// source gives a hot copy, a cold source a cold byte copy that is never
// decoded; an existing destination in either tier is replaced.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "store/object_store.h"
#include "store/test_util.h"

namespace tierfs {
namespace {

using test::RandomBytes;
using test::TextBytes;

std::string FileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

using ObjectStoreCopyTest = test::StoreTest;

TEST_F(ObjectStoreCopyTest, HotSourceGivesAHotCopyWithItsHoles) {
  const ObjectKey src{1, 0}, dst{2, 0};
  const auto head = RandomBytes(10000, 1), tail = RandomBytes(10000, 2);
  ASSERT_TRUE(store_->Write(src, 0, head).ok());
  ASSERT_TRUE(store_->Write(src, 1 << 20, tail).ok());
  const auto expected = ReadAll(src);
  ASSERT_TRUE(store_->CopyObject(src, dst).ok());
  EXPECT_EQ(store_->Stat(dst)->tier, Tier::kHot);
  EXPECT_EQ(store_->Stat(dst)->logical_size, (1u << 20) + 10000);
  EXPECT_EQ(ReadAll(dst), expected);
  // Sparse stays sparse.
  EXPECT_LT(store_->Stat(dst)->stored_bytes, 512u << 10);
  // A copy, not a link: later writes to src do not show in dst.
  ASSERT_TRUE(store_->Write(src, 0, tail).ok());
  EXPECT_EQ(ReadAll(dst), expected);
  Reopen();
  EXPECT_EQ(ReadAll(dst), expected);
}

TEST_F(ObjectStoreCopyTest, ColdSourceGivesAColdByteCopyThatIsNotDecoded) {
  const ObjectKey src{1, 0}, dst{2, 0};
  const auto data = TextBytes(500000, 3);
  ASSERT_TRUE(store_->Write(src, 0, data).ok());
  ASSERT_TRUE(store_->Demote(src).ok());
  const FrameCacheStats before = store_->stats().cache;
  ASSERT_TRUE(store_->CopyObject(src, dst).ok());
  const FrameCacheStats after = store_->stats().cache;
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);  // a miss is a decode
  auto info = store_->Stat(dst);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tier, Tier::kCold);
  EXPECT_EQ(info->logical_size, data.size());
  EXPECT_EQ(info->stored_bytes, store_->Stat(src)->stored_bytes);
  EXPECT_EQ(FileBytes(store_->ColdName(dst)), FileBytes(store_->ColdName(src)));
  EXPECT_FALSE(std::filesystem::exists(store_->HotPath(dst)));
  EXPECT_EQ(ReadAll(dst), data);
  EXPECT_TRUE(store_->Verify(dst).ok());
  Reopen();
  EXPECT_EQ(store_->Stat(dst)->tier, Tier::kCold);
  EXPECT_EQ(ReadAll(dst), data);
}

TEST_F(ObjectStoreCopyTest, ReplacesAnExistingDestinationInTheOtherTier) {
  const ObjectKey hot_src{1, 0}, cold_src{1, 1}, dst_a{2, 0}, dst_b{2, 1};
  const auto hot_data = RandomBytes(70000, 4), cold_data = TextBytes(300000, 5);
  const auto old_data = TextBytes(900000, 6);
  ASSERT_TRUE(store_->Write(hot_src, 0, hot_data).ok());
  ASSERT_TRUE(store_->Write(cold_src, 0, cold_data).ok());
  ASSERT_TRUE(store_->Demote(cold_src).ok());
  ASSERT_TRUE(store_->Write(dst_a, 0, old_data).ok());  // cold, replaced by a hot copy
  ASSERT_TRUE(store_->Demote(dst_a).ok());
  ASSERT_EQ(ReadAll(dst_a), old_data);                  // frames cached
  ASSERT_TRUE(store_->Write(dst_b, 0, old_data).ok());  // hot, replaced by a cold copy
  ASSERT_EQ(ReadAll(dst_b), old_data);                  // file open and cached
  ASSERT_TRUE(store_->CopyObject(hot_src, dst_a).ok());
  ASSERT_TRUE(store_->CopyObject(cold_src, dst_b).ok());
  EXPECT_EQ(store_->Stat(dst_a)->tier, Tier::kHot);
  EXPECT_EQ(store_->Stat(dst_b)->tier, Tier::kCold);
  EXPECT_FALSE(std::filesystem::exists(store_->ColdName(dst_a)));
  EXPECT_FALSE(std::filesystem::exists(store_->HotPath(dst_b)));
  EXPECT_EQ(ReadAll(dst_a), hot_data);
  EXPECT_EQ(ReadAll(dst_b), cold_data);
  Reopen();
  EXPECT_EQ(ReadAll(dst_a), hot_data);
  EXPECT_EQ(ReadAll(dst_b), cold_data);
  EXPECT_EQ(store_->stats().hot_objects + store_->stats().cold_objects, 4u);
}

TEST_F(ObjectStoreCopyTest, ReplacesAnExistingDestinationInTheSameTier) {
  const ObjectKey hot_src{1, 0}, cold_src{1, 1}, hot_dst{2, 0}, cold_dst{2, 1};
  const auto a = RandomBytes(50000, 7), b = TextBytes(200000, 8);
  const auto old_data = TextBytes(400000, 9);
  ASSERT_TRUE(store_->Write(hot_src, 0, a).ok());
  ASSERT_TRUE(store_->Write(cold_src, 0, b).ok());
  ASSERT_TRUE(store_->Demote(cold_src).ok());
  ASSERT_TRUE(store_->Write(hot_dst, 0, old_data).ok());
  ASSERT_TRUE(store_->Write(cold_dst, 0, old_data).ok());
  ASSERT_TRUE(store_->Demote(cold_dst).ok());
  ASSERT_EQ(ReadAll(hot_dst), old_data);   // open file cached
  ASSERT_EQ(ReadAll(cold_dst), old_data);  // frames cached
  ASSERT_TRUE(store_->CopyObject(hot_src, hot_dst).ok());
  ASSERT_TRUE(store_->CopyObject(cold_src, cold_dst).ok());
  EXPECT_EQ(store_->Stat(hot_dst)->logical_size, a.size());
  EXPECT_EQ(ReadAll(hot_dst), a);
  EXPECT_EQ(ReadAll(cold_dst), b);
  Reopen();
  EXPECT_EQ(ReadAll(hot_dst), a);
  EXPECT_EQ(ReadAll(cold_dst), b);
}

TEST_F(ObjectStoreCopyTest, MissingSourceIsNotFoundAndLeavesTheDestination) {
  const auto data = RandomBytes(1000, 10);
  ASSERT_TRUE(store_->Write({2, 0}, 0, data).ok());
  EXPECT_TRUE(store_->CopyObject({1, 0}, {2, 0}).IsNotFound());
  EXPECT_EQ(ReadAll({2, 0}), data);
  EXPECT_TRUE(store_->CopyObject({2, 0}, {2, 0}).ok());
  EXPECT_EQ(ReadAll({2, 0}), data);
}

}  // namespace
}  // namespace tierfs
