// Crash safety of tier moves: the store is stopped after every single
// mutating I/O step of a demotion and of a promotion (FaultInjectionEnv),
// unsynced data is dropped as a power cut would, and the reopened store must
// hold the object complete and readable, with no temp files left.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "store/crash_util.h"
#include "store/object_store.h"
#include "store/test_util.h"
#include "store/testing/fault_env.h"

namespace tierfs {
namespace {

using test::CountTempFiles;
using test::TempDir;
using test::TextBytes;

StoreOptions Options() { return test::TestStoreOptions(16 << 10, 0); }

class CrashTest : public ::testing::TestWithParam<test::Move> {};

TEST_P(CrashTest, EveryCrashPointLeavesACompleteObject) {
  test::CheckEveryCrashPoint(GetParam(), [](int) { return Options(); });
}

INSTANTIATE_TEST_SUITE_P(Moves, CrashTest,
                         ::testing::Values(test::Move::kDemote, test::Move::kPromote,
                                           test::Move::kWriteToCold));

TEST(FaultTest, NoSpaceDuringDemotionLeavesTheObjectHot) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto s = ObjectStore::Open(&env, dir.path() + "/store", Options());
  ASSERT_TRUE(s.ok());
  auto data = TextBytes(50000, 3);
  ASSERT_TRUE((*s)->Write({1, 0}, 0, data).ok());
  env.SetShortWrites(true);
  Status st = (*s)->Demote({1, 0});
  EXPECT_TRUE(st.IsNoSpace()) << st.ToString();
  env.ClearFaults();
  EXPECT_EQ((*s)->Stat({1, 0})->tier, Tier::kHot);
  EXPECT_EQ(CountTempFiles(dir.path()), 0u);
  std::vector<std::byte> buf(data.size());
  ASSERT_TRUE((*s)->Read({1, 0}, 0, buf).ok());
  EXPECT_EQ(buf, data);
}

TEST(FaultTest, WriteErrorsAreReportedAndDataAlreadyWrittenStaysReadable) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto s = ObjectStore::Open(&env, dir.path() + "/store", Options());
  ASSERT_TRUE(s.ok());
  auto data = TextBytes(50000, 4);
  ASSERT_TRUE((*s)->Write({1, 0}, 0, data).ok());
  env.FailOp(FaultOp::kWrite, Status::NoSpace("disk full"), 1);
  EXPECT_TRUE((*s)->Write({1, 0}, 50000, data).IsNoSpace());
  env.FailOp(FaultOp::kSync, Status::IOError("EIO", EIO), 1);
  EXPECT_FALSE((*s)->Sync({1, 0}).ok());
  std::vector<std::byte> buf(data.size());
  ASSERT_TRUE((*s)->Read({1, 0}, 0, buf).ok());
  EXPECT_EQ(buf, data);
  env.FailOp(FaultOp::kRead, Status::IOError("EIO", EIO), 1);
  EXPECT_EQ((*s)->Read({1, 0}, 0, buf).status().posix_errno(), EIO);
}

TEST(FaultTest, NoSpaceDuringPromotionLeavesTheObjectCold) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto s = ObjectStore::Open(&env, dir.path() + "/store", Options());
  ASSERT_TRUE(s.ok());
  auto data = TextBytes(50000, 5);
  ASSERT_TRUE((*s)->Write({1, 0}, 0, data).ok());
  ASSERT_TRUE((*s)->Demote({1, 0}).ok());
  env.FailOp(FaultOp::kWrite, Status::NoSpace("disk full"));
  EXPECT_TRUE((*s)->Write({1, 0}, 0, data).IsNoSpace());
  env.ClearFaults();
  EXPECT_EQ((*s)->Stat({1, 0})->tier, Tier::kCold);
  EXPECT_EQ(CountTempFiles(dir.path()), 0u);
  std::vector<std::byte> buf(data.size());
  ASSERT_TRUE((*s)->Read({1, 0}, 0, buf).ok());
  EXPECT_EQ(buf, data);
}

// A failed directory fsync after a move's rename: the temp name is gone
// (renamed), so the error path must deal with the file at the final name.
// The store must stay consistent: one authoritative copy in the table, no
// duplicate that a later Remove would leave behind to come back at reopen.
enum class FailedMove { kDemote, kPromote, kDemoteAndCleanupUnlink };

class CrashDirSyncTest : public ::testing::TestWithParam<FailedMove> {};

TEST_P(CrashDirSyncTest, FailedDirSyncAfterRenameLeavesOneCopy) {
  const FailedMove move = GetParam();
  TempDir dir;
  const std::string path = dir.path() + "/store";
  const ObjectKey kept{1, 0}, removed{2, 0};
  const auto data = TextBytes(50000, 7);
  {
    FaultInjectionEnv env(Env::Default());
    auto s = ObjectStore::Open(&env, path, Options());
    ASSERT_TRUE(s.ok());
    ObjectStore& store = **s;
    for (ObjectKey k : {kept, removed}) {
      ASSERT_TRUE(store.Write(k, 0, data).ok());
      ASSERT_TRUE(store.Sync(k).ok());
      if (move == FailedMove::kPromote) {
        ASSERT_TRUE(store.Demote(k).ok());
      }
    }
    for (ObjectKey k : {kept, removed}) {
      env.FailOp(FaultOp::kSyncDir, Status::IOError("injected EIO", EIO), 1);
      if (move == FailedMove::kDemoteAndCleanupUnlink) {
        env.FailOp(FaultOp::kUnlink, Status::IOError("injected EIO", EIO), 1);
      }
      Status st = move == FailedMove::kPromote ? store.Promote(k) : store.Demote(k);
      EXPECT_FALSE(st.ok());
      env.ClearFaults();
      EXPECT_EQ(CountTempFiles(path), 0u);
      std::vector<std::byte> buf(data.size() + 10);
      auto n = store.Read(k, 0, buf);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      buf.resize(*n);
      EXPECT_EQ(buf, data);
      if (move != FailedMove::kDemoteAndCleanupUnlink) {
        // The copy whose rename was not made durable is withdrawn again.
        const Tier source = move == FailedMove::kPromote ? Tier::kCold : Tier::kHot;
        EXPECT_EQ(store.Stat(k)->tier, source);
        EXPECT_FALSE(
            std::filesystem::exists(source == Tier::kHot ? store.ColdName(k) : store.HotPath(k)));
      }
    }
    ASSERT_TRUE(store.Remove(removed).ok());
    EXPECT_FALSE(std::filesystem::exists(store.HotPath(removed)));
    EXPECT_FALSE(std::filesystem::exists(store.ColdName(removed)));
  }
  auto s = ObjectStore::Open(Env::Default(), path, Options());
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->Stat(removed).status().IsNotFound()) << "a removed object came back";
  std::vector<std::byte> buf(data.size() + 10);
  auto n = (*s)->Read(kept, 0, buf);
  ASSERT_TRUE(n.ok());
  buf.resize(*n);
  EXPECT_EQ(buf, data);
}

INSTANTIATE_TEST_SUITE_P(Moves, CrashDirSyncTest,
                         ::testing::Values(FailedMove::kDemote, FailedMove::kPromote,
                                           FailedMove::kDemoteAndCleanupUnlink));

// CopyObject stopped after every single I/O step, unsynced data dropped: dst
// is its old self or a complete copy of src, src is untouched, no temp file
// is left; once CopyObject returned OK the copy is durable.
struct CopyCase {
  Tier src_tier;
  std::optional<Tier> old_dst_tier;  // nullopt: dst did not exist
};

class CrashCopyTest : public ::testing::TestWithParam<CopyCase> {};

TEST_P(CrashCopyTest, EveryCrashPointLeavesDstOldOrNew) {
  const CopyCase c = GetParam();
  const auto src_data = TextBytes(100000, 11);
  const auto old_dst = TextBytes(70000, 12);
  const ObjectKey src{1, 0}, dst{2, 0};
  auto read = [](ObjectStore& s, ObjectKey k) -> std::optional<std::vector<std::byte>> {
    std::vector<std::byte> buf(200000);
    auto n = s.Read(k, 0, buf);
    if (!n.ok()) return std::nullopt;
    buf.resize(*n);
    return buf;
  };
  int crash_points_seen = 0;
  for (int crash_at = 0;; ++crash_at) {
    TempDir dir;
    const std::string path = dir.path() + "/store";
    {
      auto s = ObjectStore::Open(Env::Default(), path, Options());
      ASSERT_TRUE(s.ok());
      ASSERT_TRUE((*s)->Write(src, 0, src_data).ok());
      ASSERT_TRUE((*s)->Sync(src).ok());
      if (c.src_tier == Tier::kCold) {
        ASSERT_TRUE((*s)->Demote(src).ok());
      }
      if (c.old_dst_tier) {
        ASSERT_TRUE((*s)->Write(dst, 0, old_dst).ok());
        ASSERT_TRUE((*s)->Sync(dst).ok());
        if (*c.old_dst_tier == Tier::kCold) {
          ASSERT_TRUE((*s)->Demote(dst).ok());
        }
      }
    }
    FaultInjectionEnv env(Env::Default());
    bool finished;
    {
      auto s = ObjectStore::Open(&env, path, Options());
      ASSERT_TRUE(s.ok());
      env.CrashAfter(crash_at);
      Status st = (*s)->CopyObject(src, dst);
      finished = !env.crashed();
      if (finished) {
        ASSERT_TRUE(st.ok()) << st.ToString();
      }
    }
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    auto s = ObjectStore::Open(Env::Default(), path, Options());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(CountTempFiles(path), 0u) << "crash point " << crash_at;
    EXPECT_EQ(read(**s, src), src_data) << "crash point " << crash_at;
    auto got = read(**s, dst);
    if (finished) {
      EXPECT_EQ(got, src_data) << "crash point " << crash_at;
      EXPECT_EQ((*s)->Stat(dst)->tier, c.src_tier);
    } else if (c.old_dst_tier) {
      EXPECT_TRUE(got == src_data || got == old_dst) << "crash point " << crash_at;
    } else {
      EXPECT_TRUE(!got || got == src_data) << "crash point " << crash_at;
    }
    ++crash_points_seen;
    if (finished) break;
  }
  EXPECT_GE(crash_points_seen, 4);
}

INSTANTIATE_TEST_SUITE_P(
    Copies, CrashCopyTest,
    ::testing::Values(CopyCase{Tier::kHot, std::nullopt}, CopyCase{Tier::kCold, std::nullopt},
                      CopyCase{Tier::kHot, Tier::kCold}, CopyCase{Tier::kCold, Tier::kHot},
                      CopyCase{Tier::kHot, Tier::kHot}, CopyCase{Tier::kCold, Tier::kCold}));

// A store created through the crash model and a new object written and
// synced in it: every directory the store made must be durable by the time
// Sync returns, or a power cut takes the synced object with its directory.
TEST(CrashFreshStoreTest, EveryCrashPointOfCreatingAStoreAndASyncedObject) {
  const auto data = TextBytes(30000, 13);
  const ObjectKey key{5, 1};
  int crash_points_seen = 0;
  for (int crash_at = 0;; ++crash_at) {
    TempDir dir;
    const std::string path = dir.path() + "/store";
    FaultInjectionEnv env(Env::Default());
    bool finished;
    {
      // Created through the crash model (its ~520 mkdirs are not crash
      // points here, to keep the loop short; what they leave pending is).
      auto s = ObjectStore::Open(&env, path, Options());
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      env.CrashAfter(crash_at);
      Status st = (*s)->Write(key, 0, data);
      if (st.ok()) st = (*s)->Sync(key);
      finished = !env.crashed();
      if (finished) {
        ASSERT_TRUE(st.ok()) << st.ToString();
      }
    }
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    auto s = ObjectStore::Open(Env::Default(), path, Options());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::vector<std::byte> buf(data.size() + 10);
    auto n = (*s)->Read(key, 0, buf);
    if (finished) {
      ASSERT_TRUE(n.ok()) << "synced object lost: " << n.status().ToString();
      buf.resize(*n);
      EXPECT_EQ(buf, data);
    } else if (n.ok()) {
      buf.resize(*n);
      // Unsynced: lost or empty, never other bytes.
      EXPECT_TRUE(buf.empty() || buf == data) << "crash point " << crash_at;
    }
    ++crash_points_seen;
    if (finished) break;
  }
  EXPECT_GE(crash_points_seen, 4);
}

// A removed object must not come back after a crash once a later Sync has
// returned: fusefs removes the chunks of a truncated file and then fsyncs the
// file through Sync of the chunks that remain; a chunk that reappeared would
// show its old bytes inside the file's (durable) size.
class CrashRemoveTest : public ::testing::TestWithParam<Tier> {};

TEST_P(CrashRemoveTest, RemoveIsDurableOnceALaterSyncReturns) {
  TempDir dir;
  const std::string path = dir.path() + "/store";
  const ObjectKey kept{1, 0}, removed{1, 1}, moved{2, 0};
  const auto data = TextBytes(40000, 14);
  {
    auto s = ObjectStore::Open(Env::Default(), path, Options());
    ASSERT_TRUE(s.ok());
    for (ObjectKey k : {kept, removed, moved}) {
      ASSERT_TRUE((*s)->Write(k, 0, data).ok());
      ASSERT_TRUE((*s)->Sync(k).ok());
    }
    if (GetParam() == Tier::kCold) {
      ASSERT_TRUE((*s)->Demote(removed).ok());
    }
  }
  FaultInjectionEnv env(Env::Default());
  {
    auto s = ObjectStore::Open(&env, path, Options());
    ASSERT_TRUE(s.ok());
    // A move's unlink of its source, then the removal of the new copy.
    ASSERT_TRUE((*s)->Demote(moved).ok());
    ASSERT_TRUE((*s)->Promote(moved).ok());
    ASSERT_TRUE((*s)->Remove(moved).ok());
    ASSERT_TRUE((*s)->Remove(removed).ok());
    ASSERT_TRUE((*s)->Write(kept, 100, data).ok());
    ASSERT_TRUE((*s)->Sync(kept).ok());
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  auto s = ObjectStore::Open(Env::Default(), path, Options());
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->Stat(removed).status().IsNotFound()) << "removed object came back";
  EXPECT_TRUE((*s)->Stat(moved).status().IsNotFound()) << "removed moved object came back";
  EXPECT_EQ((*s)->Stat(kept)->logical_size, data.size() + 100);
}

INSTANTIATE_TEST_SUITE_P(Tiers, CrashRemoveTest, ::testing::Values(Tier::kHot, Tier::kCold));

}  // namespace
}  // namespace tierfs
