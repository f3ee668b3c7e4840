// ObjectStore::Allocate (fallocate mode 0 under the filesystem): disk blocks
// are really reserved, the logical size does not move, stored bytes count
// the reservation, truncate below it drops it, and ENOSPC leaves the object
// as it was.
#include <gtest/gtest.h>

#include <filesystem>

#include "store/object_store.h"
#include "store/test_util.h"
#include "store/testing/fault_env.h"

namespace tierfs {
namespace {

using test::RandomBytes;
using test::TextBytes;

StoreOptions Options() { return test::TestStoreOptions(64 << 10, 1 << 20); }
constexpr uint64_t kMiB = 1 << 20;

class ObjectStoreAllocateTest : public test::StoreTest {
 protected:
  uint64_t AllocatedOnDisk(ObjectKey k) {
    auto st = Env::Default()->Stat(store_->HotPath(k));
    EXPECT_TRUE(st.ok());
    return st.ok() ? st->allocated : 0;
  }
};

TEST_F(ObjectStoreAllocateTest, ReservesBlocksWithoutChangingTheLogicalSize) {
  const ObjectKey k{1, 0};
  const auto data = RandomBytes(4096, 1);
  ASSERT_TRUE(store_->Write(k, 0, data).ok());
  ASSERT_TRUE(store_->Allocate(k, 0, 2 * kMiB).ok());
  EXPECT_EQ(store_->Stat(k)->logical_size, data.size());
  EXPECT_EQ(std::filesystem::file_size(store_->HotPath(k)), data.size());
  EXPECT_GE(AllocatedOnDisk(k), 2 * kMiB);
  EXPECT_GE(store_->Stat(k)->stored_bytes, 2 * kMiB);
  EXPECT_GE(store_->UsageOf(1).stored_bytes, 2 * kMiB);
  EXPECT_EQ(store_->UsageOf(1).hot_bytes, data.size());
  EXPECT_GE(store_->stats().hot_stored_bytes, 2 * kMiB);
  EXPECT_EQ(ReadAll(k, 3 * kMiB), data);
  // A write into the reservation needs no new blocks.
  ASSERT_TRUE(store_->Write(k, kMiB, data).ok());
  EXPECT_EQ(store_->Stat(k)->logical_size, kMiB + data.size());
  EXPECT_GE(store_->Stat(k)->stored_bytes, 2 * kMiB);
  Reopen();
  EXPECT_GE(store_->Stat(k)->stored_bytes, 2 * kMiB);
  EXPECT_EQ(store_->Stat(k)->logical_size, kMiB + data.size());
}

TEST_F(ObjectStoreAllocateTest, CreatesAMissingObjectOfSizeZero) {
  const ObjectKey k{2, 3};
  ASSERT_TRUE(store_->Allocate(k, 100000, kMiB).ok());
  auto info = store_->Stat(k);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tier, Tier::kHot);
  EXPECT_EQ(info->logical_size, 0u);
  EXPECT_GE(info->stored_bytes, kMiB);
  EXPECT_EQ(std::filesystem::file_size(store_->HotPath(k)), 0u);
  EXPECT_TRUE(store_->Allocate(k, 0, 0).code() == Code::kInvalidArgument);
}

TEST_F(ObjectStoreAllocateTest, PromotesAColdObject) {
  const ObjectKey k{3, 0};
  const auto data = TextBytes(200000, 2);
  ASSERT_TRUE(store_->Write(k, 0, data).ok());
  ASSERT_TRUE(store_->Demote(k).ok());
  ASSERT_TRUE(store_->Allocate(k, 0, kMiB).ok());
  EXPECT_EQ(store_->Stat(k)->tier, Tier::kHot);
  EXPECT_EQ(store_->Stat(k)->logical_size, data.size());
  EXPECT_GE(store_->Stat(k)->stored_bytes, kMiB);
  EXPECT_EQ(ReadAll(k, kMiB), data);
  // Going cold again drops the reservation: cold objects store logical bytes.
  ASSERT_TRUE(store_->Demote(k).ok());
  EXPECT_LT(store_->Stat(k)->stored_bytes, data.size());
}

TEST_F(ObjectStoreAllocateTest, TruncateBelowAReservationDropsIt) {
  const ObjectKey k{4, 0};
  const auto data = RandomBytes(100000, 3);
  ASSERT_TRUE(store_->Write(k, 0, data).ok());
  ASSERT_TRUE(store_->Allocate(k, 0, 2 * kMiB).ok());
  ASSERT_GE(store_->Stat(k)->stored_bytes, 2 * kMiB);
  ASSERT_TRUE(store_->Truncate(k, 50000).ok());
  EXPECT_LT(AllocatedOnDisk(k), 100000u);
  EXPECT_LT(store_->Stat(k)->stored_bytes, 100000u);
  EXPECT_EQ(store_->Stat(k)->logical_size, 50000u);
  auto got = ReadAll(k, 200000);
  ASSERT_EQ(got.size(), 50000u);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
}

TEST_F(ObjectStoreAllocateTest, NoSpaceLeavesTheObjectAsItWas) {
  FaultInjectionEnv env(Env::Default());
  Reopen(Options(), &env);
  const ObjectKey existing{5, 0}, missing{5, 1};
  const auto data = RandomBytes(30000, 4);
  ASSERT_TRUE(store_->Write(existing, 0, data).ok());
  env.FailOp(FaultOp::kAllocate, Status::NoSpace("injected ENOSPC"));
  Status st = store_->Allocate(existing, 0, kMiB);
  EXPECT_TRUE(st.IsNoSpace()) << st.ToString();
  EXPECT_EQ(store_->Stat(existing)->logical_size, data.size());
  EXPECT_LT(store_->Stat(existing)->stored_bytes, kMiB);
  EXPECT_LT(AllocatedOnDisk(existing), kMiB);
  EXPECT_EQ(ReadAll(existing, kMiB), data);
  st = store_->Allocate(missing, 0, kMiB);
  EXPECT_TRUE(st.IsNoSpace()) << st.ToString();
  EXPECT_TRUE(store_->Stat(missing).status().IsNotFound());
  EXPECT_FALSE(std::filesystem::exists(store_->HotPath(missing)));
  env.ClearFaults();
  Reopen();
  EXPECT_TRUE(store_->Stat(missing).status().IsNotFound());
  EXPECT_EQ(ReadAll(existing, kMiB), data);
}

}  // namespace
}  // namespace tierfs
